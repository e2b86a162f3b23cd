package id5

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// File-level reject and warning codes (line-level codes are those of
// parse.go plus the shared line_too_long).
const (
	// ReasonBadHeader: the first line of a single-file delivery is not a
	// valid header; the file is rejected whole (its FileStats.Error says why)
	// and the header line is the file's only reject.
	ReasonBadHeader = "bad_header"
	// WarnEmptyFile: a single-file delivery without even a header.
	WarnEmptyFile = "empty_file"
)

// maxHeaderBytes bounds a single-file header: a GVLID list, a few hundred
// bytes in practice.
const maxHeaderBytes = 1 << 20

// parser turns the lines of one delivered file into rows of the updates or
// the extracts table. One parser serves one lineparse.Parse worker.
type parser struct {
	df          File
	header      Header // single-file deliveries
	sourceGVLID int32  // per-partner deliveries
	table, part string // destination table and partition
	source      string
	at          arrow.Timestamp

	b          *array.RecordBuilder
	uid, puid  *array.StringBuilder
	src, pgv   *array.Int32Builder
	ts         *array.TimestampBuilder
	delivery   *array.StringBuilder
	file       *array.StringBuilder
	line       *array.Int64Builder
	rows       int64
	perPartner map[int32]int64
	buf        []Mapping
}

// The schemas of the parsers' batches, made once (an *arrow.Schema is
// immutable; a parser per file would make them anew, and the Parquet
// writer recognises a shared one by its pointer).
var (
	extractsSchema = ExtractsSchema()
	updatesSchema  = UpdatesSchema()
)

func newParser(df File, h Header, sourceGVLID int32, source string) *parser {
	p := &parser{df: df, header: h, sourceGVLID: sourceGVLID, source: source,
		at: arrow.Timestamp(df.DeliveredAt.UnixMicro()), perPartner: map[int32]int64{}}
	day := df.DeliveredAt.Format("2006-01-02")
	var schema *arrow.Schema
	if df.Kind.Full() {
		p.table, p.part, schema = ExtractsTable, datePartition(extractDatePartitions, day), extractsSchema
	} else {
		p.table, p.part, schema = UpdatesTable, datePartition(datePartitions, day), updatesSchema
	}
	p.b = array.NewRecordBuilder(memory.DefaultAllocator, schema)
	p.uid = p.b.Field(colUID).(*array.StringBuilder)
	p.src = p.b.Field(colSourceGVLID).(*array.Int32Builder)
	p.pgv = p.b.Field(colPartnerGVLID).(*array.Int32Builder)
	p.puid = p.b.Field(colPartnerUID).(*array.StringBuilder)
	p.ts = p.b.Field(colAt).(*array.TimestampBuilder)
	p.delivery = p.b.Field(colDelivery).(*array.StringBuilder)
	p.file = p.b.Field(colSourceFile).(*array.StringBuilder)
	p.line = p.b.Field(colSourceLine).(*array.Int64Builder)
	return p
}

func (p *parser) add(m Mapping, lineNo int64) {
	p.uid.Append(m.UID)
	p.src.Append(m.SourceGVLID)
	p.pgv.Append(m.PartnerGVLID)
	p.puid.Append(m.PartnerUID)
	p.ts.Append(p.at)
	p.delivery.Append(p.df.Delivery)
	p.file.Append(p.df.Path)
	p.line.Append(lineNo)
	p.rows++
	p.perPartner[m.PartnerGVLID]++
}

// Parse implements lineparse.Parser.
func (p *parser) Parse(line []byte, lineNo int64, rej *lineparse.Rejects) bool {
	if p.df.Kind.PerPartner() {
		m, r := ParsePerPartnerRow(line, p.df.PartnerGVLID)
		if r != nil {
			rej.Add(lineNo, r.Code, r.Reason, line)
			return false
		}
		m.SourceGVLID = p.sourceGVLID
		p.add(m, lineNo)
		return true
	}
	ms, r := ParseSingleRow(line, p.header, p.buf[:0])
	if r != nil {
		rej.Add(lineNo, r.Code, r.Reason, line)
		return false
	}
	for _, m := range ms {
		p.add(m, lineNo)
	}
	p.buf = ms[:0]
	return true
}

// Flush implements lineparse.Parser.
func (p *parser) Flush(emit func(hiveparquet.Batch)) {
	if p.uid.Len() > 0 {
		emit(hiveparquet.Batch{Table: p.table, Partition: p.part, Source: p.source, Record: p.b.NewRecord()})
	}
}

// Rows implements lineparse.Parser.
func (p *parser) Rows() []lineparse.Count { return []lineparse.Count{{Name: p.table, N: p.rows}} }

// Release implements lineparse.Parser.
func (p *parser) Release() { p.b.Release() }

// ReadFile reads one delivered ID5 file (plain or gzip, sniffed): for a
// single-file delivery it parses the header itself, then hands the rest to
// the parallel line engine with line numbers that match the file. Rows go
// to the updates or extracts table, rejects to id5_rejects, and for a full
// extract one id5_extract_partners row per partner it covers. A bad header
// rejects the file whole: FileStats.Error says why, the header line is its
// one reject, and the run goes on. I/O and decompression errors fail.
//
// A full extract is also compared with the current mapping of every
// partner it covers (see shrink.go), per guard: FileStats.Replaces holds
// the numbers, and a refusal that stops the commit. A nil guard checks
// nothing.
func ReadFile(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, sourceGVLID int32, opts lineparse.Options,
	guard *ExtractGuard, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	df, err := classifyRel(f.Rel)
	if err != nil {
		return transforms.FileStats{}, err
	}
	r, kind, closer, err := transforms.OpenDecompressed(ctx, fsys, f, nil)
	if err != nil {
		return transforms.FileStats{}, err // it names the file
	}
	defer closer.Close()
	br := bufio.NewReaderSize(r, 64<<10)

	var h Header
	var first, headerBytes, blank int64
	if !df.Kind.PerPartner() {
		// The header is the first line that is not blank: blank lines before
		// it are counted and skipped like any other blank line, so a file of
		// only blank lines is an empty file.
		line, err := readHeader(br)
		headerBytes = int64(len(line))
		for err == nil && lineparse.IsBlank(bytes.TrimSuffix(line, []byte("\n"))) {
			blank++
			line, err = readHeader(br)
			headerBytes += int64(len(line))
		}
		if err == io.EOF && len(line) > 0 && lineparse.IsBlank(line) {
			blank++
			line = nil
		}
		switch {
		case err == io.EOF && len(line) == 0:
			st := transforms.StatsFrom(f, kind, lineparse.Stats{Counts: lineparse.Counts{BlankLines: blank}, Bytes: headerBytes})
			st.Warnings = []lineparse.Count{{Name: WarnEmptyFile, N: 1}}
			return st, nil
		case err != nil && err != io.EOF && !errors.Is(err, errHeaderTooLong):
			return transforms.FileStats{}, fmt.Errorf("read %s: %w", f.Path, err)
		}
		if err == nil || err == io.EOF {
			h, err = ParseSingleHeader(line)
		}
		if err != nil {
			rej := lineparse.NewRejects(Rejects(), f.Partition, f.Source, f.Rel, opts.RawBytes)
			defer rej.Release()
			rej.Add(blank+1, ReasonBadHeader, err.Error(), bytes.TrimRight(line, "\r\n"))
			rej.Flush(emit)
			st := transforms.StatsFrom(f, kind, lineparse.Stats{Bytes: headerBytes,
				Counts: lineparse.Counts{RecordsIn: 1, Rejected: 1, BlankLines: blank, RejectsByReason: rej.ByReason()}})
			st.Error = fmt.Sprintf("file rejected whole: %v", err)
			return st, st.Check()
		}
		first = blank + 1
	}

	covers := []int32{df.PartnerGVLID}
	src := sourceGVLID
	if !df.Kind.PerPartner() {
		covers, src = h.Partners, h.SourceGVLID
	}
	var check *shrinkCheck
	if df.Kind.Full() && guard != nil {
		if check, err = newShrinkCheck(df, covers, guard.States, guard.MaxExtractShrink, shrinkBucketRows); err != nil {
			return transforms.FileStats{}, fmt.Errorf("read %s: %w", f.Path, err)
		}
		if check != nil {
			defer check.close()
			next := emit
			emit = func(b hiveparquet.Batch) {
				if b.Table == ExtractsTable {
					check.add(b.Record)
				}
				next(b)
			}
		}
	}

	var mu sync.Mutex
	var parsers []*parser
	counts, err := lineparse.Parse(ctx, br, f.Origin(), Rejects(), first, opts, func() lineparse.Parser {
		p := newParser(df, h, sourceGVLID, f.Source)
		mu.Lock()
		parsers = append(parsers, p)
		mu.Unlock()
		return p
	}, emit)
	if err != nil {
		return transforms.FileStats{}, fmt.Errorf("read %s: %w", f.Path, err)
	}
	counts.Bytes += headerBytes
	counts.BlankLines += blank
	st := transforms.StatsFrom(f, kind, counts)
	if err := st.Check(); err != nil {
		return st, err
	}
	if df.Kind.Full() {
		rows := map[int32]int64{}
		for _, p := range parsers {
			for g, n := range p.perPartner {
				rows[g] += n
			}
		}
		if check != nil {
			lake := fsys
			if guard.lakeFS != nil {
				lake = guard.lakeFS
			}
			if st.Replaces, err = check.finish(ctx, lake, rows); err != nil {
				return st, fmt.Errorf("read %s: %w", f.Path, err)
			}
		}
		emit(extractPartnersBatch(df, f, src, covers, rows))
		st.Rows = append(st.Rows, lineparse.Count{Name: ExtractPartnersTable, N: int64(len(covers))})
	}
	return st, nil
}

// ExtractGuard is what ReadFile needs to compare a full extract with the
// partners' current mappings: the lake's state before the run and the bound.
type ExtractGuard struct {
	// States is what the lake holds per partner (LoadPartnerStates).
	States []PartnerState `json:"states"`
	// MaxExtractShrink is the largest share of a partner's current UIDs
	// that a full extract may lack; 1 accepts every extract, even one
	// without a valid row for a partner it names.
	MaxExtractShrink float64 `json:"max_extract_shrink"`
	// Lake is the output root whose current mapping is compared; it may
	// be on another store than the input. Empty: the input's store.
	Lake string `json:"lake,omitempty"`

	lakeFS lakefs.FS // opened from Lake by the read DoFn's Setup
}

func extractPartnersBatch(df File, f transforms.InputFile, src int32, covers []int32, rows map[int32]int64) hiveparquet.Batch {
	covers = append([]int32(nil), covers...)
	sort.Slice(covers, func(i, j int) bool { return covers[i] < covers[j] })
	b := array.NewRecordBuilder(memory.DefaultAllocator, ExtractPartnersSchema())
	defer b.Release()
	for _, g := range covers {
		b.Field(0).(*array.Int32Builder).Append(g)
		b.Field(1).(*array.Int32Builder).Append(src)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(df.DeliveredAt.UnixMicro()))
		b.Field(3).(*array.StringBuilder).Append(df.Delivery)
		b.Field(4).(*array.StringBuilder).Append(df.Path)
		b.Field(5).(*array.Int64Builder).Append(rows[g])
	}
	return hiveparquet.Batch{Table: ExtractPartnersTable, Partition: datePartition(extractDatePartitions, df.DeliveredAt.Format("2006-01-02")),
		Source: f.Source, Record: b.NewRecord()}
}

var errHeaderTooLong = errors.New("header line too long")

// readHeader reads the first line (with its terminator, if any), at most
// maxHeaderBytes of it. At EOF without a newline it returns the line and io.EOF.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxHeaderBytes {
			return line[:256], fmt.Errorf("%w: more than %d bytes", errHeaderTooLong, maxHeaderBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}
