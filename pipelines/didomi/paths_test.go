package didomi

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

const notJSONGz = "not a .json.gz file (or in a folder starting with _ or .)"

func TestIsUsersFile(t *testing.T) {
	for _, tt := range []struct {
		rest string
		want bool
	}{
		{"users/a.json.gz", true},
		{"a.json.gz", true},                // partition root
		{"part=1/sub/b.json.gz", true},     // any sub-folder
		{"users/a.json", false},            // not gzip by name
		{"users/a.json.gz.tmp", false},     // not the extension
		{"_temporary/0/a.json.gz", false},  // helper folder
		{"users/_tmp/a.json.gz", false},    // helper folder below users/
		{".staging/a.json.gz", false},      // hidden folder
		{"users/.a.json.gz", false},        // hidden file
		{"_a.json.gz", false},              // helper file
		{"users//a.json.gz", false},        // empty segment
		{"proofs/proofs.tar.gz.00", false}, // proof archive part
		{"_SUCCESS", false},
	} {
		if got := isUsersFile(tt.rest); got != tt.want {
			t.Errorf("isUsersFile(%q) = %v, want %v", tt.rest, got, tt.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	files := []string{
		"data/export-id=a/date=2024-03-01/_SUCCESS",
		"data/export-id=a/date=2024-03-01/users/x.json.gz",
		"data/export-id=a/date=2024-03-01/users/y.json.gz",
		"data/export-id=a/date=2024-03-01/users/notes.txt",
		"data/export-id=a/date=2024-03-01/proofs.tar.gz.00",
		"data/export-id=a/date=2024-03-01/root.json.gz",                 // at the partition root
		"data/export-id=a/date=2024-03-01/part-1/deep.json.gz",          // another sub-folder
		"data/export-id=a/date=2024-03-01/_temporary/0/partial.json.gz", // unfinished copy
		"data/export-id=a/date=2024-03-01/users/.inflight.json.gz",      // hidden work file
		"data/export-id=a/date=2024-03-02/users/_SUCCESS",               // marker inside users/
		"data/export-id=a/date=2024-03-02/users/z.json.gz",
		"data/export-id=a/date=2024-03-03/users/w.json.gz", // no marker
		"data/export-id=b/date=2024-03-01/_SUCCESS",
		"data/export-id=b/date=2024-03-01/users/v.json.gz",
		"data/export-id=b/date=2024-3-1/_SUCCESS",
		"data/export-id=b/date=2024-3-1/users/bad.json.gz",
		"other/readme.md",
	}
	for _, f := range files {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		sel     Selection
		led     func(map[string]ledger.Entry)
		files   []string
		skipped []string
	}{
		{
			name:  "all",
			files: []string{"data/export-id=a/date=2024-03-01/part-1/deep.json.gz", "data/export-id=a/date=2024-03-01/root.json.gz", "data/export-id=a/date=2024-03-01/users/x.json.gz", "data/export-id=a/date=2024-03-01/users/y.json.gz", "data/export-id=a/date=2024-03-02/users/z.json.gz", "data/export-id=b/date=2024-03-01/users/v.json.gz"},
			skipped: []string{
				"data/export-id=a/date=2024-03-01/_temporary/0/partial.json.gz: " + notJSONGz,
				"data/export-id=a/date=2024-03-01/users/.inflight.json.gz: " + notJSONGz,
				"data/export-id=a/date=2024-03-01/users/notes.txt: " + notJSONGz,
				"data/export-id=a/date=2024-03-03: incomplete: no _SUCCESS marker yet",
				`data/export-id=b/date=2024-3-1: date "2024-3-1" is not YYYY-MM-DD`,
			},
		},
		{
			name:  "export and date range",
			sel:   Selection{ExportID: "a", From: "2024-03-02", To: "2024-03-03"},
			files: []string{"data/export-id=a/date=2024-03-02/users/z.json.gz"},
			skipped: []string{
				"data/export-id=a/date=2024-03-03: incomplete: no _SUCCESS marker yet",
				`data/export-id=b/date=2024-3-1: date "2024-3-1" is not YYYY-MM-DD`,
			},
		},
		{
			name: "ledger skips unchanged partitions only",
			sel:  Selection{ExportID: "a"},
			led: func(m map[string]ledger.Entry) {
				fi, _ := os.Stat(filepath.Join(root, "data/export-id=a/date=2024-03-02/users/z.json.gz"))
				m["data/export-id=a/date=2024-03-02"] = ledger.Entry{RunID: "r1", Inputs: []ledger.Input{{Rel: "data/export-id=a/date=2024-03-02/users/z.json.gz", Size: fi.Size(), ModTime: fi.ModTime().UnixMicro()}}}
				m["data/export-id=a/date=2024-03-01"] = ledger.Entry{RunID: "r1", Inputs: []ledger.Input{{Rel: "data/export-id=a/date=2024-03-01/users/x.json.gz", Size: 1}}}
			},
			files: []string{"data/export-id=a/date=2024-03-01/part-1/deep.json.gz", "data/export-id=a/date=2024-03-01/root.json.gz", "data/export-id=a/date=2024-03-01/users/x.json.gz", "data/export-id=a/date=2024-03-01/users/y.json.gz"},
			skipped: []string{
				"data/export-id=a/date=2024-03-01/_temporary/0/partial.json.gz: " + notJSONGz,
				"data/export-id=a/date=2024-03-01/users/.inflight.json.gz: " + notJSONGz,
				"data/export-id=a/date=2024-03-01/users/notes.txt: " + notJSONGz,
				"data/export-id=a/date=2024-03-02: unchanged since run r1 committed it",
				"data/export-id=a/date=2024-03-03: incomplete: no _SUCCESS marker yet",
				`data/export-id=b/date=2024-3-1: date "2024-3-1" is not YYYY-MM-DD`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led := map[string]ledger.Entry{}
			if tt.led != nil {
				tt.led(led)
			}
			plan, err := Discover(ctx, lakefs.Local{}, root, tt.sel, led)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range plan.Files {
				got = append(got, f.Rel)
				if !strings.HasPrefix(f.Partition, "export_id=") || f.Source != "" {
					t.Errorf("%s: partition %q source %q", f.Rel, f.Partition, f.Source)
				}
			}
			var skipped []string
			for _, s := range plan.Skipped {
				skipped = append(skipped, s.What+": "+s.Reason)
			}
			sort.Strings(skipped)
			if strings.Join(got, "\n") != strings.Join(tt.files, "\n") {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.files, "\n"))
			}
			if strings.Join(skipped, "\n") != strings.Join(tt.skipped, "\n") {
				t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(tt.skipped, "\n"))
			}
			if len(plan.Claims) != 3*len(plan.Units) {
				t.Errorf("%d claims for %d units", len(plan.Claims), len(plan.Units))
			}
			for _, u := range plan.Units {
				// Every unit guards its own partitions against an empty commit.
				if len(u.Claims) != 3 || !strings.HasPrefix(u.Claims[0].Partition, "export_id=") {
					t.Errorf("unit %s guards claims %v", u.Key, u.Claims)
				}
			}
		})
	}
}
