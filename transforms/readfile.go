package transforms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// OpenDecompressed opens f and returns a reader of its decompressed content
// (format detected by magic bytes), the detected format, and a closer.
func OpenDecompressed(ctx context.Context, fsys lakefs.FS, f InputFile, lzop decompress.LzopOpener) (io.Reader, decompress.Kind, io.Closer, error) {
	faults.Hit(ctx, "read.file")
	rc, err := fsys.Open(ctx, f.Path)
	if err != nil {
		return nil, "", nil, err
	}
	r, kind, err := decompress.NewReaderSize(rc, f.Path, lzop, f.Size)
	if err != nil {
		rc.Close()
		return nil, "", nil, err
	}
	return r, kind, rc, nil
}

// ReadLines is the whole read step for a line-oriented input file: open,
// decompress by content, parse in parallel with dead letters, and check that
// every line was either turned into a row or rejected. It returns the file's
// counters; an I/O or decompression error fails with the file named.
func ReadLines(ctx context.Context, fsys lakefs.FS, f InputFile, rejects hiveparquet.Table, opts lineparse.Options,
	lzop decompress.LzopOpener, newParser func() lineparse.Parser, emit func(hiveparquet.Batch)) (FileStats, error) {
	r, kind, closer, err := OpenDecompressed(ctx, fsys, f, lzop)
	if err != nil {
		return FileStats{}, err
	}
	defer closer.Close()
	counts, err := lineparse.Parse(ctx, r, f.Origin(), rejects, 0, opts, newParser, emit)
	if err != nil {
		// Not wrapped again: the reader's errors name the file (os, S3,
		// decompress), and a cancelled read is not the file's fault.
		return FileStats{}, err
	}
	st := StatsFrom(f, kind, counts)
	if err := st.Check(); err != nil {
		return FileStats{}, err
	}
	return st, nil
}

// StatsFrom builds the FileStats of f from lineparse.Parse's counters.
func StatsFrom(f InputFile, kind decompress.Kind, c lineparse.Stats) FileStats {
	return FileStats{
		Rel: f.Rel, Unit: f.Unit, Partition: f.Partition, Source: f.Source, Compression: string(kind),
		Bytes: f.Size, DecompressedBytes: c.Bytes, Counts: c.Counts,
	}
}

// Check verifies the file's counters (see lineparse.Counts.Check).
func (s FileStats) Check() error {
	if err := s.Counts.Check(); err != nil {
		return fmt.Errorf("counters of %s %w", s.Rel, err)
	}
	return nil
}

// UnreadableError is the error of an input file whose content cannot be
// read to its end: it does not decompress or decode (a truncated or corrupt
// gzip, lzop or tar; see decompress.IsFormatError). Reading it again fails
// the same way until the vendor delivers it anew, so it does not fail the
// run: the read step counts the file as unreadable (FileStats.Unreadable)
// and the commit holds back its unit. Errors of the store (network,
// permissions, a missing object) are not UnreadableErrors: they fail the run.
type UnreadableError struct {
	// Path is the file's path or URI.
	Path string
	// Err is the format error.
	Err error
}

func (e *UnreadableError) Error() string {
	// The decompressor's error names the file already.
	var fe *decompress.FormatError
	if errors.As(e.Err, &fe) {
		return collapseRepeats(fe.Error())
	}
	if strings.Contains(e.Err.Error(), e.Path) {
		return collapseRepeats(e.Err.Error())
	}
	return collapseRepeats(fmt.Sprintf("read %s: %v", e.Path, e.Err))
}

// collapseRepeats drops from an error message each ": "-separated part that
// repeats the one before it ("read f: read f: lzop: lzop: bad" becomes
// "read f: lzop: bad"): the layers of a read each name the file or format.
func collapseRepeats(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Unreadable returns err as an *UnreadableError of f when it is one, or
// when it is a format error (decompress.IsFormatError), and nil otherwise.
func Unreadable(f InputFile, err error) *UnreadableError {
	var ue *UnreadableError
	if errors.As(err, &ue) {
		return ue
	}
	if decompress.IsFormatError(err) {
		return &UnreadableError{Path: f.Path, Err: err}
	}
	return nil
}

// UnreadableStats are the counters of input f that could not be read
// (err): its identity and stored size, no record, and Unreadable.
func UnreadableStats(f InputFile, err *UnreadableError) FileStats {
	return FileStats{Rel: f.Rel, Unit: f.Unit, Partition: f.Partition, Source: f.Source, Bytes: f.Size, Unreadable: err.Error()}
}
