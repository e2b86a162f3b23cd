package audiencestudio

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

func touch(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func skippedReason(plan transforms.Plan, what string) string {
	for _, s := range plan.Skipped {
		if s.What == what {
			return s.Reason
		}
	}
	return ""
}

func TestDiscoverRequests(t *testing.T) {
	root := t.TempDir()
	lzo := string(lzopMagicForTest) + strings.Repeat("x", 100)
	touch(t, root, "uploads/consent-data/2024-03-01/a.txt", goodRequest+"\n")
	touch(t, root, "uploads/consent-data/2024-03-01/b.lzo", lzo)
	touch(t, root, "uploads/consent-data/2024-03-01/b.lzo.index", "12345678")
	touch(t, root, "uploads/consent-data/2024-03-01/c.txt.index", "12345678") // index of a plain file: ignored
	touch(t, root, "uploads/consent-data/2024-03-01/c.txt", goodRequest+"\n")
	touch(t, root, "uploads/consent-data/2024-03-01/orphan.lzo.index", "12345678")
	touch(t, root, "uploads/consent-data/2024-03-01/_SUCCESS", "")
	touch(t, root, "uploads/consent-data/2024-03-01/.hidden", "")
	touch(t, root, "uploads/consent-data/2024-03-01/sub/d.txt", "")
	touch(t, root, "uploads/consent-data/2024-03-02/a.txt.gz", "")
	touch(t, root, "uploads/consent-data/notadate/a.txt", "")
	touch(t, root, "uploads/consent-data/loose.txt", "")

	ctx := context.Background()
	plan, err := DiscoverRequests(ctx, lakefs.Local{}, root, RequestsSelection{Splits: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range plan.Files {
		got = append(got, f.Rel)
		if f.Unit != "uploads/consent-data/"+f.Partition[len("upload_date="):] {
			t.Errorf("%s: unit %s, partition %s", f.Rel, f.Unit, f.Partition)
		}
	}
	want := "uploads/consent-data/2024-03-01/a.txt uploads/consent-data/2024-03-01/b.lzo uploads/consent-data/2024-03-01/b.lzo uploads/consent-data/2024-03-01/b.lzo uploads/consent-data/2024-03-01/c.txt uploads/consent-data/2024-03-02/a.txt.gz"
	if strings.Join(got, " ") != want {
		t.Fatalf("files:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	var covered int64
	for _, f := range plan.Files[1:4] {
		if f.SplitEnd <= f.SplitStart || f.SplitStart != covered {
			t.Errorf("split [%d, %d) does not follow %d", f.SplitStart, f.SplitEnd, covered)
		}
		covered = f.SplitEnd
	}
	if covered != int64(len(lzo)) {
		t.Errorf("splits cover %d of %d bytes", covered, len(lzo))
	}
	if len(plan.Units) != 2 || len(plan.Units[0].Inputs) != 5 || len(plan.Claims) != 4 {
		t.Fatalf("units %+v, claims %+v", plan.Units, plan.Claims)
	}
	for what, reason := range map[string]string{
		"uploads/consent-data/2024-03-01/c.txt.index":      "not lzop",
		"uploads/consent-data/2024-03-01/orphan.lzo.index": "without its data file",
		"uploads/consent-data/2024-03-01/.hidden":          "hidden",
		"uploads/consent-data/2024-03-01/sub/d.txt":        "subfolder",
		"uploads/consent-data/notadate/a.txt":              "not a date",
		"uploads/consent-data/loose.txt":                   "not in a day folder",
	} {
		if r := skippedReason(plan, what); !strings.Contains(r, reason) {
			t.Errorf("%s: skipped reason %q, want %q", what, r, reason)
		}
	}
	if r := skippedReason(plan, "uploads/consent-data/2024-03-01/_SUCCESS"); r != "" {
		t.Errorf("_SUCCESS listed as skipped: %s", r)
	}

	// Size-based splitting: one split per SplitBytes.
	plan, _ = DiscoverRequests(ctx, lakefs.Local{}, root, RequestsSelection{SplitBytes: 50, From: "2024-03-01", To: "2024-03-01"}, nil)
	if n := len(plan.Files); n != 2+3 || len(plan.Units) != 1 {
		t.Fatalf("%d files, %d units; want 5 and 1", n, len(plan.Units))
	}

	// The ledger: an unchanged day is skipped, a changed file brings the whole day back.
	led := map[string]ledger.Entry{}
	for _, u := range plan.Units {
		led[u.Key] = ledger.Entry{Unit: u.Key, Inputs: u.Inputs, RunID: "r1"}
	}
	plan, _ = DiscoverRequests(ctx, lakefs.Local{}, root, RequestsSelection{}, led)
	if len(plan.Units) != 1 || plan.Units[0].Key != "uploads/consent-data/2024-03-02" {
		t.Fatalf("units after ledger: %+v", plan.Units)
	}
	touch(t, root, "uploads/consent-data/2024-03-01/b.lzo.index", "1234567812345678")
	plan, _ = DiscoverRequests(ctx, lakefs.Local{}, root, RequestsSelection{}, led)
	if len(plan.Units) != 2 || len(plan.Files) != 4 {
		t.Fatalf("a changed index must bring its day back: %d units, %d files", len(plan.Units), len(plan.Files))
	}
}

var lzopMagicForTest = []byte{0x89, 'L', 'Z', 'O', 0x00, '\r', '\n', 0x1a, '\n'}

func TestDiscoverPortability(t *testing.T) {
	root := t.TempDir()
	bk := "ZjY2MGFiOTEyZWMxMjFkMWIxZTkyOGEwYmI0YmM2MWI=" // base64 of a bridge key
	touch(t, root, "portability/R1/2024-03-02/_SUCCESS", "")
	touch(t, root, "portability/R1/2024-03-02/pixel.gif/"+bk+"/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/click/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/video.gif/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/notes.txt", "")
	touch(t, root, "portability/R1/2024-03-03/pixel.gif/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n") // no _SUCCESS
	touch(t, root, "portability/R2/2024-03-04/_SUCCESS", "")
	touch(t, root, "portability/R2/2024-03-04/event.gif/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R2/bad-date/event.gif/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")

	ctx := context.Background()
	plan, err := DiscoverPortability(ctx, lakefs.Local{}, root, PortabilitySelection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 4 || len(plan.Units) != 2 {
		t.Fatalf("%d files, %d units", len(plan.Files), len(plan.Units))
	}
	// 8 documented sources + video.gif for R1, 8 for R2; two tables each.
	if len(plan.Claims) != 2*(9+8) {
		t.Errorf("%d claims", len(plan.Claims))
	}
	// Each request/day guards its own claims against an empty commit.
	if len(plan.Units[0].Claims) != 2*9 || len(plan.Units[1].Claims) != 2*8 ||
		!strings.HasPrefix(plan.Units[1].Claims[0].Partition, "request_id=R2/") {
		t.Errorf("unit claims: %+v", plan.Units)
	}
	for what, reason := range map[string]string{
		"portability/R1/2024-03-03":                           "no _SUCCESS",
		"portability/R1/2024-03-02/notes.txt":                 "not a feed file",
		"portability/R2/bad-date/event.gif/LIDa_CtQ/LIDa_CtQ": "not a date",
	} {
		if r := skippedReason(plan, what); !strings.Contains(r, reason) {
			t.Errorf("%s: skipped reason %q, want %q", what, r, reason)
		}
	}
	for _, f := range plan.Files {
		ff := feedFileOf(f.Rel)
		switch ff.DataSource {
		case "pixel.gif":
			if ff.BK != (BKFolder{Raw: bk, BridgeKey: "f660ab912ec121d1b1e928a0bb4bc61b"}) || ff.KUIDFile != "LIDa_CtQ" {
				t.Errorf("%s: %+v", f.Rel, ff)
			}
			if f.Partition != "request_id=R1/date=2024-03-02/data_source=pixel.gif" {
				t.Errorf("partition %s", f.Partition)
			}
		case "click":
			if ff.BK != (BKFolder{Raw: "LIDa_CtQ", DeviceLevel: true}) || ff.KUIDFile != "LIDa_CtQ" {
				t.Errorf("%s: %+v", f.Rel, ff)
			}
		}
	}
	plan, _ = DiscoverPortability(ctx, lakefs.Local{}, root, PortabilitySelection{RequestID: "R2"}, nil)
	if len(plan.Units) != 1 || plan.Units[0].Key != "portability/R2/2024-03-04" {
		t.Errorf("--request-id: %+v", plan.Units)
	}
	plan, _ = DiscoverPortability(ctx, lakefs.Local{}, root, PortabilitySelection{From: "2024-03-03", To: "2024-03-04"}, nil)
	if len(plan.Units) != 1 || plan.Units[0].Key != "portability/R2/2024-03-04" {
		t.Errorf("--from/--to: %+v", plan.Units)
	}
}

// TestDiscoverPortabilityWiderPaths: names beginning with '_' are data
// (only _SUCCESS, _temporary and dot-files are not), {bk} may span several
// folders, and portability/REQUEST_ID/_SUCCESS completes every day of the
// request.
func TestDiscoverPortabilityWiderPaths(t *testing.T) {
	root := t.TempDir()
	const multi = "Pz8/Pj4+" // standard Base64 of "???>>>": two folders
	touch(t, root, "portability/R1/2024-03-02/_SUCCESS", "")
	touch(t, root, "portability/R1/2024-03-02/pixel.gif/_x14QZg-/_x14QZg-", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/_custom.gif/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/event.gif/"+multi+"/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/event.gif/_temporary/0/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/event.gif/LIDa_CtQ/.LIDa_CtQ.crc", "")
	touch(t, root, "portability/R1/2024-03-02/event.gif/LIDa_CtQ/_SUCCESS", "")
	// A request completed as a whole: every day is read, day markers or not.
	touch(t, root, "portability/R2/_SUCCESS", "")
	touch(t, root, "portability/R2/2024-03-04/click/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R2/2024-03-05/click/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R3/2024-03-05/click/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n") // no marker at all

	plan, err := DiscoverPortability(context.Background(), lakefs.Local{}, root, PortabilitySelection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var units, files []string
	for _, u := range plan.Units {
		units = append(units, u.Key)
	}
	for _, f := range plan.Files {
		files = append(files, f.Rel)
	}
	wantUnits := "portability/R1/2024-03-02 portability/R2/2024-03-04 portability/R2/2024-03-05"
	if got := strings.Join(units, " "); got != wantUnits {
		t.Errorf("units:\n%s\nwant\n%s", got, wantUnits)
	}
	wantFiles := "portability/R1/2024-03-02/_custom.gif/LIDa_CtQ/LIDa_CtQ " +
		"portability/R1/2024-03-02/event.gif/" + multi + "/LIDa_CtQ " +
		"portability/R1/2024-03-02/pixel.gif/_x14QZg-/_x14QZg- " +
		"portability/R2/2024-03-04/click/LIDa_CtQ/LIDa_CtQ portability/R2/2024-03-05/click/LIDa_CtQ/LIDa_CtQ"
	sort.Strings(files)
	if got := strings.Join(files, " "); got != wantFiles {
		t.Errorf("files:\n%s\nwant\n%s", got, wantFiles)
	}
	for _, what := range []string{
		"portability/R1/2024-03-02/event.gif/_temporary/0/LIDa_CtQ",
		"portability/R1/2024-03-02/event.gif/LIDa_CtQ/.LIDa_CtQ.crc",
		"portability/R1/2024-03-02/event.gif/LIDa_CtQ/_SUCCESS",
	} {
		if r := skippedReason(plan, what); !strings.Contains(r, "not a feed file") {
			t.Errorf("%s: skipped reason %q", what, r)
		}
	}
	if r := skippedReason(plan, "portability/R3/2024-03-05"); !strings.Contains(r, "no _SUCCESS") {
		t.Errorf("R3: skipped reason %q", r)
	}
	if r := skippedReason(plan, "portability/R2/_SUCCESS"); r != "" {
		t.Errorf("the request marker is listed as skipped: %s", r)
	}
	for _, f := range plan.Files {
		ff := feedFileOf(f.Rel)
		switch ff.DataSource {
		case "event.gif":
			if ff.BK != (BKFolder{Raw: multi, BridgeKey: "???>>>"}) || ff.KUIDFile != "LIDa_CtQ" {
				t.Errorf("%s: %+v", f.Rel, ff)
			}
		case "pixel.gif":
			if ff.BK != (BKFolder{Raw: "_x14QZg-", DeviceLevel: true}) || ff.KUIDFile != "_x14QZg-" {
				t.Errorf("%s: %+v", f.Rel, ff)
			}
		}
	}
	// --request-id and --from/--to apply to a request-level marker too.
	plan, _ = DiscoverPortability(context.Background(), lakefs.Local{}, root, PortabilitySelection{RequestID: "R2", From: "2024-03-05"}, nil)
	if len(plan.Units) != 1 || plan.Units[0].Key != "portability/R2/2024-03-05" {
		t.Errorf("R2 from 2024-03-05: %+v", plan.Units)
	}
}

// TestDiscoverRequestsUnderscoreNames: request files whose names begin
// with '_' are read; _SUCCESS, _temporary and dot-files are not.
func TestDiscoverRequestsUnderscoreNames(t *testing.T) {
	root := t.TempDir()
	touch(t, root, "uploads/consent-data/2024-03-01/_export.txt", goodRequest+"\n")
	touch(t, root, "uploads/consent-data/2024-03-01/_SUCCESS", "")
	touch(t, root, "uploads/consent-data/2024-03-01/_temporary", "")
	touch(t, root, "uploads/consent-data/2024-03-01/.export.txt.crc", "")
	plan, err := DiscoverRequests(context.Background(), lakefs.Local{}, root, RequestsSelection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 1 || plan.Files[0].Rel != "uploads/consent-data/2024-03-01/_export.txt" {
		t.Fatalf("files %+v", plan.Files)
	}
	if len(plan.Units) != 1 || len(plan.Units[0].Inputs) != 1 {
		t.Errorf("units %+v", plan.Units)
	}
}

// TestDiscoverSkipsNonUTF8Paths: a local name that is not UTF-8 would put
// invalid strings in source_file, bk_raw and kuid_file: it is skipped, and
// the report says so in valid UTF-8.
func TestDiscoverSkipsNonUTF8Paths(t *testing.T) {
	root := t.TempDir()
	touch(t, root, "portability/R1/2024-03-02/_SUCCESS", "")
	touch(t, root, "portability/R1/2024-03-02/click/LIDa_CtQ/LIDa_CtQ", goodFeed+"\n")
	touch(t, root, "portability/R1/2024-03-02/click/L\xffx/L\xffx", goodFeed+"\n")
	touch(t, root, "uploads/consent-data/2024-03-01/a\xff.txt", goodRequest+"\n")
	ctx := context.Background()
	plan, err := DiscoverPortability(ctx, lakefs.Local{}, root, PortabilitySelection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 1 || plan.Files[0].Rel != "portability/R1/2024-03-02/click/LIDa_CtQ/LIDa_CtQ" {
		t.Errorf("files %+v", plan.Files)
	}
	if r := skippedReason(plan, "portability/R1/2024-03-02/click/L\uFFFDx/L\uFFFDx"); r != notUTF8 {
		t.Errorf("skipped reason %q", r)
	}
	plan, err = DiscoverRequests(ctx, lakefs.Local{}, root, RequestsSelection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 0 || skippedReason(plan, "uploads/consent-data/2024-03-01/a\uFFFD.txt") != notUTF8 {
		t.Errorf("files %+v, skipped %+v", plan.Files, plan.Skipped)
	}
}
