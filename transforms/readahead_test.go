package transforms

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// aheadBatch is a one-row batch naming its file.
func aheadBatch(mem memory.Allocator, rel string) hiveparquet.Batch {
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.BinaryTypes.String}}, nil))
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(rel)
	return hiveparquet.Batch{Table: "t", Record: b.NewRecord()}
}

// TestAheadDeliversInInputOrder reads small files whose reads end in the
// reverse order, and a large one among them: everything is delivered in
// input order, each file's batches before its counters, and the large file
// is read after the small ones before it are delivered.
func TestAheadDeliversInInputOrder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: Ahead reads in place")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	files := []InputFile{
		{Rel: "a", Size: 10}, {Rel: "b", Size: 10}, {Rel: "big", Size: AheadMaxBytes + 1},
		{Rel: "c", Size: 10}, {Rel: "d", Size: 10}, {Rel: "e", Size: 10},
	}
	delivered := 0 // files delivered so far, as the reads see it
	var log []string
	read := func(_ context.Context, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
		if f.Rel == "big" {
			if delivered != 2 || lines.Ungated {
				t.Errorf("big read with %d files delivered before it, ungated %v", delivered, lines.Ungated)
			}
		} else if !lines.Ungated || lines.ChunkBytes != aheadChunkBytes {
			t.Errorf("%s read ahead in a parse slot (ungated %v) or in chunks of %d bytes", f.Rel, lines.Ungated, lines.ChunkBytes)
		}
		// The first files of a run of small ones end last.
		time.Sleep(time.Duration(6-len(f.Rel)-strings.Index("abcde", f.Rel)) * 3 * time.Millisecond)
		emit(aheadBatch(mem, f.Rel+"1"))
		emit(aheadBatch(mem, f.Rel+"2"))
		return FileStats{Rel: f.Rel}, nil
	}
	emit := func(b hiveparquet.Batch) {
		log = append(log, b.Record.Column(0).(*array.String).Value(0))
		b.Record.Release()
	}
	finish := func(f InputFile, st FileStats, err error) error {
		if err != nil || st.Rel != f.Rel {
			t.Errorf("%s: counters of %q, error %v", f.Rel, st.Rel, err)
		}
		log = append(log, "stats "+f.Rel)
		delivered++
		return nil
	}
	var a Ahead
	for _, f := range files {
		if err := a.Read(context.Background(), f, lineparse.Options{}, read, emit, finish); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(emit, finish); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, f.Rel+"1", f.Rel+"2", "stats "+f.Rel)
	}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Errorf("delivered\n%v\nwant\n%v", log, want)
	}
}

// TestAheadReadsAtOnce checks that small files are read at the same time:
// the first read waits for the second to start.
func TestAheadReadsAtOnce(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: Ahead reads in place")
	}
	second := make(chan struct{})
	read := func(_ context.Context, f InputFile, _ lineparse.Options, _ func(hiveparquet.Batch)) (FileStats, error) {
		if f.Rel == "b" {
			close(second)
			return FileStats{}, nil
		}
		select {
		case <-second:
			return FileStats{}, nil
		case <-time.After(10 * time.Second):
			return FileStats{}, errors.New("the second file was not read while the first was")
		}
	}
	var a Ahead
	finish := func(_ InputFile, _ FileStats, err error) error { return err }
	for _, rel := range []string{"a", "b"} {
		if err := a.Read(context.Background(), InputFile{Rel: rel, Size: 1}, lineparse.Options{}, read, nil, finish); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(nil, finish); err != nil {
		t.Fatal(err)
	}
}

// TestAheadStopsAtAnError: a read's error fails the Read or Flush that
// delivers it; nothing read after it is delivered, and its batches are
// released.
func TestAheadStopsAtAnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	boom := errors.New("boom")
	read := func(_ context.Context, f InputFile, _ lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
		emit(aheadBatch(mem, f.Rel))
		if f.Rel == "b" {
			return FileStats{}, boom
		}
		return FileStats{Rel: f.Rel}, nil
	}
	var got []string
	emit := func(b hiveparquet.Batch) {
		got = append(got, b.Record.Column(0).(*array.String).Value(0))
		b.Record.Release()
	}
	finish := func(_ InputFile, _ FileStats, err error) error { return err }
	var a Ahead
	var err error
	for _, rel := range []string{"a", "b", "c", "d"} {
		if err = a.Read(context.Background(), InputFile{Rel: rel, Size: 1}, lineparse.Options{}, read, emit, finish); err != nil {
			break
		}
	}
	if err == nil {
		err = a.Flush(emit, finish)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if fmt.Sprint(got) != "[a b]" {
		t.Errorf("delivered %v, want [a b]", got)
	}
}
