package id5

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

func checkReject(t *testing.T, rej *Reject) {
	t.Helper()
	if !slices.Contains(Codes(), rej.Code) || rej.Reason == "" {
		t.Fatalf("bad reject %+v", *rej)
	}
}

// checkValue checks a UID or partner UID that a parser accepted.
func checkValue(t *testing.T, what, v string) {
	t.Helper()
	if v == "" || strings.ContainsAny(v, `|"`) || !utf8.ValidString(v) {
		t.Fatalf("%s %q: empty, invalid UTF-8, or holds a separator or quote", what, v)
	}
}

func FuzzParsePerPartnerRow(f *testing.F) {
	for _, s := range []string{
		"550e8400-e29b-41d4-a716-446655440000|45|100000187421490458",
		`"u"|"45"|"p"`, "u|45|p\r\n", "\xEF\xBB\xBFu|45|p", `"u|v"|45|p`, `"u""v"|45|p`,
		"", "|", "||", "u|045|p", "u|2147483648|p", "\xff|45|p", `"`, `""|""|""`,
	} {
		f.Add([]byte(s), int32(45))
	}
	f.Add([]byte("u|1|p"), int32(1))
	f.Add([]byte("u|0|p"), int32(0))
	f.Add([]byte("u|2147483647|p"), int32(-1))
	f.Fuzz(func(t *testing.T, line []byte, folder int32) {
		orig := bytes.Clone(line)
		m, rej := ParsePerPartnerRow(line, folder)
		if !bytes.Equal(line, orig) {
			t.Fatalf("input modified: %q -> %q", orig, line)
		}
		if rej != nil {
			checkReject(t, rej)
			if m != (Mapping{}) {
				t.Fatalf("mapping %+v returned with reject %+v", m, *rej)
			}
			return
		}
		checkValue(t, "UID", m.UID)
		checkValue(t, "PartnerUID", m.PartnerUID)
		if m.PartnerGVLID != folder || folder <= 0 || m.SourceGVLID != 0 {
			t.Fatalf("mapping %+v from folder %d", m, folder)
		}
		// Writing the mapping back, quoted, reads the same mapping.
		again, rej := ParsePerPartnerRow([]byte(`"`+m.UID+`"|`+strconv.Itoa(int(folder))+`|"`+m.PartnerUID+`"`), folder)
		if rej != nil || again != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, again, rej)
		}
	})
}

func FuzzParseSingle(f *testing.F) {
	f.Add([]byte("35|20|45|109"), []byte("\"AAAAAA\"|\"111111\"|\"222222\"|\"333333\"\n\"BBBBBB\"|\"444444\"|\"555555\"|\"666666\"\n\"CCCCCC\"|\"777777\"|\"\"|\"999999\"\n"))
	f.Add([]byte("\"131\"|\"45\"\r\n"), []byte("\"u\"|\"p\"\r\n\"\"|\"p\"\r\n\"u\"|\"\"\r\n"))
	f.Add([]byte("35|20|20"), []byte(`"u"|"a"|"b"`))
	f.Add([]byte("35"), []byte(`"u"`))
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("35|20"), []byte("\"u|v\"|\"a\"\n\"u\"|\"a\"b\"\nu|a|b\n\xff|a\n"))
	f.Fuzz(func(t *testing.T, header, rows []byte) {
		h, err := ParseSingleHeader(header)
		if err != nil {
			if err.Error() == "" || !errors.Is(err, ErrBadHeader) {
				t.Fatalf("header error %q does not wrap ErrBadHeader", err)
			}
			return
		}
		if h.SourceGVLID <= 0 || len(h.Partners) == 0 {
			t.Fatalf("header %+v", h)
		}
		seen := map[int32]bool{}
		for _, p := range h.Partners {
			if p <= 0 || seen[p] {
				t.Fatalf("header %+v: partner %d not positive or repeated", h, p)
			}
			seen[p] = true
		}
		prefix := Mapping{UID: "keep"}
		for _, line := range bytes.Split(rows, []byte("\n")) {
			orig := bytes.Clone(line)
			out, rej := ParseSingleRow(line, h, []Mapping{prefix})
			if !bytes.Equal(line, orig) {
				t.Fatalf("input modified: %q -> %q", orig, line)
			}
			if len(out) == 0 || out[0] != prefix {
				t.Fatalf("row %q: prefix of out lost: %+v", line, out)
			}
			if rej != nil {
				checkReject(t, rej)
				if len(out) != 1 {
					t.Fatalf("row %q: reject %+v appended %+v", line, *rej, out[1:])
				}
				continue
			}
			got := out[1:]
			if len(got) > len(h.Partners) {
				t.Fatalf("row %q: %d mappings for %d partners", line, len(got), len(h.Partners))
			}
			col := -1
			for _, m := range got {
				checkValue(t, "UID", m.UID)
				checkValue(t, "PartnerUID", m.PartnerUID)
				i := slices.Index(h.Partners, m.PartnerGVLID)
				if m.UID != got[0].UID || m.SourceGVLID != h.SourceGVLID || i <= col {
					t.Fatalf("row %q: mappings %+v do not follow header %+v", line, got, h)
				}
				col = i
			}
		}
	})
}

func FuzzClassifyPath(f *testing.F) {
	for _, s := range []string{
		"incremental/45/20221106/000000.csv", "incremental/20221106/000000.csv",
		"full-extracts/45/2022-11-06T12:00:00.5+01:00.csv", "full-extracts/20221106_120000.csv",
		"incremental//x.csv", "full-extracts/", "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		file, err := ClassifyPath(rel)
		if err != nil {
			if err.Error() == "" || file != (File{}) {
				t.Fatalf("ClassifyPath(%q) = %+v, %q", rel, file, err)
			}
			return
		}
		if file.Path != rel || file.Delivery == "" || file.Delivery != file.Kind.Delivery() ||
			(file.PartnerGVLID > 0) != file.Kind.PerPartner() || file.DeliveredAt.Location() != time.UTC {
			t.Fatalf("ClassifyPath(%q) = %+v", rel, file)
		}
		// The path is written as source_file: it must be valid UTF-8.
		if !utf8.ValidString(rel) {
			t.Fatalf("ClassifyPath accepted %q, which is not valid UTF-8", rel)
		}
	})
}

func FuzzParseExtractTime(f *testing.F) {
	for _, s := range []string{
		"20221106143000", "20221106_143000", "20221106T143000Z", "2022-11-06T14:30:00Z",
		"2022-11-06T14-30-00.123+02:00", "20221106", "2022-11-06", "20221106T143000-0530",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tm, err := ParseExtractTime(name)
		if err != nil {
			if err.Error() == "" || !tm.IsZero() {
				t.Fatalf("ParseExtractTime(%q) = %v, %q", name, tm, err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseExtractTime(%q) = %v, not UTC", name, tm)
		}
		// Every accepted name starts with a valid date.
		if _, err := ParseExtractTime(name[:8]); err != nil && name[4] != '-' {
			t.Fatalf("ParseExtractTime(%q) accepted, but its date %q is not: %v", name, name[:8], err)
		}
	})
}

// FuzzReadFile reads arbitrary content as each of the four ID5 layouts and
// checks what ReadFile writes: every string in every column of every batch
// (rows, id5_extract_partners and the rejects' reason and raw columns) is
// valid UTF-8, and records_in = records_out + rejected.
func FuzzReadFile(f *testing.F) {
	for _, s := range []string{
		"u|45|p\n\xff|45|p\n", "35|45|20\n\"u\"|\"p\"|\"\xc3\"\n\xef\xbb\xbfu|45|p\r\n",
		"\xff\xfe|45\n", "35|\xff\n", "", "\n\n", "u|45|\xe2\x82\n" + strings.Repeat("\xf0", 300) + "|45|p",
	} {
		for kind := uint8(0); kind < 4; kind++ {
			f.Add([]byte(s), kind)
		}
	}
	rels := []string{"incremental/45/20240101/000000.csv", "incremental/20240101/000000.csv",
		"full-extracts/45/20240101000000.csv", "full-extracts/20240101000000.csv"}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		rel := rels[int(kind)%len(rels)]
		root := t.TempDir()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := writeFile(p, data); err != nil {
			t.Fatal(err)
		}
		in := transforms.InputFile{Path: p, Rel: rel, Size: int64(len(data)), Partition: "date=2024-01-01", Unit: rel, Source: rel}
		var batches []hiveparquet.Batch
		defer func() {
			for _, b := range batches {
				b.Record.Release()
			}
		}()
		st, err := ReadFile(context.Background(), lakefs.Local{}, in, testSourceGVLID,
			lineparse.Options{MaxLineBytes: 256, RawBytes: 64, ChunkBytes: 1 << 10, Workers: 2},
			&ExtractGuard{MaxExtractShrink: 1}, func(b hiveparquet.Batch) { batches = append(batches, b) })
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		if err := st.Check(); err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			for c, col := range b.Record.Columns() {
				s, ok := col.(*array.String)
				if !ok {
					continue
				}
				for i := 0; i < s.Len(); i++ {
					if v := s.Value(i); !utf8.ValidString(v) {
						t.Fatalf("%s column %s row %d: invalid UTF-8 %q", b.Table, b.Record.ColumnName(c), i, v)
					}
				}
			}
		}
	})
}
