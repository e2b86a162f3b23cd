package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/file"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestVersionOf(t *testing.T) {
	for _, c := range []struct {
		main     string
		settings map[string]string
		want     string
	}{
		{"v1.2.0", nil, "v1.2.0"},
		{"(devel)", map[string]string{"vcs.revision": "0123456789abcdef0123", "vcs.modified": "false"}, "0123456789ab"},
		{"", map[string]string{"vcs.revision": "0123456789abcdef0123", "vcs.modified": "true"}, "0123456789ab-dirty"},
		{"(devel)", nil, "devel"},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Version: c.main}}
		for k, v := range c.settings {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: k, Value: v})
		}
		if got := versionOf(info); got != c.want {
			t.Errorf("versionOf(%q, %v) = %q, want %q", c.main, c.settings, got, c.want)
		}
	}
}

// TestVersion: --version and version print the version (not Beam's flags),
// and a run records it in its report and as its Parquet files' created_by.
func TestVersion(t *testing.T) {
	want := "vendorlake " + version() + "\n"
	for _, arg := range []string{"--version", "version"} {
		if code, out, errs := vendorlake(t, arg); code != exitOK || out != want || errs != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", arg, code, out, errs, want)
		}
	}
	lake := t.TempDir()
	if code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.5"); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	reports, _ := filepath.Glob(filepath.Join(lakestate.RunsDir(lake), "*.json"))
	if len(reports) != 1 {
		t.Fatalf("reports %v", reports)
	}
	data, _ := os.ReadFile(reports[0])
	var rep transforms.RunReport
	if err := json.Unmarshal(data, &rep); err != nil || rep.Version != version() {
		t.Errorf("report version %q (%v), want %q", rep.Version, err, version())
	}
	parts, _ := filepath.Glob(filepath.Join(lake, "didomi_users", "*", "*", "*.parquet"))
	if len(parts) == 0 {
		t.Fatal("no Parquet file")
	}
	r, err := file.OpenParquetFile(parts[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.MetaData().GetCreatedBy(); got != "vendorlake version "+version() {
		t.Errorf("created_by %q, want %q", got, "vendorlake version "+version())
	}
}
