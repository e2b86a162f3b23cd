package id5

// The guard against a silent wipe of a partner: a full extract replaces
// everything known for its partner, so before the ingest commits, every new
// full extract is compared with the partner's mapping in force
// (id5_mapping_current as the lake holds it). An extract is refused, and
// the run commits nothing, when the share of the partner's current UIDs
// that it lacks (and that no incremental delivered after it keeps) exceeds
// MaxExtractShrink, or when it has no valid row for a
// partner its folder or header names (even on a first load); a bound of 1
// accepts both.
//
// The count of current UIDs absent from the extract is exact and its memory
// bounded, whatever the size of the partner's mapping: the extract's UIDs
// are hash-partitioned into local spill files while the file is parsed, the
// partner's current UIDs likewise while they are read from the lake, then
// one bucket at a time the current UIDs are loaded into a set and the
// extract's bucket removes those it has; what remains is absent. A bucket
// holds about shrinkBucketRows UIDs.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

// DefaultMaxExtractShrink is the default of --max-extract-shrink: a full
// extract may lack at most half of its partner's current UIDs.
const DefaultMaxExtractShrink = 0.5

const (
	// shrinkBucketRows is about the number of current UIDs of one bucket,
	// the most held in memory at once (some 100 bytes each for UUIDs).
	shrinkBucketRows = 256 << 10
	// maxShrinkBuckets bounds the spill files open at once per partner.
	maxShrinkBuckets = 1024
)

// PartnerState is what the lake holds for one partner before the run: the
// Parquet files and rows of its id5_mapping_current partition, and its
// newest committed full extract. It travels in the read DoFn's
// configuration (a few per partner), like a small side input.
type PartnerState struct {
	Partner int32 `json:"partner_gvlid"`
	// Rows is the number of rows (UIDs) of the partner's current mapping.
	Rows int64 `json:"rows"`
	// Files are the Parquet files of partner_gvlid=Partner in
	// id5_mapping_current, with their sizes.
	Files []string `json:"files"`
	Sizes []int64  `json:"sizes"`
	// Newest is the partner's newest committed extract (zero if none).
	Newest ExtractRef `json:"newest"`
	// Delta are the files of id5_mapping_updates that may hold rows of
	// the delta over the base (see base.go): the partner's rows delivered
	// after Cutoff (all of them when HasCutoff is false) are current too.
	Delta      []string `json:"delta,omitempty"`
	DeltaSizes []int64  `json:"delta_sizes,omitempty"`
	Cutoff     int64    `json:"cutoff_us,omitempty"`
	HasCutoff  bool     `json:"has_cutoff,omitempty"`
}

// LoadPartnerStates reads what the lake at lake holds for every partner
// that has a current mapping (base rows) or a committed extract, and, as
// partner 0, the delta of any other partner. The row counts come from the
// Parquet footers (the delta's files count whole for each partner: an
// estimate, which only sizes the check); no row is read.
func LoadPartnerStates(ctx context.Context, fsys lakefs.FS, lake string) ([]PartnerState, error) {
	byPartner := map[int32]*PartnerState{}
	var order []int32
	get := func(p int32) *PartnerState {
		s := byPartner[p]
		if s == nil {
			s = &PartnerState{Partner: p}
			byPartner[p] = s
			order = append(order, p)
		}
		return s
	}
	newest, _, err := NewestExtracts(ctx, fsys, lake)
	if err != nil {
		return nil, fmt.Errorf("id5: read %s: %w", ExtractPartnersTable, err)
	}
	for _, e := range newest {
		get(e.Partner).Newest = e
	}
	files, err := tableFiles(ctx, fsys, lake, BaseTable)
	if err != nil {
		return nil, fmt.Errorf("id5: list %s: %w", BaseTable, err)
	}
	for _, fi := range files {
		dir := path.Base(path.Dir(fi.Path))
		v, ok := strings.CutPrefix(dir, "partner_gvlid=")
		if !ok {
			continue
		}
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("id5: %s: bad partition %s", fi.Path, dir)
		}
		n, err := parquetRows(ctx, fsys, []lakefs.FileInfo{fi})
		if err != nil {
			return nil, fmt.Errorf("id5: %w", err)
		}
		s := get(int32(p))
		s.Rows += n
		s.Files = append(s.Files, fi.Path)
		s.Sizes = append(s.Sizes, fi.Size)
	}
	base, err := LoadBaseState(ctx, fsys, lake)
	if err != nil {
		return nil, err
	}
	updates, err := tableFiles(ctx, fsys, lake, UpdatesTable)
	if err != nil {
		return nil, fmt.Errorf("id5: list %s: %w", UpdatesTable, err)
	}
	out := make([]PartnerState, 0, len(order)+1)
	for _, p := range append(order, horizonPartner) {
		s := byPartner[p]
		if s == nil {
			s = &PartnerState{Partner: p}
		}
		s.Cutoff, s.HasCutoff = base.Cutoff(p)
		var delta []lakefs.FileInfo
		for _, fi := range updates {
			// date=YYYY-MM-DD is the delivery day: a day before the
			// cutoff's holds no delta row.
			day, ok := strings.CutPrefix(path.Base(path.Dir(fi.Path)), datePartitions[0].Name+"=")
			if ok && s.HasCutoff && day < time.UnixMicro(s.Cutoff).UTC().Format(time.DateOnly) {
				continue
			}
			delta = append(delta, fi)
			s.Delta = append(s.Delta, fi.Path)
			s.DeltaSizes = append(s.DeltaSizes, fi.Size)
		}
		n, err := parquetRows(ctx, fsys, delta)
		if err != nil {
			return nil, fmt.Errorf("id5: %w", err)
		}
		s.Rows += n
		out = append(out, *s)
	}
	return out, nil
}

// shrinkCheck compares one full extract with the current mapping of the
// partners it covers. It is fed the extract's rows as the parser emits
// them (add), then decides (finish). Only partners with a current mapping
// spill their UIDs.
type shrinkCheck struct {
	df     File
	max    float64
	covers []int32
	states map[int32]PartnerState
	seed   maphash.Seed
	dir    string

	mu      sync.Mutex
	buckets map[int32][]*spillBucket
	err     error
}

// spillBucket is one local spill file of length-prefixed UIDs.
type spillBucket struct {
	f *os.File
	w *bufio.Writer
}

// newShrinkCheck prepares the check of extract df covering partners covers,
// against the lake's states; it returns nil when no partner needs one (the
// extract is older than a partner's newest committed extract, so it
// replaces nothing). With a bound of 1 the numbers are still computed, for
// the run report, but nothing is refused.
// A bucket holds about bucketRows current UIDs (shrinkBucketRows in a run).
func newShrinkCheck(df File, covers []int32, states []PartnerState, max float64, bucketRows int64) (*shrinkCheck, error) {
	c := &shrinkCheck{df: df, max: max, states: map[int32]PartnerState{}, seed: maphash.MakeSeed(),
		buckets: map[int32][]*spillBucket{}}
	byPartner := map[int32]PartnerState{}
	for _, s := range states {
		byPartner[s.Partner] = s
	}
	this := ExtractRef{At: df.DeliveredAt.UnixMicro(), SourceFile: df.Path}
	for _, p := range covers {
		s, ok := byPartner[p]
		if !ok {
			// No base row nor extract: its delta rows, if any, are
			// all it has.
			s = byPartner[horizonPartner]
			s.Partner = p
		}
		if s.Newest.SourceFile != "" && s.Newest.after(this) {
			continue // an older extract: the newer one stays in force
		}
		c.covers = append(c.covers, p)
		c.states[p] = s
	}
	if len(c.covers) == 0 {
		return nil, nil
	}
	for _, p := range c.covers {
		s := c.states[p]
		if s.Rows == 0 {
			continue
		}
		if c.dir == "" {
			dir, err := os.MkdirTemp("", "vendorlake-id5-shrink-")
			if err != nil {
				return nil, fmt.Errorf("id5 extract check: %w", err)
			}
			c.dir = dir
		}
		bs, err := c.openBuckets(fmt.Sprintf("extract-%d", p), bucketsFor(s.Rows, bucketRows))
		if err != nil {
			c.close()
			return nil, err
		}
		c.buckets[p] = bs
	}
	return c, nil
}

// bucketsFor is the number of buckets for a current mapping of rows UIDs.
func bucketsFor(rows, bucketRows int64) int {
	return int(min(max(1, (rows+bucketRows-1)/bucketRows), maxShrinkBuckets))
}

func (c *shrinkCheck) openBuckets(name string, n int) ([]*spillBucket, error) {
	bs := make([]*spillBucket, n)
	for i := range bs {
		f, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("%s-%05d", name, i)))
		if err != nil {
			closeBuckets(bs)
			return nil, fmt.Errorf("id5 extract check: %w", err)
		}
		bs[i] = &spillBucket{f: f, w: bufio.NewWriterSize(f, 16<<10)}
	}
	return bs, nil
}

func closeBuckets(bs []*spillBucket) {
	for _, b := range bs {
		if b != nil {
			b.f.Close()
		}
	}
}

// close removes the spill files.
func (c *shrinkCheck) close() {
	for _, bs := range c.buckets {
		closeBuckets(bs)
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// put appends uid to the bucket of its hash.
func (c *shrinkCheck) put(bs []*spillBucket, uid string) error {
	b := bs[maphash.String(c.seed, uid)%uint64(len(bs))]
	var n [binary.MaxVarintLen64]byte
	if _, err := b.w.Write(n[:binary.PutUvarint(n[:], uint64(len(uid)))]); err != nil {
		return err
	}
	_, err := b.w.WriteString(uid)
	return err
}

// add spills the UIDs of a batch of id5_full_extracts rows for the partners
// that have a current mapping. Errors are kept for finish.
func (c *shrinkCheck) add(rec arrow.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || len(c.buckets) == 0 {
		return
	}
	uids := rec.Column(colUID).(*array.String)
	partners := rec.Column(colPartnerGVLID).(*array.Int32)
	for i := 0; i < int(rec.NumRows()); i++ {
		bs := c.buckets[partners.Value(i)]
		if bs == nil {
			continue
		}
		if err := c.put(bs, uids.Value(i)); err != nil {
			c.err = fmt.Errorf("id5 extract check: spill: %w", err)
			return
		}
	}
}

// finish compares and returns one check per partner; rows are the
// extract's valid rows per partner. fsys reads the lake's current mapping.
func (c *shrinkCheck) finish(ctx context.Context, fsys lakefs.FS, rows map[int32]int64) ([]transforms.ReplaceCheck, error) {
	defer c.close()
	if c.err != nil {
		return nil, c.err
	}
	var out []transforms.ReplaceCheck
	for _, p := range c.covers {
		s := c.states[p]
		rc := transforms.ReplaceCheck{Table: CurrentTable, Key: fmt.Sprintf("partner_gvlid=%d", p), Before: s.Rows, After: rows[p]}
		if bs := c.buckets[p]; bs != nil {
			before, absent, err := c.absent(ctx, fsys, p, s, bs)
			if err != nil {
				return nil, err
			}
			rc.Before, rc.Absent = before, absent
		}
		switch {
		case c.max >= 1:
		case rc.After == 0:
			rc.Absent = rc.Before
			rc.Refused = fmt.Sprintf("full extract %s has no valid row for partner %d, which it names (partner %d has %d current UIDs): it would empty the partner (--max-extract-shrink=1 accepts it)",
				c.df.Path, p, p, rc.Before)
		case rc.Before > 0 && float64(rc.Absent)/float64(rc.Before) > c.max:
			rc.Refused = fmt.Sprintf("full extract %s lacks %d of partner %d's %d current UIDs (%.1f%% > --max-extract-shrink=%g; the extract has %d valid rows)",
				c.df.Path, rc.Absent, p, rc.Before, 100*float64(rc.Absent)/float64(rc.Before), c.max, rc.After)
		}
		out = append(out, rc)
	}
	return out, nil
}

// absent spills partner p's current UIDs from the lake into buckets like
// the extract's, then counts, bucket by bucket, the current UIDs the
// extract does not have and that no later incremental keeps (the ones the
// rebuild would drop). It returns the number of current UIDs read and the
// number absent.
func (c *shrinkCheck) absent(ctx context.Context, fsys lakefs.FS, p int32, s PartnerState, extract []*spillBucket) (int64, int64, error) {
	cur, err := c.openBuckets(fmt.Sprintf("current-%d", p), len(extract))
	if err != nil {
		return 0, 0, err
	}
	defer closeBuckets(cur)
	// A current row updated after the extract came from a later
	// incremental, which the rebuild applies on top of the extract: it
	// stays, extract or not, so it is never absent.
	at := arrow.Timestamp(c.df.DeliveredAt.UnixMicro())
	// Every UID is spilled with a flag: 'L' when its row is later than the
	// extract (kept), 'E' otherwise; a UID is kept when any row of it is.
	for i, f := range s.Files {
		err := readParquet(ctx, fsys, f, s.Sizes[i], func(rec arrow.Record) error {
			idx, err := colIndex(rec, f, "uid")
			if err != nil {
				return err
			}
			tidx, err := colIndex(rec, f, "updated_at")
			if err != nil {
				return err
			}
			uids, ok := rec.Column(idx).(*array.String)
			updated, ok2 := rec.Column(tidx).(*array.Timestamp)
			if !ok || !ok2 {
				return fmt.Errorf("read parquet %s: uid is %s and updated_at %s, want string and timestamp", f, rec.Column(idx).DataType(), rec.Column(tidx).DataType())
			}
			for j := 0; j < uids.Len(); j++ {
				if err := c.putFlagged(cur, uids.Value(j), updated.Value(j) > at); err != nil {
					return fmt.Errorf("id5 extract check: spill: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
	}
	// The delta over the base: the partner's incremental rows delivered
	// after the cutoff.
	for i, f := range s.Delta {
		err := readParquet(ctx, fsys, f, s.DeltaSizes[i], func(rec arrow.Record) error {
			if err := sameColumns(rec.Schema(), UpdatesSchema()); err != nil {
				return fmt.Errorf("read parquet %s: %w", f, err)
			}
			uids := rec.Column(colUID).(*array.String)
			partners := rec.Column(colPartnerGVLID).(*array.Int32)
			delivered := rec.Column(colAt).(*array.Timestamp)
			for j := 0; j < uids.Len(); j++ {
				d := delivered.Value(j)
				if partners.Value(j) != p || (s.HasCutoff && int64(d) <= s.Cutoff) {
					continue
				}
				if err := c.putFlagged(cur, uids.Value(j), d > at); err != nil {
					return fmt.Errorf("id5 extract check: spill: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
	}
	var before, absent int64
	for i := range cur {
		set := map[string]bool{}
		if err := readBucket(cur[i], func(v []byte) {
			uid := string(v[1:])
			set[uid] = set[uid] || v[0] == 'L'
		}); err != nil {
			return 0, 0, err
		}
		before += int64(len(set))
		if err := readBucket(extract[i], func(uid []byte) {
			if !set[string(uid)] {
				delete(set, string(uid))
			}
		}); err != nil {
			return 0, 0, err
		}
		for _, later := range set {
			if !later {
				absent++
			}
		}
	}
	return before, absent, nil
}

// putFlagged appends uid, flagged later or not, to the bucket of the
// UID's hash (the flag is not hashed: a UID's rows meet in one bucket).
func (c *shrinkCheck) putFlagged(bs []*spillBucket, uid string, later bool) error {
	b := bs[maphash.String(c.seed, uid)%uint64(len(bs))]
	var n [binary.MaxVarintLen64]byte
	if _, err := b.w.Write(n[:binary.PutUvarint(n[:], uint64(len(uid)+1))]); err != nil {
		return err
	}
	flag := byte('E')
	if later {
		flag = 'L'
	}
	if err := b.w.WriteByte(flag); err != nil {
		return err
	}
	_, err := b.w.WriteString(uid)
	return err
}

// readBucket flushes a bucket and reads its UIDs back in order; fn must
// not keep the slice.
func readBucket(b *spillBucket, fn func([]byte)) error {
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("id5 extract check: spill: %w", err)
	}
	if _, err := b.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("id5 extract check: spill: %w", err)
	}
	r := bufio.NewReaderSize(b.f, 64<<10)
	var buf []byte
	for {
		n, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("id5 extract check: read spill %s: %w", b.f.Name(), err)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("id5 extract check: read spill %s: %w", b.f.Name(), err)
		}
		fn(buf)
	}
	// Back to the end, should the bucket be written again.
	_, err := b.f.Seek(0, io.SeekEnd)
	return err
}
