package transforms

import (
	"context"
	"fmt"
	"io"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
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
func ReadLines(ctx context.Context, fsys lakefs.FS, f InputFile, rejectsTable string, opts LineOptions,
	lzop decompress.LzopOpener, newParser func() LineParser, emit func(hiveparquet.Batch)) (FileStats, error) {
	r, kind, closer, err := OpenDecompressed(ctx, fsys, f, lzop)
	if err != nil {
		return FileStats{}, err
	}
	defer closer.Close()
	counts, err := ParseLines(ctx, r, f, rejectsTable, 0, opts, newParser, emit)
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

// StatsFrom builds the FileStats of f from ParseLines' counters.
func StatsFrom(f InputFile, kind decompress.Kind, c LineCounts) FileStats {
	return FileStats{
		Rel: f.Rel, Unit: f.Unit, Partition: f.Partition, Compression: string(kind),
		Bytes: f.Size, DecompressedBytes: c.Bytes,
		RecordsIn: c.Lines - c.Blank, RecordsOut: c.Out, Rejected: c.Rejected, BlankLines: c.Blank,
		Rows: c.Rows, RejectsByReason: c.RejectsByReason,
		EventsIn: c.EventsIn, EventsOut: c.EventsOut, EventsRejected: c.EventsRejected,
		Warnings: c.Warnings,
	}
}

// Check verifies records_in = records_out + rejected (blank lines are not
// records: lines read = records_in + blank_lines), events_in = events_out +
// events_rejected, and that the rejects by reason add up to rejected +
// events_rejected.
func (s FileStats) Check() error {
	if s.BlankLines < 0 || s.RecordsIn < 0 {
		return fmt.Errorf("counters of %s do not add up: %d records in, %d blank lines", s.Rel, s.RecordsIn, s.BlankLines)
	}
	if s.RecordsIn != s.RecordsOut+s.Rejected {
		return fmt.Errorf("counters of %s do not add up: %d records in, %d out, %d rejected", s.Rel, s.RecordsIn, s.RecordsOut, s.Rejected)
	}
	if s.EventsIn != s.EventsOut+s.EventsRejected {
		return fmt.Errorf("counters of %s do not add up: %d events in, %d out, %d rejected", s.Rel, s.EventsIn, s.EventsOut, s.EventsRejected)
	}
	var byReason int64
	for _, c := range s.RejectsByReason {
		byReason += c.N
	}
	if byReason != s.Rejected+s.EventsRejected {
		return fmt.Errorf("counters of %s do not add up: %d rejected (%d records, %d events) but %d by reason", s.Rel, s.Rejected+s.EventsRejected, s.Rejected, s.EventsRejected, byReason)
	}
	return nil
}
