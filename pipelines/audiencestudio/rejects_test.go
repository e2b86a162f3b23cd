package audiencestudio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

const hex64 = "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"

// requestRejects holds one request line per reject reason.
var requestRejects = map[string]string{
	ReasonInvalidUTF8:           "device^kxcookie^ab\xffcd^portability^^^",
	ReasonBadTimestamp:          "device^kxcookie^abc^portability^^^12x4",
	ReasonTimestampOutRange:     "device^kxcookie^abc^portability^^^12345",
	ReasonFieldCount:            "device^kxcookie^abc^portability^^",
	ReasonBadIDKind:             "cookie^kxcookie^abc^portability^^^",
	ReasonEmptyIDType:           "device^^abc^portability^^^",
	ReasonEmptyIDValue:          "device^kxcookie^^portability^^^",
	ReasonBadHash:               "bk^email_sha256^abc^portability^^^",
	ReasonEmptyAction:           "device^kxcookie^abc^^global^^",
	ReasonMissingPolicyRegime:   "device^kxcookie^abc^set^^{\"dc\":1}^1515471711277000",
	ReasonMissingFlags:          "device^kxcookie^abc^set^gdpr^^1515471711277000",
	ReasonMissingTimestamp:      "device^kxcookie^abc^set^gdpr^{\"dc\":1}^",
	lineparse.ReasonLineTooLong: "device^kxcookie^" + strings.Repeat("x", 400) + "^portability^^^",
}

// feedRejects holds one feed record per reject reason.
var feedRejects = map[string]string{
	ReasonInvalidUTF8:           `{"TS":"1518036361","UA":"` + "\xff" + `"}`,
	ReasonBadTimestamp:          `{"TS":"15180x6361"}`,
	ReasonTimestampOutRange:     `{"TS":"12345"}`,
	ReasonNotJSON:               `{"TS":"1518036361",`,
	ReasonNotObject:             `["TS","1518036361"]`,
	ReasonMissingTS:             `{"TS":"-","IP":"10.0.0.1"}`,
	ReasonDuplicateField:        `{"TS":"1518036361","IP":"10.0.0.1","IP":"10.0.0.2"}`,
	ReasonBadFieldType:          `{"TS":"1518036361","UA":{"name":"x"}}`,
	ReasonBadResp:               `{"TS":"1518036361","RESP":"two hundred"}`,
	ReasonBadRT:                 `{"TS":"1518036361","RT":"-5"}`,
	ReasonBadNewUser:            `{"TS":"1518036361","NEWUSER":"maybe"}`,
	lineparse.ReasonLineTooLong: `{"TS":"1518036361","UA":"` + strings.Repeat("x", 400) + `"}`,
}

const goodRequest = "device^kxcookie^abcdef123^portability^global^^1515471711277000"
const goodFeed = `{"TS":"1518036361","KUID":"LIDa_CtQ","QS":"?_kpid=b2bf9016&x=1"}`

// linesWithRejects returns good lines interleaved with one line per reason.
func linesWithRejects(bad map[string]string, good string) (string, []string) {
	codes := make([]string, 0, len(bad))
	for c := range bad {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var b strings.Builder
	for _, c := range codes {
		b.WriteString(good + "\n" + bad[c] + "\n")
	}
	b.WriteString(good + "\n")
	return b.String(), codes
}

func checkReasons(t *testing.T, st transforms.FileStats, codes []string, seen map[string]int64) {
	t.Helper()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	want := int64(len(codes))
	if st.Rejected != want || st.RecordsOut != want+1 || st.RecordsIn != 2*want+1 {
		t.Errorf("counters: %d in, %d out, %d rejected; want %d, %d, %d", st.RecordsIn, st.RecordsOut, st.Rejected, 2*want+1, want+1, want)
	}
	by := map[string]int64{}
	for _, c := range st.RejectsByReason {
		by[c.Name] = c.N
	}
	for _, c := range codes {
		if by[c] != 1 || seen[c] != 1 {
			t.Errorf("reason %s: counted %d, rows %d; want 1 and 1", c, by[c], seen[c])
		}
	}
	if len(by) != len(codes) {
		t.Errorf("unexpected reasons: %v", st.RejectsByReason)
	}
}

// rejectCodes collects the reason codes of rejects batches.
func rejectCodes(table string, seen map[string]int64) func(hiveparquet.Batch) {
	return func(b hiveparquet.Batch) {
		defer b.Record.Release()
		if b.Table != table {
			return
		}
		codes := b.Record.Column(2).(*array.String)
		for i := 0; i < codes.Len(); i++ {
			seen[codes.Value(i)]++
		}
	}
}

func TestRequestRejectReasons(t *testing.T) {
	content, codes := linesWithRejects(requestRejects, goodRequest)
	p := filepath.Join(t.TempDir(), "r.txt")
	os.WriteFile(p, []byte(content), 0o644)
	seen := map[string]int64{}
	st, err := readRequests(context.Background(), lakefs.Local{}, inputFile(t, p), lineparse.Options{MaxLineBytes: 300}, rejectCodes(RequestsRejectsTable, seen))
	if err != nil {
		t.Fatal(err)
	}
	checkReasons(t, st, codes, seen)
}

func TestFeedRejectReasons(t *testing.T) {
	content, codes := linesWithRejects(feedRejects, goodFeed)
	root := t.TempDir()
	rel := "portability/R1/2024-03-02/pixel.gif/LIDa_CtQ/LIDa_CtQ"
	p := filepath.Join(root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(content), 0o644)
	f := transforms.InputFile{Path: p, Rel: rel, Size: int64(len(content)), Partition: "request_id=R1/date=2024-03-02/data_source=pixel.gif"}
	seen := map[string]int64{}
	st, err := readPortability(context.Background(), lakefs.Local{}, f, lineparse.Options{MaxLineBytes: 300}, rejectCodes(PortabilityRejectsTable, seen))
	if err != nil {
		t.Fatal(err)
	}
	checkReasons(t, st, codes, seen)
	if len(st.Warnings) != 0 {
		t.Errorf("warnings for a documented source: %v", st.Warnings)
	}
}

// TestBlankLinesAreNotRecords reads request and feed files with blank lines
// (empty, white space, CRLF, trailing, and files of nothing else): they are
// counted as blank_lines, never rejected, and later lines keep their
// physical positions.
func TestBlankLinesAreNotRecords(t *testing.T) {
	const badRequest = "device^kxcookie^abc^portability^^"
	tests := []struct {
		name, content         string
		rows, rejected, blank int64
		positions             []int64 // requests: source_offset of every row and reject

	}{
		{name: "between records", content: goodRequest + "\n\n" + goodRequest + "\n",
			rows: 2, blank: 1, positions: []int64{0, int64(len(goodRequest)) + 2}},
		{name: "trailing and crlf", content: goodRequest + "\r\n \t\r\n" + badRequest + "\r\n\r\n\n",
			rows: 1, rejected: 1, blank: 3, positions: []int64{0, int64(len(goodRequest)) + 6}},
		{name: "trailing without newline", content: goodRequest + "\n  ", rows: 1, blank: 1, positions: []int64{0}},
		{name: "only blank lines", content: "\n\r\n \n\t\v\f\n", blank: 4},
	}
	for _, tt := range tests {
		t.Run("requests/"+tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.txt")
			os.WriteFile(p, []byte(tt.content), 0o644)
			rows, st := collect(t, inputFile(t, p), lineparse.Options{ChunkBytes: 7})
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			if st.RecordsOut != tt.rows || st.Rejected != tt.rejected || st.BlankLines != tt.blank || st.RecordsIn != tt.rows+tt.rejected {
				t.Errorf("counters: %d in, %d out, %d rejected, %d blank; want %d out, %d rejected, %d blank",
					st.RecordsIn, st.RecordsOut, st.Rejected, st.BlankLines, tt.rows, tt.rejected, tt.blank)
			}
			var pos []int64
			for _, r := range rows {
				pos = append(pos, r.pos)
				if r.table == RequestsRejectsTable && r.text == ReasonEmptyLine {
					t.Errorf("blank line at %d rejected", r.pos)
				}
			}
			if fmt.Sprint(pos) != fmt.Sprint(tt.positions) {
				t.Errorf("positions %v, want %v", pos, tt.positions)
			}
		})
		t.Run("feed/"+tt.name, func(t *testing.T) {
			content := strings.NewReplacer(goodRequest, goodFeed, badRequest, `{"TS":"x"}`).Replace(tt.content)
			rel := "portability/R1/2024-03-02/pixel.gif/LIDa_CtQ/LIDa_CtQ"
			p := filepath.Join(t.TempDir(), filepath.FromSlash(rel))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(content), 0o644)
			f := transforms.InputFile{Path: p, Rel: rel, Size: int64(len(content)), Partition: "x=1"}
			seen := map[string]int64{}
			st, err := readPortability(context.Background(), lakefs.Local{}, f, lineparse.Options{ChunkBytes: 7}, rejectCodes(PortabilityRejectsTable, seen))
			if err != nil {
				t.Fatal(err)
			}
			if st.RecordsOut != tt.rows || st.Rejected != tt.rejected || st.BlankLines != tt.blank || seen[ReasonEmptyLine] != 0 {
				t.Errorf("counters: %d in, %d out, %d rejected, %d blank (rejects %v); want %d out, %d rejected, %d blank",
					st.RecordsIn, st.RecordsOut, st.Rejected, st.BlankLines, seen, tt.rows, tt.rejected, tt.blank)
			}
		})
	}
}

func TestFeedUnknownSourceWarns(t *testing.T) {
	root := t.TempDir()
	rel := "portability/R1/2024-03-02/video.gif/LIDa_CtQ/LIDa_CtQ"
	p := filepath.Join(root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(goodFeed+"\n"), 0o644)
	f := transforms.InputFile{Path: p, Rel: rel, Size: int64(len(goodFeed) + 1), Partition: "x=1"}
	var rows int64
	st, err := readPortability(context.Background(), lakefs.Local{}, f, lineparse.Options{}, func(b hiveparquet.Batch) {
		rows += b.Record.NumRows()
		b.Record.Release()
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1 || len(st.Warnings) != 1 || st.Warnings[0] != (lineparse.Count{Name: WarnUnknownDataSource, N: 1}) {
		t.Errorf("rows %d, warnings %v", rows, st.Warnings)
	}
}

// TestLineTooLongIsTruncated: an over-long line's reject keeps a prefix of
// the line with raw_truncated set, in the request and the feed reader alike
// (one line engine), whether the line ends in a newline or at end of file.
func TestLineTooLongIsTruncated(t *testing.T) {
	long := "device^kxcookie^" + strings.Repeat("x", 400) + "^portability^^^"
	for _, tt := range []struct{ name, content string }{
		{"terminated", goodRequest + "\n" + long + "\n" + goodRequest + "\n"},
		{"at end of file", goodRequest + "\n" + long},
	} {
		for _, table := range []string{RequestsRejectsTable, PortabilityRejectsTable} {
			t.Run(table+"/"+tt.name, func(t *testing.T) {
				opts := lineparse.Options{MaxLineBytes: 300, RawBytes: 64, ChunkBytes: 128}
				type rej struct {
					code, raw string
					truncated bool
				}
				var got []rej
				emit := func(b hiveparquet.Batch) {
					defer b.Record.Release()
					if b.Table != table {
						return
					}
					for i := 0; i < int(b.Record.NumRows()); i++ {
						got = append(got, rej{b.Record.Column(2).(*array.String).Value(i), b.Record.Column(4).(*array.String).Value(i),
							b.Record.Column(5).(*array.Boolean).Value(i)})
					}
				}
				dir := t.TempDir()
				var err error
				if table == RequestsRejectsTable {
					p := filepath.Join(dir, "r.txt")
					os.WriteFile(p, []byte(tt.content), 0o644)
					_, err = readRequests(context.Background(), lakefs.Local{}, inputFile(t, p), opts, emit)
				} else {
					content := strings.ReplaceAll(tt.content, goodRequest, goodFeed)
					rel := "portability/R1/2024-03-02/pixel.gif/LIDa_CtQ/LIDa_CtQ"
					p := filepath.Join(dir, filepath.FromSlash(rel))
					os.MkdirAll(filepath.Dir(p), 0o755)
					os.WriteFile(p, []byte(content), 0o644)
					f := transforms.InputFile{Path: p, Rel: rel, Size: int64(len(content)), Partition: "x=1"}
					_, err = readPortability(context.Background(), lakefs.Local{}, f, opts, emit)
				}
				if err != nil {
					t.Fatal(err)
				}
				want := []rej{{lineparse.ReasonLineTooLong, long[:64], true}}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("rejects %+v, want %+v", got, want)
				}
			})
		}
	}
}
