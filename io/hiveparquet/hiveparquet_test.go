package hiveparquet

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

func TestPartitionPath(t *testing.T) {
	tests := []struct {
		keys   []string
		values []string
		want   string
	}{
		{[]string{"export_id", "date"}, []string{"exp-web", "2024-03-01"}, "export_id=exp-web/date=2024-03-01"},
		{[]string{"k"}, []string{"a/b=c:d%"}, "k=a%2Fb%3Dc%3Ad%25"},
		{[]string{"k"}, []string{""}, "k=" + DefaultPartitionValue},
		{[]string{"k"}, []string{"../x"}, "k=..%2Fx"},
	}
	for _, tt := range tests {
		got, err := PartitionPath(tt.keys, tt.values...)
		if err != nil || got != tt.want {
			t.Errorf("PartitionPath(%v) = %q, %v; want %q", tt.values, got, err, tt.want)
			continue
		}
		keys, values, err := ParsePartitionPath(got)
		if err != nil || strings.Join(keys, ",") != strings.Join(tt.keys, ",") || (tt.values[0] != "" && strings.Join(values, ",") != strings.Join(tt.values, ",")) {
			t.Errorf("ParsePartitionPath(%q) = %v %v %v", got, keys, values, err)
		}
	}
	if _, err := PartitionPath([]string{"a"}); err == nil {
		t.Error("PartitionPath with too few values: no error")
	}
}

func TestBatchCoderRoundTrip(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	in := Batch{Table: "t", Partition: "k=v", Source: "s/f.csv", Record: b.NewRecord()}
	data, err := encodeBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.Table != "t" || out.Partition != "k=v" || out.Source != "s/f.csv" || !array.RecordEqual(in.Record, out.Record) {
		t.Fatalf("round trip: %+v", out)
	}
	if _, err := decodeBatch(data[:5]); err == nil {
		t.Error("decoding a truncated batch: no error")
	}
}

// touch creates files (with content) below root.
func touch(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, r := range rels {
		p := filepath.Join(root, r)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestCommitOverwriteAndIdempotentAppend(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	tables := []TableSpec{{Name: "ow", Mode: Overwrite}, {Name: "ia", Mode: IdempotentAppend}, {Name: "all", Mode: Overwrite}}
	// Earlier runs' files.
	touch(t, out,
		"ow/p=1/part-old-00001.parquet", "ow/p=1/notes.txt", // notes.txt is not ours: kept
		"ow/p=2/part-old-00001.parquet", // p=2 not claimed: kept
		"ow/p=3/part-old-00001.parquet", // p=3 claimed without new files: emptied
		"ia/d=1/"+FinalName(IdempotentAppend, "old", "a.csv", 1),
		"ia/d=1/"+FinalName(IdempotentAppend, "old", "b.csv", 1),
		"all/k=x/part-old-00001.parquet",
	)
	tmp := lakestate.TempDir(out, "p", "r2")
	touch(t, tmp, "ow/p=1/b-1.parquet", "ow/p=1/b-2.parquet", "ia/d=1/b-1.parquet", "all/k=y/b-1.parquet")
	files := []FileDesc{
		{Table: "ow", Partition: "p=1", TempPath: filepath.Join(tmp, "ow/p=1/b-2.parquet"), Rows: 2},
		{Table: "ow", Partition: "p=1", TempPath: filepath.Join(tmp, "ow/p=1/b-1.parquet"), Rows: 1},
		{Table: "ia", Partition: "d=1", Source: "a.csv", TempPath: filepath.Join(tmp, "ia/d=1/b-1.parquet"), Rows: 5},
		{Table: "all", Partition: "k=y", TempPath: filepath.Join(tmp, "all/k=y/b-1.parquet")},
	}
	claims := []Claim{{Table: "ow", Partition: "p=3"}, {Table: "all", Partition: AllPartitions}}
	log, err := Plan(ctx, fsys, out, "r2", tables, files, claims)
	if err != nil {
		t.Fatal(err)
	}
	log.Pipeline = "p"
	if err := lakestate.Apply(ctx, fsys, log); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"all/_SUCCESS",
		"all/k=y/part-r2-00001.parquet",
		"ia/_SUCCESS",
		"ia/d=1/" + FinalName(IdempotentAppend, "old", "b.csv", 1), // other source: kept
		"ia/d=1/" + FinalName(IdempotentAppend, "r2", "a.csv", 1),  // a.csv replaced
		"ow/_SUCCESS",
		"ow/p=1/notes.txt",
		"ow/p=1/part-r2-00001.parquet",
		"ow/p=1/part-r2-00002.parquet",
		"ow/p=2/part-old-00001.parquet",
	}
	sort.Strings(want)
	if got := listTree(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lake after commit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Deterministic names: b-1 sorts before b-2.
	if data, _ := os.ReadFile(filepath.Join(out, "ow/p=1/part-r2-00001.parquet")); !strings.HasSuffix(string(data), "b-1.parquet") {
		t.Errorf("final names are not in temp-path order: %s", data)
	}
	// Applying the same log again (a retried commit) is harmless.
	log.Pipeline = "p"
	if err := lakestate.Apply(ctx, fsys, log); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if got := listTree(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lake changed on a second apply:\n%s", strings.Join(got, "\n"))
	}
}

func TestRecoverFinishesAnInterruptedCommit(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	touch(t, out, "t/p=1/part-old-00001.parquet")
	tmp := lakestate.TempDir(out, "p", "r3")
	touch(t, tmp, "t/p=1/b-1.parquet", "t/p=1/b-2.parquet")
	log, err := Plan(ctx, fsys, out, "r3", []TableSpec{{Name: "t", Mode: Overwrite}},
		[]FileDesc{{Table: "t", Partition: "p=1", TempPath: filepath.Join(tmp, "t/p=1/b-1.parquet")}, {Table: "t", Partition: "p=1", TempPath: filepath.Join(tmp, "t/p=1/b-2.parquet")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a crash after the log was recorded and one file was moved.
	log.Writes = []lakestate.SideWrite{{Path: lakestate.LedgerPath(out, "p", "x"), Data: []byte(`{}`)}}
	log.Pipeline = "p"
	data := mustJSON(t, log)
	touch(t, out)
	if err := lakefs.WriteFile(ctx, fsys, lakestate.CommitLogPath(out, "p", "r3"), data); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(ctx, log.Moves[0].From, log.Moves[0].To); err != nil {
		t.Fatal(err)
	}
	done, err := lakestate.Recover(ctx, fsys, out, "p")
	if err != nil || len(done) != 1 || done[0] != "r3" {
		t.Fatalf("Recover = %v, %v", done, err)
	}
	want := []string{inLake(lakestate.LedgerPath(inLakeRoot, "p", "x")), "t/_SUCCESS", "t/p=1/part-r3-00001.parquet", "t/p=1/part-r3-00002.parquet"}
	if got := listTree(t, out); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after recovery: %v, want %v", got, want)
	}
	if done, err := lakestate.Recover(ctx, fsys, out, "p"); err != nil || len(done) != 0 {
		t.Fatalf("second Recover = %v, %v", done, err)
	}
}

func TestCommitRefusesMissingFiles(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fsys := lakefs.Local{}
	touch(t, out, "t/p=1/part-old-00001.parquet")
	log, err := Plan(ctx, fsys, out, "r4", []TableSpec{{Name: "t", Mode: Overwrite}},
		[]FileDesc{{Table: "t", Partition: "p=1", TempPath: filepath.Join(out, "missing.parquet")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Pipeline = "p"
	if err := lakestate.Apply(ctx, fsys, log); err == nil {
		t.Fatal("Apply with a missing temp file: no error")
	}
	// The old data was not removed, since moves come before deletes.
	if got := listTree(t, out); !strings.Contains(strings.Join(got, ","), "t/p=1/part-old-00001.parquet") {
		t.Fatalf("old data removed: %v", got)
	}
}

// inLakeRoot is an output root for paths made relative by inLake.
const inLakeRoot = "/lake"

// inLake returns p, a path below inLakeRoot, relative to it.
func inLake(p string) string {
	rel, _ := lakefs.Rel(inLakeRoot, p)
	return rel
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
