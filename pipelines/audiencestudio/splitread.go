package audiencestudio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lzop"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
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

// requestSourceOptions are the SourceOptions of request content whose
// first owned line starts at decompressed offset first: positions are byte
// offsets, and a UTF-8 byte-order mark (spreadsheet exports) at the start
// of a file is not part of its first line.
func requestSourceOptions(first int64) lineparse.SourceOptions {
	return lineparse.SourceOptions{Positions: lineparse.ByteOffsets, First: first, DropBOM: first == 0}
}

// openRequestSource opens f (a whole file or one split) as a line source.
func openRequestSource(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts lineparse.Options) (lineparse.Source, decompress.Kind, io.Closer, error) {
	if f.SplitEnd <= 0 {
		r, kind, closer, err := transforms.OpenDecompressed(ctx, fsys, f, LzopOpener)
		if err != nil {
			return nil, "", nil, err
		}
		return lineparse.NewReaderSource(r, requestSourceOptions(0), opts), kind, closer, nil
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
	// The store's errors stay the store's (decompress.IsFormatError).
	ra = decompress.StoreReaderAt(ra)
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
	sr := &splitReader{z: z, r: bufio.NewReaderSize(&namedErrReader{r: z, name: f.Path}, 64<<10)}
	if f.SplitStart != 0 {
		if err := sr.skipLine(); err != nil {
			closer.Close()
			return nil, "", nil, err
		}
	}
	return lineparse.NewReaderSource(sr, requestSourceOptions(base+sr.pos), opts), decompress.Lzop, closer, nil
}

// splitReader is the decompressed content of the lines that one split of an
// indexed lzop file owns, by hadoop-lzo's rule (see lzop.LineReader): a
// split not at offset 0 skips its first, partial, line (skipLine), and the
// content ends with the line that holds the last byte of the split's own
// blocks, or that starts just after it.
type splitReader struct {
	z    *lzop.Reader
	r    *bufio.Reader // z's content, its errors naming the file
	pos  int64         // bytes of r consumed, relative to the split's first block
	mid  bool          // the bytes returned so far end inside a line
	done bool
}

// skipLine skips everything up to and including the first newline.
func (s *splitReader) skipLine() error {
	for {
		frag, err := s.r.ReadSlice('\n')
		s.pos += int64(len(frag))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			s.done = true
			return nil
		default:
			return err
		}
	}
}

// Read implements io.Reader. The split owns the lines starting at relative
// offsets p <= n, where n is the final lzop.Reader.InRange count; the
// Reader only returns bytes of a block past the range once it has set n
// final, so a Read that leaves InRange not final returned owned bytes only.
func (s *splitReader) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	if n, final := s.z.InRange(); final && s.pos > n && !s.mid {
		s.done = true // the next line starts past n
		return 0, io.EOF
	}
	m, err := s.r.Read(p)
	if n, final := s.z.InRange(); final && m > 0 {
		// The last owned line ends at the first newline at or after n.
		if from := max(n-s.pos, 0); from < int64(m) {
			if i := bytes.IndexByte(p[from:m], '\n'); i >= 0 {
				m, err, s.done = int(from)+i+1, nil, true
			}
		}
	}
	if m > 0 {
		s.mid = p[m-1] != '\n'
	}
	s.pos += int64(m)
	return m, err
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
	idx, err := lzop.ReadIndex(decompress.StoreReader(rc))
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

// readRequests is the read step of one request file or split: open,
// decompress, parse in parallel, check the counters.
func readRequests(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, opts lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	src, kind, closer, err := openRequestSource(ctx, fsys, f, opts)
	if err != nil {
		return transforms.FileStats{}, err
	}
	defer closer.Close()
	counts, err := lineparse.ParseSource(ctx, src, f.Origin(), RequestsRejects(), opts,
		func() lineparse.Parser { return newRequestParser(f.Rel, f.Partition) }, emit)
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
