// Package decompress opens vendor files whatever their compression, chosen
// by the content's magic bytes rather than by the file name.
package decompress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Kind is a detected compression format.
type Kind string

// The formats this package detects.
const (
	Plain Kind = "plain"
	Gzip  Kind = "gzip"
	Lzop  Kind = "lzop"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	lzopMagic = []byte{0x89, 'L', 'Z', 'O', 0x00, '\r', '\n', 0x1a, '\n'}
)

// Detect returns the compression of a stream whose first bytes are head.
func Detect(head []byte) Kind {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, lzopMagic):
		return Lzop
	}
	return Plain
}

// LzopOpener opens an lzop stream; NewReader uses it for lzop content so
// that this package does not depend on a particular lzop implementation.
type LzopOpener func(io.Reader) (io.Reader, error)

// NewReader returns a reader of the decompressed content of r, detecting the
// format by magic bytes. Concatenated gzip members are read as one stream
// (as gzip(1) does). name is used in error messages only. lzop content needs
// a non-nil lzop opener.
func NewReader(r io.Reader, name string, lzop LzopOpener) (io.Reader, Kind, error) {
	return NewReaderSize(r, name, lzop, 0)
}

// Read-ahead buffer bounds of NewReaderSize.
const (
	maxReadAhead = 1 << 20
	minReadAhead = 4 << 10
)

// NewReaderSize is NewReader for a stream of size bytes (0 or less when
// unknown). Its read-ahead buffer over r is 1 MiB, or the stream's size
// when that is smaller (at least 4 KiB): a buffer larger than the file it
// reads is zeroed and collected for nothing, which on a drop of thousands
// of small files was most of the run's allocations and half its CPU in the
// garbage collector.
func NewReaderSize(r io.Reader, name string, lzop LzopOpener, size int64) (io.Reader, Kind, error) {
	br := bufio.NewReaderSize(r, readAhead(size))
	head, err := br.Peek(len(lzopMagic))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("read %s: %w", name, err)
	}
	switch kind := Detect(head); kind {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, kindError(name, kind, err)
		}
		return &namedReader{r: zr, name: name, kind: kind}, kind, nil
	case Lzop:
		if lzop == nil {
			return nil, kind, fmt.Errorf("read %s: lzop content is not supported here", name)
		}
		lr, err := lzop(br)
		if err != nil {
			return nil, kind, kindError(name, kind, err)
		}
		return &namedReader{r: lr, name: name, kind: kind}, kind, nil
	default:
		return br, Plain, nil
	}
}

// namedReader wraps decompression errors with the file name and format, and
// turns a premature end of a compressed stream into a clear error.
type namedReader struct {
	r    io.Reader
	name string
	kind Kind
}

func (n *namedReader) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		if err == io.ErrUnexpectedEOF {
			return c, fmt.Errorf("read %s: %s stream is truncated: %w", n.name, n.kind, err)
		}
		return c, kindError(n.name, n.kind, err)
	}
	return c, err
}

// kindError names the file and the format of a decompression error, once:
// compress/gzip's errors already start with "gzip: ".
func kindError(name string, kind Kind, err error) error {
	if strings.HasPrefix(err.Error(), string(kind)+": ") {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return fmt.Errorf("read %s: %s: %w", name, kind, err)
}

// readAhead is the buffer size NewReaderSize uses for a stream of size
// bytes.
func readAhead(size int64) int {
	if size <= 0 || size >= maxReadAhead {
		return maxReadAhead
	}
	return int(max(size, minReadAhead))
}
