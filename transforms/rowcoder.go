package transforms

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/coder"
)

// RowCoder encodes values of the struct type T with Beam's schema row
// encoding, for use as a custom coder (beam.RegisterCoder). A custom coder is
// opaque to the runner: Java runners (Beam's Spark and Flink job servers)
// pass its elements between stages as length-prefixed bytes instead of
// decoding them as rows. They must not decode vendorlake's rows themselves:
// the Go SDK marks a nil slice field as null while declaring the field NOT
// NULL, and the Java row decoder then reads past the element's end
// (java.io.EOFException at IterableLikeCoder.decode): seen with Beam 2.56's
// runners, and again with 2.62's (Spark 2.62, the Didomi sample, without
// these coders: the job failed with java.io.EOFException). The bytes are those
// the Go SDK's own row coder writes, so direct, prism and the Java runners
// see the same values (nil slices stay nil, empty ones empty).
//
// A RowCoder is immutable once made; make one per type in a package
// variable and wrap its methods in named functions for beam.RegisterCoder
// (the Go SDK finds coder functions by name on the workers).
type RowCoder[T any] struct {
	enc func(any, *bytes.Buffer) error
	dec func(*bytes.Reader) (any, error)
}

// NewRowCoder returns the RowCoder of T. It panics when T is not a struct
// that Beam's row encoding supports: a programming error, found at init.
func NewRowCoder[T any]() RowCoder[T] {
	t := reflect.TypeOf((*T)(nil)).Elem()
	enc, err := coder.RowEncoderForStruct(t)
	if err != nil {
		panic(fmt.Sprintf("row coder of %v: %v", t, err))
	}
	dec, err := coder.RowDecoderForStruct(t)
	if err != nil {
		panic(fmt.Sprintf("row coder of %v: %v", t, err))
	}
	return RowCoder[T]{
		enc: func(v any, w *bytes.Buffer) error { return enc(v, w) },
		dec: func(r *bytes.Reader) (any, error) { return dec(r) },
	}
}

// Encode returns v's row encoding.
func (c RowCoder[T]) Encode(v T) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.enc(v, &buf); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// Decode decodes a value that Encode encoded.
func (c RowCoder[T]) Decode(data []byte) (T, error) {
	var zero T
	v, err := c.dec(bytes.NewReader(data))
	if err != nil {
		return zero, fmt.Errorf("decode %T: %w", zero, err)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("decode %T: got %T", zero, v)
	}
	return t, nil
}
