package arrowpatch

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// fwLayout locates the unexported fields of pqarrow.FileWriter (Arrow Go
// v15.0.2) that writeRowGroups reads or sets on its per-worker copies: the
// underlying file.Writer, the schema, the current row group, the Arrow
// write properties, the write context and the current column index. The
// public API writes one column after the other on the FileWriter's own
// row group, index and context, so a parallel writer has to give each
// goroutine its own index and context over the shared row group. Every
// field is looked up by name and type when the package is first used; if
// Arrow renamed or retyped one, Err is set and Check refuses to write.
type FileWriterLayout struct {
	wrOff, schemaOff, rgwOff, propsOff, ctxOff, colIdxOff uintptr
	// Err says which field was not found; the accessors must not be used
	// then.
	Err error
}

// FileWriterFields returns the layout of pqarrow.FileWriter, found once.
var FileWriterFields = sync.OnceValue(func() FileWriterLayout {
	var l FileWriterLayout
	t := reflect.TypeOf(pqarrow.FileWriter{})
	for _, f := range []struct {
		name string
		typ  reflect.Type
		off  *uintptr
	}{
		{"wr", reflect.TypeOf((*file.Writer)(nil)), &l.wrOff},
		{"schema", reflect.TypeOf((*arrow.Schema)(nil)), &l.schemaOff},
		{"rgw", reflect.TypeOf((*file.RowGroupWriter)(nil)).Elem(), &l.rgwOff},
		{"arrowProps", reflect.TypeOf(pqarrow.ArrowWriterProperties{}), &l.propsOff},
		{"ctx", reflect.TypeOf((*context.Context)(nil)).Elem(), &l.ctxOff},
		{"colIdx", reflect.TypeOf(0), &l.colIdxOff},
	} {
		sf, ok := t.FieldByName(f.name)
		if !ok || sf.Type != f.typ {
			l.Err = fmt.Errorf("pqarrow.FileWriter has no field %s of type %s (Arrow version changed?)", f.name, f.typ)
			return l
		}
		*f.off = sf.Offset
	}
	return l
})

func fieldAt[T any](fw *pqarrow.FileWriter, off uintptr) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(fw), off))
}

// Writer is fw's underlying file.Writer.
func (l FileWriterLayout) Writer(fw *pqarrow.FileWriter) *file.Writer {
	return *fieldAt[*file.Writer](fw, l.wrOff)
}

// Schema is fw's Arrow schema.
func (l FileWriterLayout) Schema(fw *pqarrow.FileWriter) *arrow.Schema {
	return *fieldAt[*arrow.Schema](fw, l.schemaOff)
}

// RowGroup is fw's current (buffered) row group.
func (l FileWriterLayout) RowGroup(fw *pqarrow.FileWriter) file.BufferedRowGroupWriter {
	return (*fieldAt[file.RowGroupWriter](fw, l.rgwOff)).(file.BufferedRowGroupWriter)
}

// ArrowProps points to fw's Arrow write properties.
func (l FileWriterLayout) ArrowProps(fw *pqarrow.FileWriter) *pqarrow.ArrowWriterProperties {
	return fieldAt[pqarrow.ArrowWriterProperties](fw, l.propsOff)
}

// Ctx points to fw's write context.
func (l FileWriterLayout) Ctx(fw *pqarrow.FileWriter) *context.Context {
	return fieldAt[context.Context](fw, l.ctxOff)
}

// ColIdx points to fw's current column index.
func (l FileWriterLayout) ColIdx(fw *pqarrow.FileWriter) *int {
	return fieldAt[int](fw, l.colIdxOff)
}
