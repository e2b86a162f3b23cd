package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchScriptTiny runs scripts/bench --tiny (every mode on tiny data,
// direct runner) in a fresh cache and checks what it prints: Didomi on the
// defaults over proof archives, the DuckDB peer column for Didomi users and
// events, the request files and the many-small-files drop (the same rows
// on both sides for Didomi), the query table of the small-files lakes, and
// the ID5 scheduled push.
// About half a minute; skipped with -short.
func TestBenchScriptTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole bench at tiny sizes")
	}
	for _, bin := range []string{"bash", "node", "lzop", "gzip", "/usr/bin/time"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed: %v", bin, err)
		}
	}
	duckdb(t, "SELECT 1 AS ok") // skips without DuckDB
	cache := t.TempDir()
	cmd := exec.Command("bash", "scripts/bench", "--tiny", "--pipelines=didomi requests smallfiles id5push")
	cmd.Env = append(os.Environ(), "VENDORLAKE_CACHE="+cache)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/bench --tiny: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Log(out)

	// The ID5 scheduled push: a per-push time, the empty-lake push, their
	// ratio and a forced rebuild, measured.
	if !regexp.MustCompile(`(?m)^\| 20000 \| [0-9.]+ \| [0-9]+ \| \*\*[0-9.]+\*\* \| [0-9.]+ \| \*\*[0-9.]+\*\* \| [0-9.]+ \| [0-9]+ \|`).MatchString(out) {
		t.Errorf("no measured ID5 scheduled-push row")
	}

	// Main table: Didomi ran (on the defaults) and its run read proof archives.
	if !regexp.MustCompile(`(?m)^\| didomi-2MiB \| direct \| [0-9.]+ \|`).MatchString(out) {
		t.Errorf("no measured didomi-2MiB row")
	}
	if strings.Contains(out, "FAILED") {
		t.Errorf("a run failed")
	}
	logs, _ := filepath.Glob(filepath.Join(cache, "bench", "logs", "didomi-2MiB-direct-*.log"))
	if len(logs) != 1 {
		t.Fatalf("Didomi run logs: %v", logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`proofs +(\d+) entries in (\d+) archives`).FindSubmatch(b); m == nil || string(m[1]) == "0" || string(m[2]) != "6" {
		t.Errorf("the Didomi run read no proof archives (want proofs from 6 archives):\n%s", b)
	}

	// Peer table: one row per job, a ratio, and the same rows on both sides
	// for the Didomi jobs.
	peer := regexp.MustCompile(`(?m)^\| (didomi-users|requests|smallfiles) \| direct \| (\d+) \| \d+ \| ([0-9.]+) \| ([0-9.]+) \| \*\*([0-9.]+)\*\* \| [0-9.]+ \| [0-9.]+ \| (\d+) \| (\d+) \| (\d+) / (\d+) \|`)
	rows := peer.FindAllStringSubmatch(out, -1)
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r[1]] = true
		ours, _ := strconv.Atoi(r[8])
		theirs, _ := strconv.Atoi(r[9])
		if ours == 0 || theirs == 0 {
			t.Errorf("%s: rows %d / %d", r[1], ours, theirs)
		}
		if r[1] != "requests" && ours != theirs {
			t.Errorf("%s: vendorlake wrote %d rows, DuckDB %d", r[1], ours, theirs)
		}
		if r[1] == "smallfiles" && r[2] != "50" {
			t.Errorf("smallfiles: %s input files, want 50", r[2])
		}
	}
	if len(seen) != 3 {
		t.Errorf("peer rows for %v, want didomi-users, requests and smallfiles", seen)
	}

	// Query table of the small-files lakes.
	for _, q := range []string{`one-user lookup`, `group-by`} {
		if !regexp.MustCompile(`(?m)^\| ` + q + `[^|]*\| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$`).MatchString(out) {
			t.Errorf("no timed %q row", q)
		}
	}
	if !regexp.MustCompile(`(?m)^\| row groups of the users table \| \d+ row groups in 5 files, \d+ rows each \| \d+ row groups in 5 files`).MatchString(out) {
		t.Errorf("no row-group row for both lakes")
	}
}
