package main

// The lake's strings are valid UTF-8: Parquet's STRING annotation promises
// it, and Athena, Spark and DuckDB fail a whole query on a single bad value.
// assertLakeUTF8 checks every string value of every Parquet file of a lake,
// nested ones included, with the project's reader (Arrow's pqarrow); the
// end-to-end tests of every vendor call it after their runs.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// assertLakeUTF8 fails t when any string in any Parquet file under lake
// (or any file or folder name, partition values included) is not valid
// UTF-8, and when the lake holds no Parquet file at all.
func assertLakeUTF8(t *testing.T, lake string) {
	t.Helper()
	files, problems, err := lakeUTF8Problems(lake)
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("UTF-8 check: no Parquet file under %s", lake)
	}
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more invalid UTF-8 values", len(problems)-20)
			break
		}
		t.Errorf("invalid UTF-8: %s", p)
	}
}

// lakeUTF8Problems reads every Parquet file under lake and returns how many
// it read and where it found invalid UTF-8 (file, column path, row).
func lakeUTF8Problems(lake string) (int, []string, error) {
	var problems []string
	files := 0
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lake, p)
		if !utf8.ValidString(rel) {
			problems = append(problems, fmt.Sprintf("path %q", rel))
		}
		if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		files++
		ps, err := parquetUTF8Problems(p)
		for _, s := range ps {
			problems = append(problems, rel+": "+s)
		}
		return err
	})
	return files, problems, err
}

// parquetUTF8Problems checks the string values of one Parquet file.
func parquetUTF8Problems(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer rr.Release()
	var problems []string
	var base int64
	for rr.Next() {
		rec := rr.Record()
		for i, col := range rec.Columns() {
			utf8Problems(col, rec.Schema().Field(i).Name, base, &problems)
		}
		base += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return problems, fmt.Errorf("read parquet %s: %w", path, err)
	}
	return problems, nil
}

// utf8Problems walks arr (strings, and strings inside lists, structs, maps
// and dictionaries) and appends "column[row]: value" for every invalid
// string. Binary columns are bytes, not text, and are not checked.
func utf8Problems(arr arrow.Array, name string, base int64, out *[]string) {
	at := func(i int) string { return fmt.Sprintf("%s[%d]", name, base+int64(i)) }
	switch a := arr.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				*out = append(*out, fmt.Sprintf("%s: %q", at(i), a.Value(i)))
			}
		}
	case *array.LargeString:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				*out = append(*out, fmt.Sprintf("%s: %q", at(i), a.Value(i)))
			}
		}
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		for f := 0; f < a.NumField(); f++ {
			utf8Problems(a.Field(f), name+"."+st.Field(f).Name, base, out)
		}
	case *array.Map:
		utf8Problems(a.Keys(), name+".key", 0, out)
		utf8Problems(a.Items(), name+".value", 0, out)
	case array.ListLike: // List, LargeList, FixedSizeList (Map is handled above)
		utf8Problems(a.ListValues(), name+"[]", 0, out)
	case *array.Dictionary:
		utf8Problems(a.Dictionary(), name+".dictionary", 0, out)
	}
}

// TestLakeUTF8CheckFindsInvalidStrings proves the check can fail: invalid
// UTF-8 planted at the top level and inside a list of structs and a map is
// found, valid strings are not reported.
func TestLakeUTF8CheckFindsInvalidStrings(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "l", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "id", Type: arrow.BinaryTypes.String}))},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
		{Name: "b", Type: arrow.BinaryTypes.Binary},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	s, l, m, bin := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.ListBuilder), b.Field(2).(*array.MapBuilder), b.Field(3).(*array.BinaryBuilder)
	ls := l.ValueBuilder().(*array.StructBuilder)
	mk, mv := m.KeyBuilder().(*array.StringBuilder), m.ItemBuilder().(*array.StringBuilder)
	for i, v := range []string{"ok é", "bad \xff", "ok"} {
		s.Append(v)
		l.Append(true)
		ls.Append(true)
		ls.FieldBuilder(0).(*array.StringBuilder).Append(map[int]string{2: "x\xc3"}[i] + "id")
		m.Append(true)
		mk.Append("k")
		mv.Append(map[int]string{0: "\xed\xa0\x80"}[i] + "v") // an encoded surrogate is invalid too
		bin.Append([]byte{0xff})                              // bytes, not text
	}
	rec := b.NewRecord()
	defer rec.Release()
	lake := t.TempDir()
	dir := filepath.Join(lake, "t", "p=1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "part-0.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, problems, err := lakeUTF8Problems(lake)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	if files != 1 || len(problems) != 3 || !strings.Contains(got, "s[1]") || !strings.Contains(got, "l[].id[2]") || !strings.Contains(got, "m.value[0]") {
		t.Errorf("%d files, problems:\n%s\nwant s[1], l[].id[2] and m.value[0]", files, got)
	}
}

// TestDidomiInvalidUTF8InputWritesValidTables feeds Didomi lines with
// invalid UTF-8 in every kind of string (ids, nested consents, metadata,
// an unmodelled field kept in extra, an event): whatever the pipeline makes
// of them (rows or rejects), the tables it writes hold only valid UTF-8 and
// DuckDB reads every column of them.
func TestDidomiInvalidUTF8InputWritesValidTables(t *testing.T) {
	requireDuckDB(t)
	in, lake := t.TempDir(), t.TempDir()
	part := filepath.Join(in, "export-id=exp-utf8", "date=2024-03-01")
	user := func(id, inner string, events ...string) string {
		ev := ""
		if len(events) > 0 {
			ev = `,"events":[` + strings.Join(events, ",") + `]`
		}
		return `{"user":{"id":"` + id + `","organization_id":"acme","version":1,"created_at":"2024-02-29T10:23:27.175Z","updated_at":"2024-02-29T10:23:27.175Z"` + inner + `}` + ev + `}`
	}
	event := func(id, inner string) string {
		return `{"id":"` + id + `","organization_id":"acme","created_at":"2024-02-29T10:23:27.175Z","updated_at":"2024-02-29T10:23:27.175Z","status":"confirmed"` + inner + `}`
	}
	lines := []string{
		user("u-ok", `,"country":"FR"`, event("e-ok", `,"metadata":{"k":"é"}`)),
		user("u-\xff", ``),
		user("u-2", `,"organization_user_id":"jan\xc3@example.net"`),
		user("u-3", `,"metadata":{"k\xfe":"v","tags":["a\xff"]}`),
		user("u-4", `,"new_vendor_field":"x\xed\xa0\x80y"`),
		user("u-5", `,"consents":{"purposes":[{"id":"p\xff","enabled":true,"values":{"pref\xff":{"value":"v\xff"}}}],"vendors":{"enabled":["v\xff"]}}`),
		user("u-6", ``, event("e-\xff", `,"user":{"id":"u-6","country":"F\xff"}`), event("e-6b", ``)),
		user("u-7", ``, event("e-7", `,"proofs_id":["x\xff"],"delegate":{"id":"d","name":"n\xff"}`)),
		"\xff\xfe",
		"",
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	if err := os.MkdirAll(filepath.Join(part, "users"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(part, "users", "part-00000-c000.json.gz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(part, "_SUCCESS"), nil, 0o644)

	code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake, "--max-reject-ratio=1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	assertLakeUTF8(t, lake)
	for _, table := range []string{"didomi_users", "didomi_events", "didomi_rejects"} {
		if _, err := os.Stat(filepath.Join(lake, table)); err != nil {
			continue // no row went there
		}
		// Casting the whole row reads every column, nested ones included.
		r := duckdb(t, fmt.Sprintf("SELECT count(*) AS n, sum(length(CAST(t AS VARCHAR))) AS len FROM %s t", scan(lake, table)))
		if num(r[0]["n"]) == 0 {
			t.Errorf("%s: DuckDB reads no row", table)
		}
	}
}
