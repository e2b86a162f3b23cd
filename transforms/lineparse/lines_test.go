package lineparse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// echoParser keeps every line that does not start with "bad" as a row
// (line number, text) and rejects the others.
type echoParser struct {
	b    *array.RecordBuilder
	rows int64
}

var echoSchema = arrow.NewSchema([]arrow.Field{
	{Name: "line", Type: arrow.PrimitiveTypes.Int64},
	{Name: "text", Type: arrow.BinaryTypes.String},
}, nil)

func newEcho() Parser {
	return &echoParser{b: array.NewRecordBuilder(memory.DefaultAllocator, echoSchema)}
}

func (p *echoParser) Parse(line []byte, n int64, rej *Rejects) bool {
	if strings.HasPrefix(string(line), "bad") {
		rej.Add(n, "bad", "starts with bad", line)
		return false
	}
	p.b.Field(0).(*array.Int64Builder).Append(n)
	p.b.Field(1).(*array.StringBuilder).Append(string(line))
	p.rows++
	return true
}

func (p *echoParser) Flush(emit func(hiveparquet.Batch)) {
	if p.b.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: "echo", Record: p.b.NewRecord()})
	}
}
func (p *echoParser) Rows() []Count { return []Count{{Name: "echo", N: p.rows}} }
func (p *echoParser) Release()      { p.b.Release() }

type row struct {
	table string
	line  int64
	text  string
}

func runLines(t *testing.T, input string, opts Options) ([]row, Stats, error) {
	t.Helper()
	var rows []row
	counts, err := Parse(context.Background(), strings.NewReader(input), Origin{Rel: "f"}, RejectTable("rej", nil), 0, opts, newEcho,
		func(b hiveparquet.Batch) {
			defer b.Record.Release()
			for i := 0; i < int(b.Record.NumRows()); i++ {
				switch b.Table {
				case "echo":
					rows = append(rows, row{"echo", b.Record.Column(0).(*array.Int64).Value(i), b.Record.Column(1).(*array.String).Value(i)})
				case "rej":
					code := b.Record.Column(2).(*array.String).Value(i)
					if truncated := b.Record.Column(5).(*array.Boolean).Value(i); truncated != (code == ReasonLineTooLong) {
						t.Errorf("reject %s: raw_truncated = %v", code, truncated)
					}
					rows = append(rows, row{"rej:" + code, b.Record.Column(1).(*array.Int64).Value(i), b.Record.Column(4).(*array.String).Value(i)})
				}
			}
		})
	return rows, counts, err
}

func TestParse(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name     string
		input    string
		want     []row // sorted by line
		lines    int64
		rejected int64
		blank    int64
	}{
		{name: "empty input", input: "", lines: 0},
		{name: "no final newline", input: "a\nb", want: []row{{"echo", 1, "a"}, {"echo", 2, "b"}}, lines: 2},
		{name: "crlf", input: "a\r\nb\r\n", want: []row{{"echo", 1, "a"}, {"echo", 2, "b"}}, lines: 2},
		// Blank lines are skipped and counted, never rejected, and keep
		// their place in the line numbering.
		{name: "empty and blank lines", input: "a\n\n  \nb\n", want: []row{{"echo", 1, "a"}, {"echo", 4, "b"}}, lines: 4, blank: 2},
		{name: "trailing blank line", input: "a\nb\n\n", want: []row{{"echo", 1, "a"}, {"echo", 2, "b"}}, lines: 3, blank: 1},
		{name: "trailing blank line without newline", input: "a\nb\n \t", want: []row{{"echo", 1, "a"}, {"echo", 2, "b"}}, lines: 3, blank: 1},
		{name: "crlf blank lines", input: "a\r\n\r\nb\r\n\r\n", want: []row{{"echo", 1, "a"}, {"echo", 3, "b"}}, lines: 4, blank: 2},
		{name: "whitespace only", input: " \t\r\n\v\f\nbad\n\t\tx\n", want: []row{{"rej:bad", 3, "bad"}, {"echo", 4, "\t\tx"}}, lines: 4, rejected: 1, blank: 2},
		{name: "only blank lines", input: "\n\r\n \n\t\n\n", lines: 5, blank: 5},
		{name: "leading blank lines", input: "\n\na\n", want: []row{{"echo", 3, "a"}}, lines: 3, blank: 2},
		{name: "unicode space is content", input: "\u00a0\n\ufeff\n", want: []row{{"echo", 1, "\u00a0"}, {"echo", 2, "\ufeff"}}, lines: 2},
		{name: "parser rejects", input: "bad1\nok\nbad2\n", want: []row{{"rej:bad", 1, "bad1"}, {"echo", 2, "ok"}, {"rej:bad", 3, "bad2"}}, lines: 3, rejected: 2},
		{name: "too long in middle", input: "a\n" + long + "\nb\n", want: []row{{"echo", 1, "a"}, {"rej:line_too_long", 2, long[:8]}, {"echo", 3, "b"}}, lines: 3, rejected: 1},
		{name: "too long at end without newline", input: "a\n" + long, want: []row{{"echo", 1, "a"}, {"rej:line_too_long", 2, long[:8]}}, lines: 2, rejected: 1},
		{name: "exactly at bound", input: strings.Repeat("y", 50) + "\nz\n", want: []row{{"echo", 1, strings.Repeat("y", 50)}, {"echo", 2, "z"}}, lines: 2},
		{name: "one over the bound after a short line", input: "ab\n" + strings.Repeat("w", 51) + "\nc\n", want: []row{{"echo", 1, "ab"}, {"rej:line_too_long", 2, "wwwwwwww"}, {"echo", 3, "c"}}, lines: 3, rejected: 1},
	}
	for _, tt := range tests {
		for _, chunk := range []int{4, 7, 16, 64, 1 << 10} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tt.name, chunk), func(t *testing.T) {
				rows, counts, err := runLines(t, tt.input, Options{MaxLineBytes: 50, ChunkBytes: chunk, Workers: 3, RawBytes: 8})
				if err != nil {
					t.Fatal(err)
				}
				sortRows(rows)
				if fmt.Sprint(rows) != fmt.Sprint(tt.want) {
					t.Fatalf("rows = %v\nwant   %v", rows, tt.want)
				}
				if counts.RecordsIn+counts.BlankLines != tt.lines || counts.Rejected != tt.rejected || counts.BlankLines != tt.blank || counts.RecordsOut != tt.lines-tt.rejected-tt.blank {
					t.Fatalf("counts = %+v, want lines %d rejected %d blank %d", counts, tt.lines, tt.rejected, tt.blank)
				}
				st := counts
				if err := st.Check(); err != nil || st.RecordsIn != tt.lines-tt.blank || st.BlankLines != tt.blank {
					t.Fatalf("stats %+v (check: %v), want %d records in, %d blank lines", st, err, tt.lines-tt.blank, tt.blank)
				}
			})
		}
	}
}

func TestIsBlank(t *testing.T) {
	for _, tt := range []struct {
		line  string
		blank bool
	}{
		{"", true}, {" ", true}, {"\t", true}, {"\r", true}, {"\v\f", true}, {" \t \r", true},
		{"a", false}, {" a ", false}, {"\u00a0", false}, {"\u0085", false}, {"\ufeff", false}, {"\x00", false}, {"{}", false},
	} {
		if got := IsBlank([]byte(tt.line)); got != tt.blank {
			t.Errorf("IsBlank(%q) = %v, want %v", tt.line, got, tt.blank)
		}
	}
}

// TestParseRandom checks, over random inputs and chunk sizes, that
// every line is seen exactly once with its number, in order.
func TestParseRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		var b strings.Builder
		var want []row
		n := r.IntN(200)
		for i := 1; i <= n; i++ {
			s := strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(40))
			b.WriteString(s + "\n")
			want = append(want, row{"echo", int64(i), s})
		}
		rows, counts, err := runLines(t, b.String(), Options{MaxLineBytes: 1000, ChunkBytes: 1 + r.IntN(300), Workers: 1 + r.IntN(4)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rows) != fmt.Sprint(want) { // emitted in input order, no sorting
			t.Fatalf("iter %d: rows differ:\n%v\nwant\n%v", iter, rows, want)
		}
		if counts.RecordsIn+counts.BlankLines != int64(n) || counts.Bytes != int64(b.Len()) {
			t.Fatalf("iter %d: counts %+v, want %d lines %d bytes", iter, counts, n, b.Len())
		}
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 3 {
		return 0, fmt.Errorf("disk on fire")
	}
	f.n++
	return copy(p, "line\n"), nil
}

func TestParseReadError(t *testing.T) {
	_, err := Parse(context.Background(), &failingReader{}, Origin{Rel: "f"}, RejectTable("rej", nil), 0, Options{ChunkBytes: 8}, newEcho, func(b hiveparquet.Batch) { b.Record.Release() })
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

func sortRows(rows []row) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].line < rows[j-1].line; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// TestParseSourceByteOffsets checks, over random inputs (blank, CRLF and
// over-long lines, a byte-order mark, no final newline) and chunk sizes,
// that a ReaderSource with ByteOffsets gives every line the offset of its
// first byte (the mark counts in the first line), and that every byte is
// counted once.
func TestParseSourceByteOffsets(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 300; iter++ {
		var b strings.Builder
		var want []row
		bom := r.IntN(3) == 0
		if bom {
			b.WriteString("\uFEFF")
		}
		n := r.IntN(60)
		for i := 0; i < n; i++ {
			off := int64(b.Len())
			if i == 0 {
				off = 0
			}
			switch k := r.IntN(10); {
			case k == 0:
				b.WriteString(" \r")
			case k == 1:
				s := strings.Repeat("L", 101+r.IntN(200))
				b.WriteString(s)
				want = append(want, row{"rej:" + ReasonLineTooLong, off, s[:16]})
			default:
				s := strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(40))
				b.WriteString(s)
				if k == 2 {
					b.WriteString("\r")
				}
				want = append(want, row{"echo", off, s})
			}
			if i < n-1 || r.IntN(2) == 0 {
				b.WriteString("\n")
			}
		}
		opts := Options{MaxLineBytes: 100, RawBytes: 16, ChunkBytes: 1 + r.IntN(300), Workers: 1 + r.IntN(4)}
		src := NewReaderSource(strings.NewReader(b.String()), SourceOptions{Positions: ByteOffsets, DropBOM: true}, opts)
		var rows []row
		counts, err := ParseSource(context.Background(), src, Origin{Rel: "f"}, RejectTable("rej", nil), opts, newEcho, func(bt hiveparquet.Batch) {
			defer bt.Record.Release()
			for i := 0; i < int(bt.Record.NumRows()); i++ {
				if bt.Table == "echo" {
					rows = append(rows, row{"echo", bt.Record.Column(0).(*array.Int64).Value(i), bt.Record.Column(1).(*array.String).Value(i)})
				} else {
					rows = append(rows, row{"rej:" + bt.Record.Column(2).(*array.String).Value(i), bt.Record.Column(1).(*array.Int64).Value(i), bt.Record.Column(4).(*array.String).Value(i)})
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		sortRows(rows)
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("iter %d (bom %v, %+v): rows differ:\n%v\nwant\n%v", iter, bom, opts, rows, want)
		}
		if counts.RecordsIn+counts.BlankLines != int64(n) || counts.Bytes != int64(b.Len()) {
			t.Fatalf("iter %d: counts %+v, want %d lines %d bytes", iter, counts, n, b.Len())
		}
	}
}
