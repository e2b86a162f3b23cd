package id5

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// rangeReader serves a stored file as the io.ReaderAt + io.Seeker that the
// Parquet reader needs, with one ranged read per ReadAt (the reader asks
// for the footer, then for whole column chunks), so it works the same on
// local disk and object stores.
type rangeReader struct {
	ctx  context.Context
	fs   lakefs.FS
	path string
	size int64
	off  int64
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if off+n > r.size {
		n = r.size - off
	}
	rc, err := r.fs.OpenRange(r.ctx, r.path, off, n)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err == nil && n < int64(len(p)) {
		err = io.EOF
	}
	return got, err
}

func (r *rangeReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	return n, err
}

func (r *rangeReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative offset")
	}
	r.off = offset
	return offset, nil
}

// readParquet streams the record batches of one Parquet file of size bytes
// to fn (which must not keep a record past its return).
func readParquet(ctx context.Context, fsys lakefs.FS, path string, size int64, fn func(arrow.Record) error) error {
	pf, err := file.NewParquetReader(&rangeReader{ctx: ctx, fs: fsys, path: path, size: size})
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	return nil
}

// colIndex returns the index of the named column of rec, or an error.
func colIndex(rec arrow.Record, path, name string) (int, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return 0, fmt.Errorf("read parquet %s: no column %q", path, name)
	}
	return idx[0], nil
}
