package lzop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Range is a half-open byte range [Start, End) of a compressed file, the unit
// of work of one split reader.
type Range struct {
	Start, End int64
}

// SplitRanges cuts a file of size bytes into at most n contiguous ranges of
// nearly equal size that together cover [0, size). Ranges need not fall on
// block boundaries: OpenRange and NewLineReader align them to the index.
func SplitRanges(size int64, n int) []Range {
	if n < 1 {
		n = 1
	}
	if size <= 0 {
		return []Range{{0, 0}}
	}
	if int64(n) > size {
		n = int(size)
	}
	out := make([]Range, n)
	for i := range out {
		out[i] = Range{Start: size * int64(i) / int64(n), End: size * int64(i+1) / int64(n)}
	}
	return out
}

// OpenRange returns a Reader that decompresses the blocks of the lzop file r
// (of size bytes) starting with the first block whose header lies in
// [start, end), and continues past end until the end of the file, so that a
// caller can finish a record that straddles the range's end.
//
// index holds the offsets of the file's blocks (ReadIndex, BuildIndex). As in
// hadoop-lzo's LzoInputFormat, a block belongs to the range that contains the
// first byte of its header; Reader.InRange reports how many uncompressed bytes
// came from the range's own blocks. A range that holds no block yields an
// empty stream.
func OpenRange(r io.ReaderAt, size int64, index []int64, start, end int64) (*Reader, error) {
	if start < 0 || end < start || end > size {
		return nil, fmt.Errorf("lzop: range [%d, %d) outside the %d-byte file", start, end, size)
	}
	if err := CheckIndex(index, size); err != nil {
		return nil, err
	}
	h, err := readHeader(bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 4096))
	if err != nil {
		return nil, err
	}
	if len(index) > 0 && index[0] < h.Size {
		return nil, fmt.Errorf("%w: first entry (offset %d) lies inside the %d-byte header", ErrIndex, index[0], h.Size)
	}
	first := sort.Search(len(index), func(i int) bool { return index[i] >= start })
	z := &Reader{dec: blockDecoder{hdr: h}, rangeEnd: end}
	if first == len(index) {
		// No block starts in or after the range: nothing to read.
		z.err, z.rangeDone = io.EOF, true
		return z, nil
	}
	off := index[first]
	z.dec.pos = off
	z.dec.r = bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	return z, nil
}

// InRange reports the number of uncompressed bytes that came from blocks
// inside the range given to OpenRange, and whether that number is final:
// it is once the Reader has met the first block past the range or the end
// of the stream.
func (z *Reader) InRange() (n int64, final bool) {
	return z.inRange, z.rangeDone
}

// ErrLineTooLong is returned by LineReader.Next for a line longer than the
// reader's limit.
var ErrLineTooLong = errors.New("lzop: line too long")

// DefaultMaxLineSize is the line length limit of a new LineReader.
const DefaultMaxLineSize = 64 << 20

// LineReader reads the lines that one split of a line-oriented lzop file owns,
// with the semantics of hadoop-lzo's LzoLineRecordReader, so that when a file
// is cut into contiguous ranges (for example by SplitRanges) every line is
// read by exactly one split:
//
//   - a split that does not start at offset 0 skips everything up to and
//     including the first newline of its first block (that line belongs to
//     the previous split);
//   - a split reads every line that starts inside its blocks, and also the
//     line that starts exactly where its last block ends, reading into the
//     following blocks as far as needed to complete the line.
//
// In uncompressed offsets, if U is where a split's blocks begin and V where
// they end, the split owns the lines starting at p with U < p <= V (0 <= p
// for the split at offset 0).
type LineReader struct {
	z     *Reader
	br    *bufio.Reader
	first bool
	begun bool
	pos   int64 // uncompressed offset of the next unread byte, relative to the range
	start int64 // relative offset of the last line returned
	line  []byte
	max   int
}

// NewLineReader opens the split [start, end) of the lzop file r for reading
// lines (see LineReader). index is the file's block index.
func NewLineReader(r io.ReaderAt, size int64, index []int64, start, end int64) (*LineReader, error) {
	z, err := OpenRange(r, size, index, start, end)
	if err != nil {
		return nil, err
	}
	return &LineReader{z: z, br: bufio.NewReaderSize(z, 64<<10), first: start == 0, max: DefaultMaxLineSize}, nil
}

// SetMaxLineSize sets the longest line Next returns; longer lines are an
// error wrapping ErrLineTooLong. It bounds the reader's memory.
func (l *LineReader) SetMaxLineSize(n int) { l.max = n }

// Offset returns the offset of the line last returned by Next in the split's
// uncompressed stream (0 is the first byte of the split's first block).
func (l *LineReader) Offset() int64 { return l.start }

// Next returns the next line of the split without its trailing "\n" (a "\r"
// before it is kept), or io.EOF when the split has no more lines. The slice
// is valid until the next call.
func (l *LineReader) Next() ([]byte, error) {
	if !l.begun {
		l.begun = true
		if !l.first {
			if err := l.skipLine(); err != nil {
				return nil, err
			}
		}
	}
	if n, final := l.z.InRange(); final && l.pos > n {
		return nil, io.EOF
	}
	l.start = l.pos
	l.line = l.line[:0]
	for {
		frag, err := l.br.ReadSlice('\n')
		l.pos += int64(len(frag))
		if len(l.line)+len(frag) > l.max+1 {
			return nil, fmt.Errorf("%w: line at split offset %d exceeds %d bytes", ErrLineTooLong, l.start, l.max)
		}
		switch {
		case err == nil:
			if len(l.line) == 0 {
				return frag[:len(frag)-1], nil
			}
			l.line = append(l.line, frag[:len(frag)-1]...)
			return l.line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.line = append(l.line, frag...)
		case err == io.EOF:
			l.line = append(l.line, frag...)
			if len(l.line) == 0 {
				return nil, io.EOF
			}
			if len(l.line) > l.max {
				return nil, fmt.Errorf("%w: line at split offset %d exceeds %d bytes", ErrLineTooLong, l.start, l.max)
			}
			return l.line, nil
		default:
			return nil, err
		}
	}
}

// skipLine discards input up to and including the first newline.
func (l *LineReader) skipLine() error {
	for {
		frag, err := l.br.ReadSlice('\n')
		l.pos += int64(len(frag))
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}
