// Package decompress opens vendor files whatever their compression, chosen
// by the content's magic bytes rather than by the file name.
package decompress

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/lzop"
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
//
// The errors of r (the store) are kept apart from those of the content: an
// error of the decompressor, such as a checksum mismatch or a stream that
// ends early, is a *FormatError; an error of r is returned as r returned it
// (wrapped), and IsFormatError reports false for it, whatever it wraps.
func NewReaderSize(r io.Reader, name string, lzop LzopOpener, size int64) (io.Reader, Kind, error) {
	br := bufio.NewReaderSize(StoreReader(r), readAhead(size))
	head, err := br.Peek(len(lzopMagic))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("read %s: %w", name, err)
	}
	switch kind := Detect(head); kind {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, formatError(name, kind, err)
		}
		return &namedReader{r: zr, name: name, kind: kind}, kind, nil
	case Lzop:
		if lzop == nil {
			return nil, kind, fmt.Errorf("read %s: lzop content is not supported here", name)
		}
		lr, err := lzop(br)
		if err != nil {
			return nil, kind, formatError(name, kind, err)
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
		return c, formatError(n.name, n.kind, err)
	}
	return c, err
}

// formatError is err of the decompressor of name: a *FormatError, unless
// err is the store's (then it is only given the file's name).
func formatError(name string, kind Kind, err error) error {
	var se *storeError
	if errors.As(err, &se) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return &FormatError{Name: name, Kind: kind, Err: err}
}

// FormatError is an error of the content of a compressed file: it does not
// decompress (a bad header or checksum, a corrupt block, a stream that ends
// before its end). Reading the same bytes again fails the same way, unlike
// an error of the store.
type FormatError struct {
	// Name is the file's name, Kind its detected compression.
	Name string
	Kind Kind
	// Err is the decompressor's error.
	Err error
}

func (e *FormatError) Error() string {
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("read %s: %s stream is truncated: %v", e.Name, e.Kind, e.Err)
	}
	if strings.HasPrefix(e.Err.Error(), string(e.Kind)+": ") { // compress/gzip's errors say "gzip: " already
		return fmt.Sprintf("read %s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("read %s: %s: %v", e.Name, e.Kind, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// StoreReader returns r with its errors (but io.EOF) marked as the store's:
// a decompressor or archive reader over it passes them on, and
// IsFormatError then reports false, even for an io.ErrUnexpectedEOF of a
// connection cut short. NewReaderSize wraps its reader so; a reader that
// decompresses on its own (a split archive) wraps what it opens.
func StoreReader(r io.Reader) io.Reader { return storeReader{r} }

type storeReader struct{ r io.Reader }

func (s storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	return n, MarkStore(err)
}

// StoreReaderAt is StoreReader for an io.ReaderAt (random reads of a
// splittable file).
func StoreReaderAt(r io.ReaderAt) io.ReaderAt { return storeReaderAt{r} }

type storeReaderAt struct{ r io.ReaderAt }

func (s storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	return n, MarkStore(err)
}

// MarkStore returns err (nil and io.EOF as they are) marked as the store's,
// as StoreReader marks the errors of its reader.
func MarkStore(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &storeError{err}
}

// storeError is an error of the store under a decompressor (StoreReader).
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// IsFormatError reports whether err comes from the content of a file rather
// than from its store: a *FormatError, or an error of a decompressor or
// archive format (gzip, deflate, lzop, tar) or an early end of the stream
// (io.ErrUnexpectedEOF), unless it wraps an error of a StoreReader or a
// cancellation. One file with such an error cannot be read as it is,
// whereas a store error (network, permissions, a missing object) concerns
// the run.
func IsFormatError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *storeError
	if errors.As(err, &se) {
		return false
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return true
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		return true
	}
	for _, target := range formatErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// formatErrors are the sentinel errors of content that does not decode.
var formatErrors = []error{
	io.ErrUnexpectedEOF,
	gzip.ErrChecksum, gzip.ErrHeader,
	lzop.ErrHeader, lzop.ErrChecksum, lzop.ErrCorrupt, lzop.ErrTruncated, lzop.ErrIndex, lzop.ErrUnsupported,
	tar.ErrHeader,
}

// readAhead is the buffer size NewReaderSize uses for a stream of size
// bytes.
func readAhead(size int64) int {
	if size <= 0 || size >= maxReadAhead {
		return maxReadAhead
	}
	return int(max(size, minReadAhead))
}
