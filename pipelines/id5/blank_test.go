package id5

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestReadFileBlankLines: blank lines are counted, not rejected, in both
// layouts; before a single-file header they are skipped (the header is the
// first line that is not blank), and a file of only blank lines is an empty
// file. Row numbers stay physical line numbers.
func TestReadFileBlankLines(t *testing.T) {
	const single = "incremental/20221106/010000.csv"
	const perPartner = "incremental/45/20221106/000000.csv"
	tests := []struct {
		name, rel, content string
		lines              []int64 // source_line of the rows, in order
		in, blank          int64
		rejects            map[string]int64
		warn               string
	}{
		{name: "single, blank lines before the header", rel: single, content: "\n \r\n35|20|45\n\"u1\"|\"a\"|\"b\"\n\t\n\"u2\"|\"c\"|\"\"\r\n\r\n",
			lines: []int64{4, 4, 6}, in: 2, blank: 4},
		{name: "single, only blank lines", rel: single, content: "\n\r\n  \n\t", blank: 4, warn: WarnEmptyFile},
		{name: "single, bad header after a blank line", rel: single, content: "\n35|x\n\"u1\"|\"a\"\n", in: 1, blank: 1,
			rejects: map[string]int64{ReasonBadHeader: 1}},
		{name: "per-partner", rel: perPartner, content: "\nu1|45|p1\r\n \r\nbad\nu2|45|p2\n\n", lines: []int64{2, 5}, in: 3, blank: 3,
			rejects: map[string]int64{ReasonFieldCount: 1}},
		{name: "per-partner, only blank lines", rel: perPartner, content: "\n\n\n", blank: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.csv")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			f := transforms.InputFile{Path: p, Rel: tt.rel, Size: int64(len(tt.content)), Partition: "date=2022-11-06"}
			var lines []int64
			rejects := map[string]int64{}
			st, err := ReadFile(context.Background(), lakefs.Local{}, f, 35, lineparse.Options{ChunkBytes: 8}, nil, func(b hiveparquet.Batch) {
				defer b.Record.Release()
				switch b.Table {
				case UpdatesTable:
					col := b.Record.Column(colSourceLine).(*array.Int64)
					for i := 0; i < col.Len(); i++ {
						lines = append(lines, col.Value(i))
					}
				case RejectsTable:
					col := b.Record.Column(2).(*array.String)
					for i := 0; i < col.Len(); i++ {
						rejects[col.Value(i)]++
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			if st.RecordsIn != tt.in || st.BlankLines != tt.blank || st.Rejected != int64(len(tt.rejects)) {
				t.Errorf("stats %+v, want %d records in, %d blank lines, %d rejected", st, tt.in, tt.blank, len(tt.rejects))
			}
			if fmt.Sprint(lines) != fmt.Sprint(tt.lines) {
				t.Errorf("row lines %v, want %v", lines, tt.lines)
			}
			if fmt.Sprint(rejects) != fmt.Sprint(map[string]int64(tt.rejects)) && !(len(rejects) == 0 && len(tt.rejects) == 0) {
				t.Errorf("rejects %v, want %v", rejects, tt.rejects)
			}
			var warn string
			for _, w := range st.Warnings {
				warn = w.Name
			}
			if warn != tt.warn {
				t.Errorf("warnings %v, want %q", st.Warnings, tt.warn)
			}
		})
	}
}
