package audiencestudio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lzop"
	"github.com/vendorlake/vendorlake/transforms"
)

// Reading request files, whole or in lzop splits, with byte-offset lineage.
//
// A request file is read whole (plain, gzip or lzop without an index) or, when
// an .lzo.index lies beside an lzop file, in splits: contiguous compressed
// byte ranges, each read by its own worker with hadoop-lzo's ownership rule
// (see lzop.LineReader). Every line is read by exactly one split.
//
// Lineage rule: a line's position (source_offset, and source_line in the
// rejects table) is the offset of its first byte in the file's decompressed
// content. A split learns the decompressed offset of its first block by
// summing the uncompressed-length fields of the blocks before it (one 4-byte
// read per earlier block, located by the index), so positions do not depend
// on how the file was cut.

// LzopOpener opens lzop content for io/decompress.
func LzopOpener(r io.Reader) (io.Reader, error) { return lzop.NewReader(r) }

// IndexSuffix names the hadoop-lzo block index of FILE.lzo: FILE.lzo.index.
const IndexSuffix = ".index"

// lineSource yields the lines of one file or split with their absolute
// decompressed offsets.
type lineSource struct {
	br        *bufio.Reader
	pos       int64        // offset of the next unread byte, relative to base
	base      int64        // decompressed offset of the stream's first byte
	split     *lzop.Reader // set for split reads: line ownership via InRange
	skipFirst bool         // a split not at offset 0 skips its first (partial) line
	begun     bool
	max, raw  int
	buf       []byte
}

// srcLine is one line from a lineSource. data is valid until the next call.
type srcLine struct {
	data    []byte
	off     int64 // absolute decompressed offset of the line's first byte
	n       int64 // bytes consumed, terminator included
	tooLong bool  // the line exceeded max: data holds its first raw bytes
	size    int64 // length of the line, without terminator
}

func newLineSource(r io.Reader, opts transforms.LineOptions) *lineSource {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = transforms.DefaultMaxLineBytes
	}
	if opts.RawBytes <= 0 {
		opts.RawBytes = transforms.DefaultRawBytes
	}
	return &lineSource{br: bufio.NewReaderSize(r, 256<<10), max: opts.MaxLineBytes, raw: min(opts.RawBytes, opts.MaxLineBytes)}
}

// next returns the next owned line, or io.EOF.
func (s *lineSource) next() (srcLine, error) {
	if !s.begun {
		s.begun = true
		if s.skipFirst {
			for {
				frag, err := s.br.ReadSlice('\n')
				s.pos += int64(len(frag))
				if err == nil {
					break
				}
				if !errors.Is(err, bufio.ErrBufferFull) {
					return srcLine{}, err
				}
			}
		}
	}
	if s.split != nil {
		if n, final := s.split.InRange(); final && s.pos > n {
			return srcLine{}, io.EOF
		}
	}
	start := s.pos
	s.buf = s.buf[:0]
	var size int64
	for {
		frag, err := s.br.ReadSlice('\n')
		s.pos += int64(len(frag))
		content := frag
		if err == nil {
			content = frag[:len(frag)-1]
		}
		size += int64(len(content))
		if size <= int64(s.max) {
			s.buf = append(s.buf, content...)
		} else if len(s.buf) > s.raw {
			s.buf = s.buf[:s.raw]
		} else if len(s.buf) < s.raw {
			s.buf = append(s.buf, content[:min(len(content), s.raw-len(s.buf))]...)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if s.pos == start {
				return srcLine{}, io.EOF
			}
		default:
			return srcLine{}, err
		}
		l := srcLine{data: s.buf, off: s.base + start, n: s.pos - start, tooLong: size > int64(s.max), size: size}
		if l.off == 0 && bytes.HasPrefix(l.data, utf8BOM) {
			// A UTF-8 byte-order mark (spreadsheet exports) is not part of
			// the first line; the line keeps offset 0 and n counts the mark.
			l.data, l.size = l.data[len(utf8BOM):], l.size-int64(len(utf8BOM))
		}
		return l, nil
	}
}

// utf8BOM is the UTF-8 byte-order mark, dropped from the start of a request
// file's decompressed content.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// openRequestSource opens f (a whole file or one split) as a lineSource.
func openRequestSource(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts transforms.LineOptions) (*lineSource, decompress.Kind, io.Closer, error) {
	if f.SplitEnd <= 0 {
		r, kind, closer, err := transforms.OpenDecompressed(ctx, fsys, f, LzopOpener)
		if err != nil {
			return nil, "", nil, err
		}
		return newLineSource(r, opts), kind, closer, nil
	}
	faults.Hit(ctx, "read.file") // a split (whole files: transforms.OpenDecompressed)
	index, err := readIndex(ctx, fsys, f.Path+IndexSuffix)
	if err != nil {
		return nil, "", nil, err
	}
	rc, err := fsys.Open(ctx, f.Path)
	if err != nil {
		return nil, "", nil, err
	}
	var closer io.Closer = rc
	ra, ok := rc.(io.ReaderAt) // local files
	if !ok {
		// Object stores: the blocks stream through one ranged read.
		rc.Close()
		sra := &seqReaderAt{ctx: ctx, fs: fsys, path: f.Path}
		ra, closer = sra, sra
	}
	z, err := lzop.OpenRange(ra, f.Size, index, f.SplitStart, f.SplitEnd)
	if err != nil {
		closer.Close()
		return nil, "", nil, fmt.Errorf("read %s split [%d, %d): %w", f.Path, f.SplitStart, f.SplitEnd, err)
	}
	base, err := blocksBefore(ra, z.Header().Flags, index, f.SplitStart)
	if err != nil {
		closer.Close()
		return nil, "", nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	s := newLineSource(&namedErrReader{r: z, name: f.Path}, opts)
	s.split, s.base, s.skipFirst = z, base, f.SplitStart != 0
	return s, decompress.Lzop, closer, nil
}

// blocksBefore returns the decompressed size of the blocks whose header lies
// before start: the decompressed offset of the first block of a split. It
// reads each earlier block's two length fields (8 bytes, located by the
// index) and checks that every entry is where the previous block ends, so a
// wrong index fails the read instead of shifting positions.
func blocksBefore(ra io.ReaderAt, flags uint32, index []int64, start int64) (int64, error) {
	first := sort.Search(len(index), func(i int) bool { return index[i] >= start })
	sums := func(a, b uint32) int64 {
		var n int64
		for _, fl := range []uint32{a, b} {
			if flags&fl != 0 {
				n += 4
			}
		}
		return n
	}
	dSums, cSums := sums(lzop.FlagAdler32D, lzop.FlagCRC32D), sums(lzop.FlagAdler32C, lzop.FlagCRC32C)
	var sum int64
	var b [8]byte
	for i, off := range index[:first] {
		if _, err := ra.ReadAt(b[:], off); err != nil {
			return 0, fmt.Errorf("lzop: index entry %d: block header at offset %d: %w", i, off, err)
		}
		u, c := int64(binary.BigEndian.Uint32(b[:4])), int64(binary.BigEndian.Uint32(b[4:]))
		if u == 0 || u > lzop.MaxBlockSize || c == 0 || c > u {
			return 0, fmt.Errorf("%w: entry %d points to offset %d, which is not a block header (lengths %d/%d)", lzop.ErrIndex, i, off, u, c)
		}
		end := off + 8 + dSums + c
		if c < u {
			end += cSums
		}
		if i+1 < len(index) && index[i+1] != end {
			return 0, fmt.Errorf("%w: entry %d is offset %d, but the block at entry %d ends at %d", lzop.ErrIndex, i+1, index[i+1], i, end)
		}
		sum += u
	}
	return sum, nil
}

func readIndex(ctx context.Context, fsys lakefs.FS, p string) ([]int64, error) {
	rc, err := fsys.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	idx, err := lzop.ReadIndex(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return idx, nil
}

// seqReaderAt is an io.ReaderAt over lakefs.OpenRange for stores without
// random access: reads that continue where the previous one ended share one
// open stream; any other read opens a new range. Not safe for concurrent
// use (one split is read by one goroutine).
//
// On an object store, blocksBefore costs one small ranged GET per block
// before the split; moving that sum into discovery would need a field on
// transforms.InputFile.
type seqReaderAt struct {
	ctx  context.Context
	fs   lakefs.FS
	path string
	rc   io.ReadCloser
	pos  int64
}

func (r *seqReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.rc == nil || off != r.pos {
		if r.rc != nil {
			r.rc.Close()
			r.rc = nil
		}
		rc, err := r.fs.OpenRange(r.ctx, r.path, off, -1)
		if err != nil {
			return 0, err
		}
		r.rc, r.pos = rc, off
	}
	n, err := io.ReadFull(r.rc, p)
	r.pos += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

func (r *seqReaderAt) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}

// namedErrReader names the file in decompression errors.
type namedErrReader struct {
	r    io.Reader
	name string
}

func (n *namedErrReader) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		return c, fmt.Errorf("read %s: lzop: %w", n.name, err)
	}
	return c, err
}

// ---- parallel parsing of offset-addressed lines

type lineChunk struct {
	seq   int
	data  []byte
	lines []chunkLine
}

type chunkLine struct {
	start, end int
	off        int64
	n          int64
	tooLong    bool
	size       int64
}

// parseSource parses every line of src on parallel workers, each with its
// own LineParser (called with the line's absolute offset as its position),
// skips and counts blank lines as transforms.ParseLines does, and emits the batches on the caller's goroutine in input order. Memory is
// bounded by a few chunks of opts.ChunkBytes.
func parseSource(ctx context.Context, src *lineSource, file transforms.InputFile, rejectsTable string, opts transforms.LineOptions,
	newParser func() transforms.LineParser, emit func(hiveparquet.Batch)) (transforms.LineCounts, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunkBytes := opts.ChunkBytes
	if chunkBytes <= 0 {
		chunkBytes = 4 << 20
	}
	release, err := transforms.AcquireParseSlot(ctx)
	if err != nil {
		return transforms.LineCounts{}, err
	}
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan lineChunk, workers)
	results := make(chan transforms.ChunkResult, workers)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- func() error {
			seq := 0
			c := lineChunk{}
			send := func() bool {
				if len(c.lines) == 0 {
					return true
				}
				c.seq = seq
				seq++
				select {
				case chunks <- c:
				case <-ctx.Done():
					return false
				}
				c = lineChunk{data: make([]byte, 0, chunkBytes)}
				return true
			}
			c.data = make([]byte, 0, chunkBytes)
			for {
				l, err := src.next()
				if err == io.EOF {
					if !send() {
						return ctx.Err()
					}
					return nil
				}
				if err != nil {
					return err
				}
				start := len(c.data)
				c.data = append(c.data, l.data...)
				c.lines = append(c.lines, chunkLine{start: start, end: len(c.data), off: l.off, n: l.n, tooLong: l.tooLong, size: l.size})
				if len(c.data) >= chunkBytes || len(c.lines) >= 1<<16 {
					if !send() {
						return ctx.Err()
					}
				}
			}
		}()
	}()
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			p := newParser()
			defer p.Release()
			rej := transforms.NewRejects(rejectsTable, file.Partition, file.Source, file.Rel, opts.RawBytes)
			defer rej.Release()
			var prevRows []transforms.Count
			for c := range chunks {
				res := transforms.ChunkResult{Seq: c.seq}
				before := append([]transforms.Count(nil), rej.ByReason()...)
				n0 := rej.Count()
				for _, l := range c.lines {
					line := c.data[l.start:l.end]
					res.Lines++
					res.Bytes += l.n
					switch {
					case l.tooLong:
						rej.Add(l.off, transforms.ReasonLineTooLong, fmt.Sprintf("line of %d bytes exceeds the bound of %d bytes", l.size, src.max), line)
					case transforms.IsBlankLine(line):
						res.Blank++ // not a record: counted, not rejected
					default:
						if p.Parse(line, l.off, rej) {
							res.Out++
						}
					}
				}
				res.Rejected = rej.Count() - n0
				res.RejectsByReason = transforms.DiffCounts(rej.ByReason(), before)
				rows := p.Rows()
				res.Rows = transforms.DiffCounts(rows, prevRows)
				prevRows = append([]transforms.Count(nil), rows...)
				collect := func(b hiveparquet.Batch) { res.Batches = append(res.Batches, b) }
				p.Flush(collect)
				rej.Flush(collect)
				select {
				case results <- res:
				case <-ctx.Done():
					transforms.ReleaseChunks([]transforms.ChunkResult{res})
				}
			}
		}()
	}
	go func() {
		for w := 0; w < workers; w++ {
			<-done
		}
		close(results)
	}()
	counts, pending := transforms.CollectInOrder(results, emit)
	if err := <-readErr; err != nil {
		transforms.ReleaseChunks(pending)
		return counts, err
	}
	if len(pending) != 0 {
		transforms.ReleaseChunks(pending)
		return counts, fmt.Errorf("parse %s: internal error: %d chunks out of order", file.Rel, len(pending))
	}
	return counts, nil
}

// readRequests is the read step of one request file or split: open,
// decompress, parse in parallel, check the counters.
func readRequests(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts transforms.LineOptions, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	src, kind, closer, err := openRequestSource(ctx, fsys, f, opts)
	if err != nil {
		return transforms.FileStats{}, err
	}
	defer closer.Close()
	counts, err := parseSource(ctx, src, f, RequestsRejectsTable, opts,
		func() transforms.LineParser { return newRequestParser(f.Rel, f.Partition) }, emit)
	if err != nil {
		return transforms.FileStats{}, fmt.Errorf("read %s: %w", f.Path, err)
	}
	st := transforms.StatsFrom(f, kind, counts)
	if f.SplitEnd > 0 {
		// Bytes is the file's stored size once, not once per split.
		st.Bytes = f.SplitEnd - f.SplitStart
	}
	if err := st.Check(); err != nil {
		return transforms.FileStats{}, err
	}
	return st, nil
}

// lzopSplitRanges is lzop.SplitRanges as [start, end) pairs.
func lzopSplitRanges(size int64, n int) [][2]int64 {
	var out [][2]int64
	for _, r := range lzop.SplitRanges(size, n) {
		out = append(out, [2]int64{r.Start, r.End})
	}
	return out
}
