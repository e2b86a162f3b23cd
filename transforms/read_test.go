package transforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/reflectx"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lzop"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

func init() {
	beam.RegisterFunction(batchTable)
	beam.RegisterFunction(statsRel)
	beam.RegisterFunction(newLinesReader)
}

// newLinesReader is the test's reader: it reads a file whole and emits one
// row per line into the table its configuration names.
func newLinesReader(_ context.Context, config []byte, _ lakefs.Options) (FileReader, error) {
	var cfg struct{ Table string }
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, err
	}
	// Reads the file whole and emits one row per line into cfg.Table.
	return FileReaderFunc(func(ctx context.Context, in lakefs.FS, f InputFile, _ lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
		rc, err := in.Open(ctx, f.Path)
		if err != nil {
			return FileStats{}, err
		}
		defer rc.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := rc.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		text := strings.Split(strings.TrimSpace(b.String()), "\n")
		rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "line", Type: arrow.BinaryTypes.String}}, nil))
		defer rb.Release()
		for _, l := range text {
			rb.Field(0).(*array.StringBuilder).Append(l)
		}
		emit(hiveparquet.Batch{Table: cfg.Table, Partition: f.Partition, Record: rb.NewRecord()})
		return FileStats{Rel: f.Rel, Counts: lineparse.Counts{RecordsIn: int64(len(text)), RecordsOut: int64(len(text))}}, nil
	}), nil
}

func batchTable(b hiveparquet.Batch) string { return b.Table + "/" + b.Partition }
func statsRel(s FileStats) string           { return s.Rel }

// TestReadRunsTheRegisteredReader runs the generic read DoFn with a
// reader: its configuration reaches the reader on the worker, and every
// file yields its batches and one FileStats.
func TestReadRunsTheRegisteredReader(t *testing.T) {
	dir := t.TempDir()
	var files []InputFile
	for _, name := range []string{"a.txt", "b.txt"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x\ny\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, InputFile{Path: p, Rel: name, Size: 4, Partition: "p=" + name[:1]})
	}
	p, s := beam.NewPipelineWithRoot()
	batches, stats := Read(s, newLinesReader, struct{ Table string }{"lines_table"}, beam.CreateList(s, files), dir, lakefs.Options{}, lineparse.Options{})
	passert.Equals(s, beam.ParDo(s, batchTable, batches), "lines_table/p=a", "lines_table/p=b")
	passert.Equals(s, beam.ParDo(s, statsRel, stats), "a.txt", "b.txt")
	beam.Init()
	if _, err := beam.Run(context.Background(), "direct", p); err != nil {
		t.Fatal(err)
	}
}

// TestReadRefusesAFunctionLiteral: a reader that workers could not find
// by name fails when the graph is built, not on a worker.
func TestReadRefusesAFunctionLiteral(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "function literal") {
			t.Errorf("recovered %q, want a panic saying the reader is a function literal", r)
		}
	}()
	_, s := beam.NewPipelineWithRoot()
	Read(s, func(context.Context, []byte, lakefs.Options) (FileReader, error) { return nil, nil },
		nil, beam.CreateList(s, []InputFile{{Path: "x"}}), "/in", lakefs.Options{}, lineparse.Options{})
}

// TestReadFnTravelsByName: the read DoFn, serialised as a portable runner
// sends it to a worker, finds its reader there by name and builds it from
// its configuration.
func TestReadFnTravelsByName(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("x\ny\n"), 0o644)
	Read(s, newLinesReader, struct{ Table string }{"t"}, beam.CreateList(s, []InputFile{{Path: "x"}}), dir, lakefs.Options{}, lineparse.Options{})
	sent, err := json.Marshal(&readFn{Reader: reflectx.FunctionName(newLinesReader), Config: `{"Table":"t"}`, Input: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got readFn
	if err := json.Unmarshal(sent, &got); err != nil {
		t.Fatalf("%s: %v", sent, err)
	}
	if err := got.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	var batches []hiveparquet.Batch
	if err := got.ProcessElement(context.Background(), InputFile{Path: filepath.Join(dir, "a.txt"), Rel: "a.txt"}, func(b hiveparquet.Batch) { batches = append(batches, b) }, func(FileStats) {}); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || batches[0].Table != "t" || batches[0].Record.NumRows() != 2 {
		t.Fatalf("batches %v, want one of 2 rows in table t", batches)
	}
	batches[0].Record.Release()
}

// TestReadFnSetupFailsWithoutItsReader: a worker that lacks the reader (a
// binary without the vendor's package) fails the bundle with its name.
func TestReadFnSetupFailsWithoutItsReader(t *testing.T) {
	fn := &readFn{Reader: "example.com/gone.newReader", Config: "null", Input: t.TempDir()}
	if err := fn.Setup(context.Background()); err == nil || !strings.Contains(err.Error(), "example.com/gone.newReader") {
		t.Errorf("Setup: %v, want an error naming the reader", err)
	}
}

func TestIsFuncLiteral(t *testing.T) {
	for name, want := range map[string]bool{
		"github.com/vendorlake/vendorlake/pipelines/id5.newReader":       false,
		"github.com/vendorlake/vendorlake/pipelines/didomi.init.func1":   true,
		"github.com/vendorlake/vendorlake/transforms.TestX.func2.1":      true,
		"github.com/vendorlake/vendorlake/pipelines/functions.newReader": false,
		"github.com/vendorlake/vendorlake/pipelines/x.funcReader":        false,
	} {
		if got := isFuncLiteral(name); got != want {
			t.Errorf("isFuncLiteral(%q) = %v, want %v", name, got, want)
		}
	}
}

// An UnreadableError says each layer of its cause once.
func TestUnreadableErrorMessage(t *testing.T) {
	tests := []struct {
		path string
		err  error
		want string
	}{
		{"/in/a.lzo", fmt.Errorf("read /in/a.lzo: read /in/a.lzo: lzop: %w", lzop.ErrChecksum), "read /in/a.lzo: lzop: checksum mismatch"},
		{"/in/a.gz", fmt.Errorf("read /in/a.gz: %w", &decompress.FormatError{Name: "/in/a.gz", Kind: decompress.Gzip, Err: io.ErrUnexpectedEOF}),
			"read /in/a.gz: gzip stream is truncated: unexpected EOF"},
		{"p.tar.gz", fmt.Errorf("archive p.tar.gz: part p.tar.gz.01: %w", io.ErrUnexpectedEOF), "archive p.tar.gz: part p.tar.gz.01: unexpected EOF"},
	}
	for _, tt := range tests {
		ue := Unreadable(InputFile{Path: tt.path}, tt.err)
		if ue == nil {
			t.Errorf("Unreadable(%v) = nil", tt.err)
			continue
		}
		if got := ue.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// brokenStore is a local store whose files break after cut bytes with err:
// a connection reset in the middle of a download.
type brokenStore struct {
	lakefs.Local
	cut int
	err error
}

func (s brokenStore) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(data[:s.cut]), iotest.ErrReader(s.err))), nil
}

// The read step emits the counters of an unreadable file when its content
// does not decompress, and fails the run on an error of the store, even
// one that a decompressor sees as an early end of its stream.
func TestReadFnUnreadableInputOrStoreError(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(zw, "line %d\n", i)
	}
	zw.Close()
	full := zb.Bytes()
	good, cut := filepath.Join(dir, "good.gz"), filepath.Join(dir, "cut.gz")
	os.WriteFile(good, full, 0o644)
	os.WriteFile(cut, full[:len(full)/2], 0o644)
	tests := []struct {
		name           string
		fsys           lakefs.FS
		path           string
		wantUnreadable bool
		wantErr        string
	}{
		{"truncated gzip", lakefs.Local{}, cut, true, ""},
		{"connection reset", brokenStore{cut: len(full) / 2, err: errors.New("connection reset by peer")}, good, false, "connection reset by peer"},
		{"store cut short", brokenStore{cut: len(full) / 2, err: io.ErrUnexpectedEOF}, good, false, "unexpected EOF"},
		{"whole file", lakefs.Local{}, good, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := InputFile{Path: tt.path, Rel: filepath.Base(tt.path), Unit: "u", Partition: "p=1", Size: int64(len(full))}
			fn := &readFn{fs: tt.fsys, r: FileReaderFunc(func(ctx context.Context, in lakefs.FS, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
				return ReadLines(ctx, in, f, lineparse.RejectTable("echo_rejects", nil), lines, nil, newEcho, emit)
			})}
			var stats []FileStats
			err := fn.ProcessElement(context.Background(), f, func(b hiveparquet.Batch) { b.Record.Release() }, func(st FileStats) { stats = append(stats, st) })
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(stats) != 0 {
					t.Fatalf("err %v, stats %+v: want the run to fail with %q", err, stats, tt.wantErr)
				}
			case err != nil || len(stats) != 1:
				t.Fatalf("err %v, %d stats", err, len(stats))
			case tt.wantUnreadable:
				if st := stats[0]; !strings.Contains(st.Unreadable, "gzip stream is truncated") || st.RecordsOut != 0 || st.Unit != "u" || st.Bytes == 0 {
					t.Errorf("stats %+v", st)
				}
			default:
				if st := stats[0]; st.Unreadable != "" || st.RecordsOut != 20000 {
					t.Errorf("stats %+v", st)
				}
			}
		})
	}
}
