package lineparse

import (
	"bytes"
	"errors"
	"io"
)

// Positions says what the position of a line is, as Parser.Parse gets
// it and the rejects table stores it in source_line.
type Positions uint8

const (
	// LineNumbers: 1-based line numbers.
	LineNumbers Positions = iota
	// ByteOffsets: the offset of the line's first byte in the input's
	// decompressed content, 0-based (Audience Studio request files, which
	// are read in splits that cannot count the lines before them).
	ByteOffsets
)

// Source is what ParseSource reads: the lines of one input, in blocks
// of whole lines, each block with the position of its first line; the
// positions of the others follow from Positions. A source hands out blocks
// rather than single lines so that the lines are cut on the parse workers,
// not on the goroutine that also decompresses the input. ReaderSource is
// the source over any io.Reader.
type Source interface {
	// NextBlock returns the next block, filling buf (a free buffer, nil at
	// first) or a larger one; it returns io.EOF after the last block.
	NextBlock(buf []byte) (Block, error)
	// Positions says what the positions of the blocks' lines are.
	Positions() Positions
}

// Block is a block of whole lines from a Source.
type Block struct {
	// Buf is the block's backing buffer, handed back to NextBlock later.
	Buf []byte
	// Data holds whole lines, each ended by '\n' but possibly the last one
	// of the input.
	Data []byte
	// First is the position of the first line.
	First int64
	// Lead counts bytes of the input that precede Data but belong to its
	// first line (a byte-order mark that is not content): they count in the
	// first line's length, and so in the byte offset of the next line.
	Lead int64
	// TooLong marks a block that stands for one line longer than
	// Options.MaxLineBytes: Data holds its first RawBytes bytes, Size
	// is its length without terminator and N the bytes it took in the
	// input, terminator included.
	TooLong bool
	Size, N int64
}

// SourceOptions describe a ReaderSource's input.
type SourceOptions struct {
	// Positions is what a line's position is.
	Positions Positions
	// First is the position of the input's first line: 1 (or 1 + the
	// lines already consumed) for LineNumbers, its decompressed byte
	// offset for ByteOffsets.
	First int64
	// DropBOM drops a UTF-8 byte-order mark at the start of the input from
	// the first line's content (its position and length still count it).
	DropBOM bool
}

// ReaderSource is the Source over an io.Reader: it reads blocks of about
// Options.ChunkBytes and cuts them after their last newline; a line
// longer than MaxLineBytes becomes a block of its own, read to its end
// without being held in memory.
type ReaderSource struct {
	r     io.Reader
	so    SourceOptions
	opts  Options
	pos   int64  // position of the next line
	carry []byte // partial line carried into the next block
	eof   bool
	begun bool
}

// NewReaderSource returns a Source over r. Of opts it uses ChunkBytes,
// MaxLineBytes and RawBytes (zero means the default).
func NewReaderSource(r io.Reader, so SourceOptions, opts Options) *ReaderSource {
	return &ReaderSource{r: r, so: so, opts: opts.withDefaults(), pos: so.First}
}

// Positions implements Source.
func (s *ReaderSource) Positions() Positions { return s.so.Positions }

// utf8BOM is the UTF-8 byte-order mark.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NextBlock implements Source.
func (s *ReaderSource) NextBlock(buf []byte) (Block, error) {
	for !s.eof {
		opts := s.opts
		if cap(buf) < opts.ChunkBytes || cap(buf) < len(s.carry)+opts.ChunkBytes/2 {
			buf = chunkBuffer(max(opts.ChunkBytes, len(s.carry)+opts.ChunkBytes))
		}
		buf = buf[:cap(buf)]
		n := copy(buf, s.carry)
		s.carry = nil
		for n < len(buf) && !s.eof {
			m, err := s.r.Read(buf[n:])
			n += m
			if err == io.EOF {
				s.eof = true
			} else if err != nil {
				return Block{}, err
			}
		}
		data := buf[:n]
		var lead int64
		if !s.begun {
			s.begun = true
			if s.so.DropBOM && bytes.HasPrefix(data, utf8BOM) {
				data, lead = data[len(utf8BOM):], int64(len(utf8BOM))
			}
		}
		if !s.eof {
			cut := bytes.LastIndexByte(data, '\n')
			if cut < 0 {
				// One line fills the whole chunk: read on to its end or
				// to the length bound, whichever comes first.
				ll, err := longLine(s.r, data, opts)
				if err != nil {
					return Block{}, err
				}
				if ll.over {
					b := Block{Buf: buf, Data: ll.prefix, First: s.pos, TooLong: true, Size: ll.size, N: lead + ll.n}
					s.advance(1, lead+ll.n)
					s.carry = ll.rest
					s.eof = ll.atEOF
					return b, nil
				}
				// The line fits: ll.rest holds it and whatever followed.
				data, buf, s.eof = ll.rest, ll.rest, ll.atEOF
				cut = bytes.LastIndexByte(data, '\n')
				if s.eof {
					cut = len(data) - 1
				}
			}
			s.carry = append([]byte(nil), data[cut+1:]...)
			data = data[:cut+1]
		}
		if len(data) == 0 && lead == 0 {
			continue
		}
		b := Block{Buf: buf, Data: data, First: s.pos, Lead: lead}
		lines := int64(bytes.Count(data, []byte{'\n'}))
		if len(data) == 0 || data[len(data)-1] != '\n' {
			lines++
		}
		s.advance(lines, lead+int64(len(data)))
		return b, nil
	}
	if len(s.carry) > 0 {
		return Block{}, errors.New("internal error: data left after end of input")
	}
	return Block{}, io.EOF
}

// advance moves the position past lines lines of n bytes.
func (s *ReaderSource) advance(lines, n int64) {
	if s.so.Positions == ByteOffsets {
		s.pos += n
	} else {
		s.pos += lines
	}
}

// longLineResult is what longLine found.
type longLineResult struct {
	over   bool   // the line is longer than MaxLineBytes
	prefix []byte // its first RawBytes bytes, when over
	size   int64  // its length, when over
	n      int64  // when over: the bytes it took, terminator included
	rest   []byte // when over: the bytes after it; else the line and what followed
	atEOF  bool
}

// longLine handles a chunk that holds no newline. It reads on until the line
// ends or passes MaxLineBytes; an over-long line is skipped to its end
// without being held in memory.
func longLine(r io.Reader, data []byte, opts Options) (longLineResult, error) {
	grown := append([]byte(nil), data...)
	tmp := make([]byte, 64<<10)
	over := func(size int64, rest []byte, atEOF bool) longLineResult {
		n := size
		if !atEOF {
			n++ // the '\n'
		}
		return longLineResult{over: true, prefix: append([]byte(nil), grown[:min(len(grown), opts.RawBytes)]...),
			size: size, n: n, rest: append([]byte(nil), rest...), atEOF: atEOF}
	}
	for {
		if i := bytes.IndexByte(grown, '\n'); i >= 0 {
			if i <= opts.MaxLineBytes {
				return longLineResult{rest: grown}, nil
			}
			return over(int64(i), grown[i+1:], false), nil
		}
		if len(grown) > opts.MaxLineBytes {
			break
		}
		m, err := r.Read(tmp)
		grown = append(grown, tmp[:m]...)
		if err == io.EOF {
			if len(grown) > opts.MaxLineBytes {
				return over(int64(len(grown)), nil, true), nil
			}
			return longLineResult{rest: grown, atEOF: true}, nil
		}
		if err != nil {
			return longLineResult{}, err
		}
	}
	size := int64(len(grown))
	for {
		m, err := r.Read(tmp)
		if i := bytes.IndexByte(tmp[:m], '\n'); i >= 0 {
			return over(size+int64(i), tmp[i+1:m], false), nil
		}
		size += int64(m)
		if err == io.EOF {
			return over(size, nil, true), nil
		}
		if err != nil {
			return longLineResult{}, err
		}
	}
}
