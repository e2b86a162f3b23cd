package didomi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// update rewrites the golden outputs from the current parser:
//
//	go test ./pipelines/didomi/ -run TestParseGolden -update
//
// Review the diff of testdata/golden before committing it.
var update = flag.Bool("update", false, "rewrite testdata/golden from the current parser")

// goldenDir holds the golden cases: per case, its input lines (input.jsonl,
// when the case has its own) and the rows the parser makes of them, one JSON
// object per row with every column in schema order (didomi_users.jsonl,
// didomi_events.jsonl, didomi_rejects.jsonl), and what Parse returned for
// each line and the parser's counters (summary.txt).
const goldenDir = "testdata/golden"

// The file and partition the golden lines are parsed as.
const (
	goldenFile      = "export-id=x/date=2024-03-01/users/part-00000-0123456789abcdef.json.gz"
	goldenPartition = "export_id=x/date=2024-03-01"
)

// trickyLines returns the lines of testdata/golden/tricky/input.jsonl: the
// corners of the parser (escapes, duplicate keys, unmodelled keys at every
// level, preference values of every kind, numbers, timestamps, and lines
// with several problems, where the first one checked must win).
func trickyLines(tb testing.TB) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "tricky", "input.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	return lines
}

// TestParseGolden parses the golden inputs and compares every row of every
// table, the rejects and the counters with the golden files, in one chunk
// and in chunks of a few lines (the column buffers are handed to Arrow at
// each flush and made anew: the rows must not depend on the chunking). It
// also checks the invariants of FuzzParseLine on every line.
func TestParseGolden(t *testing.T) {
	tricky, sample := trickyLines(t), sampleLines(t)
	if len(tricky) < 50 || len(sample) < 100 {
		t.Fatalf("%d tricky lines and %d sample lines: the golden inputs are missing", len(tricky), len(sample))
	}
	cases := []struct {
		name   string
		lines  [][]byte
		chunks []int
	}{
		{"tricky", tricky, []int{1, len(tricky)}},
		{"sample", sample, []int{len(sample), 7}},
		// The first sample lines and the tricky lines, mixed, in chunks
		// that start and end anywhere.
		{"interleaved", interleave(sample[:40], tricky), []int{50}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, line := range c.lines {
				checkParseInvariants(t, line)
			}
			dir := filepath.Join(goldenDir, c.name)
			for i, chunk := range c.chunks {
				got := parseGolden(t, c.lines, chunk)
				if *update && i == 0 {
					writeGolden(t, dir, got)
					continue
				}
				for _, name := range goldenNames {
					want, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil {
						t.Fatalf("%v (run with -update to write the golden files)", err)
					}
					if !bytes.Equal(got[name], want) {
						t.Errorf("chunks of %d lines: %s differs from %s:\n%s", chunk, name, filepath.Join(dir, name), firstDiff(got[name], want))
					}
				}
			}
		})
	}
}

// goldenNames are the golden output files of a case.
var goldenNames = []string{UsersTable + ".jsonl", EventsTable + ".jsonl", RejectsTable + ".jsonl", "summary.txt"}

// parseGolden parses lines in chunks of chunk lines (flushing after each,
// as lineparse.Parse does) and renders the golden outputs.
func parseGolden(t testing.TB, lines [][]byte, chunk int) map[string][]byte {
	t.Helper()
	p := newParser(goldenFile, goldenPartition)
	defer p.Release()
	rej := lineparse.NewRejects(Rejects(), goldenPartition, "", "f", 0)
	defer rej.Release()
	out := map[string][]byte{}
	var summary bytes.Buffer
	emit := func(b hiveparquet.Batch) {
		defer b.Record.Release()
		out[b.Table+".jsonl"] = appendRows(t, out[b.Table+".jsonl"], b.Record)
	}
	for i, l := range lines {
		ok := p.Parse(l, int64(i+1), rej)
		fmt.Fprintf(&summary, "line %d accepted %v\n", i+1, ok)
		if (i+1)%chunk == 0 || i == len(lines)-1 {
			p.Flush(emit)
			rej.Flush(emit)
		}
	}
	in, evOut := p.Events()
	fmt.Fprintf(&summary, "rows %v\nevents in %d out %d rejected %d\nrejects %d by reason %v\nwarnings %v\n",
		p.Rows(), in, evOut, rej.EventCount(), rej.Count(), rej.ByReason(), p.Warnings())
	out["summary.txt"] = summary.Bytes()
	return out
}

// writeGolden writes the golden outputs of a case into dir.
func writeGolden(t testing.TB, dir string, got map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range goldenNames {
		if err := os.WriteFile(filepath.Join(dir, name), got[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "(no line differs)"
}

// appendRows appends one JSON object per row of rec to b: every column in
// schema order, nulls included.
func appendRows(t testing.TB, b []byte, rec arrow.Record) []byte {
	t.Helper()
	for r := 0; r < int(rec.NumRows()); r++ {
		b = append(b, '{')
		for c, col := range rec.Columns() {
			if c > 0 {
				b = append(b, ',')
			}
			b = appendJSON(t, b, rec.ColumnName(c))
			b = append(b, ':')
			b = appendValue(t, b, col, r)
		}
		b = append(b, "}\n"...)
	}
	return b
}

// appendValue appends the value i of a as JSON: timestamps as RFC 3339 in
// UTC, maps as objects in entry order. A null struct is null when all its
// fields are null too (as Arrow's StructBuilder makes it), and shows its
// fields under "(null struct)" otherwise.
func appendValue(t testing.TB, b []byte, a arrow.Array, i int) []byte {
	if s, ok := a.(*array.Struct); ok {
		fields := func(b []byte) []byte {
			st := s.DataType().(*arrow.StructType)
			b = append(b, '{')
			for j := 0; j < s.NumField(); j++ {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSON(t, b, st.Field(j).Name)
				b = append(b, ':')
				b = appendValue(t, b, s.Field(j), i)
			}
			return append(b, '}')
		}
		if s.IsValid(i) {
			return fields(b)
		}
		for j := 0; j < s.NumField(); j++ {
			if s.Field(j).IsValid(i) {
				return fields(append(b, `{"(null struct)":`...))
			}
		}
		return append(b, "null"...)
	}
	if a.IsNull(i) {
		return append(b, "null"...)
	}
	switch a := a.(type) {
	case *array.String:
		return appendJSON(t, b, a.Value(i))
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	case *array.Timestamp:
		ts := a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit)
		return appendJSON(t, b, ts.UTC().Format(time.RFC3339Nano))
	case *array.Map:
		start, end := a.ValueOffsets(i)
		b = append(b, '{')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				b = append(b, ',')
			}
			b = appendValue(t, b, a.Keys(), j)
			b = append(b, ':')
			b = appendValue(t, b, a.Items(), j)
		}
		return append(b, '}')
	case *array.List:
		start, end := a.ValueOffsets(i)
		b = append(b, '[')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				b = append(b, ',')
			}
			b = appendValue(t, b, a.ListValues(), j)
		}
		return append(b, ']')
	}
	t.Fatalf("golden: no JSON form for a column of %s", a.DataType())
	return nil
}

// appendJSON appends v as JSON, without HTML escapes.
func appendJSON(t testing.TB, b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

func interleave(a, b [][]byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}
