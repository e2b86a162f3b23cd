package transforms

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
)

func init() {
	beam.RegisterFunction(batchTable)
	beam.RegisterFunction(statsRel)
	RegisterReader("test-lines", func(_ context.Context, config []byte, _ lakefs.Options) (FileReader, error) {
		var cfg struct{ Table string }
		if err := json.Unmarshal(config, &cfg); err != nil {
			return nil, err
		}
		// Reads the file whole and emits one row per line into cfg.Table.
		return FileReaderFunc(func(ctx context.Context, in lakefs.FS, f InputFile, _ LineOptions, emit func(hiveparquet.Batch)) (FileStats, error) {
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
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "line", Type: arrow.BinaryTypes.String}}, nil))
			defer rb.Release()
			for _, l := range lines {
				rb.Field(0).(*array.StringBuilder).Append(l)
			}
			emit(hiveparquet.Batch{Table: cfg.Table, Partition: f.Partition, Record: rb.NewRecord()})
			return FileStats{Rel: f.Rel, RecordsIn: int64(len(lines)), RecordsOut: int64(len(lines))}, nil
		}), nil
	})
}

func batchTable(b hiveparquet.Batch) string { return b.Table + "/" + b.Partition }
func statsRel(s FileStats) string           { return s.Rel }

// TestReadRunsTheRegisteredReader runs the generic read DoFn with a reader
// registered by name: its configuration reaches the reader on the worker,
// and every file yields its batches and one FileStats.
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
	batches, stats := Read(s, "test-lines", struct{ Table string }{"lines_table"}, beam.CreateList(s, files), dir, lakefs.Options{}, LineOptions{})
	passert.Equals(s, beam.ParDo(s, batchTable, batches), "lines_table/p=a", "lines_table/p=b")
	passert.Equals(s, beam.ParDo(s, statsRel, stats), "a.txt", "b.txt")
	beam.Init()
	if _, err := beam.Run(context.Background(), "direct", p); err != nil {
		t.Fatal(err)
	}
}

// TestReadRefusesAnUnknownReader: a pipeline naming a reader that no
// package registered fails when its graph is built, not on a worker.
func TestReadRefusesAnUnknownReader(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"nobody"`) {
			t.Errorf("recovered %v, want a panic naming the reader", r)
		}
	}()
	_, s := beam.NewPipelineWithRoot()
	Read(s, "nobody", nil, beam.CreateList(s, []InputFile{{Path: "x"}}), "/in", lakefs.Options{}, LineOptions{})
}

// TestReadFnSetupFailsWithoutItsReader: a worker that lacks the reader (a
// binary without the vendor's package) fails the bundle with the name.
func TestReadFnSetupFailsWithoutItsReader(t *testing.T) {
	fn := &readFn{Reader: "missing", Config: "null", Input: t.TempDir()}
	if err := fn.Setup(context.Background()); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("Setup: %v, want an error naming the reader", err)
	}
}
