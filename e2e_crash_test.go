package main

// Crash safety proven by fault injection: every pipeline is killed
// with SIGKILL at ten moments of a run (reads, Parquet writes, each phase of
// the commit), through the fault points of io/faults, and a plain rerun must
// leave exactly the tables of a run that never crashed.
//
// Per pipeline, once:
//  1. base: a lake holding a committed run of a scratch copy of the sample;
//  2. the scratch input then changes (the last line of every plain or gzip
//     file dropped, every data file's mtime moved), so that the next run
//     rereads every unit and replaces every partition it wrote: the crashed
//     run has files to publish and earlier files to delete;
//  3. reference: a clean run of the changed input into a fresh lake.
//
// Per fault setting (VENDORLAKE_FAULT=POINT:N), on a copy of base:
//  1. the vendorlake binary runs with the fault armed and must die by
//     SIGKILL: a setting that no longer fires (the sample changed) fails
//     the test instead of passing silently; VENDORLAKE_FAULT=trace prints
//     every hit, to choose new settings. One setting per pipeline crashes
//     twice: the run, then the rerun while it recovers the first commit;
//  2. a crash before the commit log must have left the tables untouched;
//  3. a plain rerun must commit (recovering the crashed commit when its log
//     was recorded), and then: the same rows as the reference in every table
//     (DuckDB, as multisets, so no duplicate and no missing row), no
//     temporary file anywhere, no pending commit log, a ledger with the
//     reference's units and inputs, and every ledger entry naming a run
//     whose report says committed;
//  4. a third run has nothing to do and changes nothing (tables, markers,
//     ledger).

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

type crashCase struct {
	name     string
	pipeline string   // the report's pipeline name
	args     []string // command and flags, without --input/--output
	sample   string
	tables   []string
	// derived are ledger folders whose inputs are lake files (their
	// entries differ between lakes in file names): compared by unit only.
	derived []string
	// views are views of 'vendorlake ddl --dialect=duckdb' whose rows are
	// compared like the tables'.
	views  []string
	faults []string
	// hold, when set, are input files held back from the base run; the
	// change before the crashed run puts them back, instead of rewriting
	// every file (changeInput).
	hold []string
}

// Fault settings per pipeline, chosen from VENDORLAKE_FAULT=trace on the
// changed sample (each case's comment gives the totals of hits): reads, writes, and the commit just
// after its log is recorded, between moves, after the moves before the
// deletes, between deletes, between side writes (ledger entries, report),
// before the log is removed. "A+B" crashes at A, then crashes the rerun at
// B, in the middle of its recovery of A's commit.
var crashCases = []crashCase{
	{
		// 13 reads, 34 batches, 15 files; commit: 15 moves, 15 deletes, 6 side writes.
		name: "didomi", pipeline: "didomi", sample: "testdata/didomi",
		args:   []string{"didomi", "--max-reject-ratio=0.5"},
		tables: []string{"didomi_users", "didomi_events", "didomi_rejects"},
		faults: []string{"read.file:1", "read.file:9", "write.batch:20", "write.close:15", "commit.after-log:1",
			"commit.move:8", "commit.delete:1", "commit.delete:8", "commit.side-write:3", "commit.before-log-removal:1",
			"commit.move:8+commit.delete:3"},
	},
	{
		// Ingest then id5_mapping_current (a second commit in the same
		// process): 26 reads, 31+7 batches, 31+7 files; commits: 31+7 moves,
		// 17+21 deletes, 27+2 side writes. The base run compacted the two
		// closed days (8 files each): the crashed run's ingest rewrites their
		// compacted files without the rows of the files it reads again
		// (ingest.uncompact, 2), and its rebuild compacts them again
		// (current.compact, 2; commit.move:35 publishes a compacted file,
		// commit.delete:20 removes a re-pushed day's files, so the double
		// crash commit.delete:20+commit.side-write:2 is in the rebuild's
		// recovery, commit.delete:10+commit.side-write:5 in the ingest's).
		// write.close:32, commit.after-log:2 and commit.side-write:28 crash
		// the rebuild after the ingest committed; current.spill:1 and
		// current.merge:1 crash it once its candidates are spilled into the
		// run's temporary area (one spill file, one shard).
		name: "id5", pipeline: "id5", sample: "testdata/id5/sample",
		args:    []string{"id5", "--source-gvlid=35", "--max-reject-ratio=0.5"},
		tables:  []string{"id5_mapping_updates", "id5_full_extracts", "id5_extract_partners", "id5_rejects", "id5_mapping_base"},
		derived: []string{"id5_current"},
		views:   []string{"id5_mapping_current"},
		faults: []string{"read.file:1", "read.file:20", "write.batch:15", "write.close:32", "commit.after-log:2",
			"commit.move:10", "commit.delete:1", "commit.delete:20", "commit.side-write:28", "commit.before-log-removal:1",
			"commit.delete:20+commit.side-write:2", "commit.delete:10+commit.side-write:5", "current.spill:1", "current.merge:1",
			"ingest.uncompact:1", "current.compact:2", "commit.move:35", "commit.delete:16"},
	},
	{
		// The scheduled push: the base run holds back the three
		// incrementals delivered after the newest extract; the crashed run
		// ingests only them and, with
		// --base-rebuild-share=1, leaves the base as it is: the view reads
		// them as the delta. 3 reads, 3 batches, 3 files; commit: 3 moves,
		// 4 side writes; then the rebuild's check (current.check), which
		// commits nothing.
		name: "id5 delta", pipeline: "id5", sample: "testdata/id5/sample",
		args: []string{"id5", "--source-gvlid=35", "--max-reject-ratio=0.5", "--base-rebuild-share=1"},
		// The bases differ from the reference's (built from everything):
		// the view's rows do not.
		tables:  []string{"id5_mapping_updates", "id5_full_extracts", "id5_extract_partners", "id5_rejects"},
		derived: []string{"id5_current"},
		views:   []string{"id5_mapping_current"},
		hold:    id5Held,
		faults: []string{"read.file:1", "read.file:3", "write.batch:2", "write.close:3", "commit.after-log:1",
			"commit.move:2", "commit.side-write:2", "commit.before-log-removal:1", "commit.move:2+commit.side-write:1", "current.check:1"},
	},
	{
		// 3 whole files + 3 lzop splits, 12 batches, 4 files; commit: 4 moves, 4 deletes, 3 side writes.
		name: "audiencestudio requests", pipeline: "audiencestudio-requests", sample: "testdata/audiencestudio/sample",
		args:   []string{"audiencestudio", "requests", "--lzo-splits=3", "--max-reject-ratio=0.5"},
		tables: []string{"audiencestudio_requests", "audiencestudio_rejects"},
		faults: []string{"read.file:1", "read.file:5", "write.batch:7", "write.close:4", "commit.after-log:1",
			"commit.move:2", "commit.delete:1", "commit.delete:3", "commit.side-write:2", "commit.before-log-removal:1",
			"commit.after-log:1+commit.move:3"},
	},
	{
		// 5 reads, 6 batches, 6 files; commit: 6 moves, 6 deletes, 2 side writes.
		name: "audiencestudio portability", pipeline: "audiencestudio-portability", sample: "testdata/audiencestudio/sample",
		args:   []string{"audiencestudio", "portability", "--max-reject-ratio=0.5"},
		tables: []string{"audiencestudio_portability_events", "audiencestudio_portability_rejects"},
		faults: []string{"read.file:1", "read.file:4", "write.batch:3", "write.close:6", "commit.after-log:1",
			"commit.move:4", "commit.delete:1", "commit.delete:4", "commit.side-write:2", "commit.before-log-removal:1",
			"commit.side-write:2+commit.before-log-removal:1"},
	},
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash tests run the binary about 140 times")
	}
	requireDuckDB(t)
	bin := buildVendorlake(t)
	for _, c := range crashCases {
		t.Run(c.name, func(t *testing.T) {
			in := copyTree(t, c.sample)
			base := t.TempDir()
			var restore func()
			if c.hold != nil {
				restore = holdBack(t, in, c.hold)
			}
			crashRun(t, bin, c, in, base, "").mustCommit(t, "base run")
			if restore != nil {
				restore()
			} else {
				changeInput(t, in)
			}
			ref := t.TempDir()
			crashRun(t, bin, c, in, ref, "").mustCommit(t, "reference run")
			for _, fault := range c.faults {
				t.Run(fault, func(t *testing.T) {
					lake := copyLake(t, base)
					for _, f := range strings.Split(fault, "+") {
						r := crashRun(t, bin, c, in, lake, f)
						if !r.killed() {
							t.Fatalf("stale fault setting: %s=%s never fired (%v); choose N again with %s=trace\n%s\n%s",
								faults.Env, f, r.err, faults.Env, r.stdout, r.stderr)
						}
					}
					pending := treeHashes(t, lakestate.LegacyCommitsDir(lake))
					if strings.HasPrefix(fault, "commit.") != (len(pending) > 0) {
						t.Errorf("after a crash at %s, pending commit logs: %v", fault, pending)
					}
					if len(pending) == 0 && newReports(t, base, lake) == 0 {
						// Nothing is published before a commit log.
						if got, want := tableFiles(t, lake), tableFiles(t, base); got != want {
							t.Errorf("a crash before the commit changed the tables")
						}
					}

					out := crashRun(t, bin, c, in, lake, "").mustCommit(t, "rerun after the crash")
					rep := lastReport(t, lake, c.pipeline)
					if strings.HasPrefix(fault, "commit.") && len(rep.Recovered) == 0 {
						t.Errorf("the rerun did not recover the crashed commit:\n%s", out)
					}
					if !strings.HasPrefix(fault, "commit.") && len(rep.Recovered) != 0 {
						t.Errorf("the rerun recovered %v, but the crash came before any commit log", rep.Recovered)
					}
					sameTables(t, lake, ref, c.tables...)
					for _, v := range c.views {
						sameTables(t, exportView(t, lake, v), exportView(t, ref, v), v)
					}
					assertNoTempInTables(t, lake)
					if left := treeHashes(t, lakestate.LegacyCommitsDir(lake)); len(left) != 0 {
						t.Errorf("commit logs left after the rerun: %v", left)
					}
					sameLedger(t, lake, ref, c.derived)

					before := lakeState(t, lake)
					out = crashRun(t, bin, c, in, lake, "").mustCommit(t, "third run")
					if !strings.Contains(out, "nothing to do") {
						t.Errorf("third run: want nothing to do:\n%s", out)
					}
					if after := lakeState(t, lake); after != before {
						t.Errorf("a run with nothing to do changed the lake")
					}
				})
			}
		})
	}
	t.Run("didomi output spelled differently by the rerun", func(t *testing.T) { crashAcrossOutputSpellings(t, bin) })
}

// crashAcrossOutputSpellings: a run started with a relative
// --output crashes in its commit; the rerun names the same lake by its
// absolute path from another working directory (as a scheduler and a shell
// may). Recovery used to fail there on every run ("publish: rename
// lake/TEMP_DIR/...: no such file or directory"): the commit log holds
// the paths as the crashed run spelled them.
func crashAcrossOutputSpellings(t *testing.T, bin string) {
	c := crashCases[0] // didomi
	in := copyTree(t, c.sample)
	work := t.TempDir()
	lake := filepath.Join(work, "lake")
	crashRunIn(t, bin, work, c, in, "lake", "").mustCommit(t, "base run")
	changeInput(t, in)
	ref := t.TempDir()
	crashRun(t, bin, c, in, ref, "").mustCommit(t, "reference run")
	// Crash in the commit, then crash the relative rerun in its recovery:
	// the log is recorded, then applied, under the relative spelling.
	for _, fault := range []string{"commit.move:3", "commit.delete:2"} {
		if r := crashRunIn(t, bin, work, c, in, "lake", fault); !r.killed() {
			t.Fatalf("stale fault setting: %s=%s never fired (%v)\n%s\n%s", faults.Env, fault, r.err, r.stdout, r.stderr)
		}
	}
	out := crashRunIn(t, bin, t.TempDir(), c, in, lake, "").mustCommit(t, "rerun by the absolute path")
	if rep := lastReport(t, lake, c.pipeline); len(rep.Recovered) == 0 {
		t.Errorf("the rerun did not recover the crashed commit:\n%s", out)
	}
	sameTables(t, lake, ref, c.tables...)
	assertNoTempInTables(t, lake)
	if left := treeHashes(t, lakestate.LegacyCommitsDir(lake)); len(left) != 0 {
		t.Errorf("commit logs left after the rerun: %v", left)
	}
	sameLedger(t, lake, ref, c.derived)
	out = crashRunIn(t, bin, work, c, in, "lake", "").mustCommit(t, "third run, relative again")
	if !strings.Contains(out, "nothing to do") {
		t.Errorf("third run: want nothing to do:\n%s", out)
	}
}

// requireDuckDB skips (or, under scripts/test.sh, fails) before any run
// when DuckDB is not installed, as duckdb does.
func requireDuckDB(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("scripts/duckdb/node_modules/@duckdb/node-api"); err != nil {
		if os.Getenv("VENDORLAKE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB is required but not installed (scripts/test.sh installs it): %v", err)
		}
		t.Skip("DuckDB not installed; run scripts/test.sh")
	}
}

type crashResult struct {
	stdout, stderr string
	err            error
}

// crashRun runs the binary on in and lake, with fault armed when not empty.
func crashRun(t *testing.T, bin string, c crashCase, in, lake, fault string) crashResult {
	t.Helper()
	return crashRunIn(t, bin, "", c, in, lake, fault)
}

// crashRunIn is crashRun in the working directory dir.
func crashRunIn(t *testing.T, bin, dir string, c crashCase, in, lake, fault string) crashResult {
	t.Helper()
	args := append(append([]string(nil), c.args...), "--input="+in, "--output="+lake, "--runner=direct")
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, faults.Env+"=") {
			env = append(env, kv)
		}
	}
	if fault != "" {
		env = append(env, faults.Env+"="+fault)
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return crashResult{stdout: out.String(), stderr: errb.String(), err: err}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("vendorlake %v (fault %q) hung\n%s\n%s", args, fault, out.String(), errb.String())
		return crashResult{}
	}
}

func (r crashResult) killed() bool {
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func (r crashResult) mustCommit(t *testing.T, what string) string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v\n%s\n%s", what, r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// changeInput makes every data file of in differ from what the base run
// committed: the last line of each text file (plain or gzip) with three
// lines or more is dropped (so rows change, not only file identities), and
// every data file's mtime moves an hour ahead (other files keep their bytes:
// an lzop index must stay valid, a tar or a split part readable). Markers
// and indexes are left alone.
func changeInput(t *testing.T, in string) {
	t.Helper()
	later := time.Now().Add(time.Hour)
	err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if name == "_SUCCESS" || name == "EXPECTED.json" || strings.HasSuffix(name, ".index") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
			// Whole gzip files of text lines only: not split parts, not tar.
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				break
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !isText(plain) {
				break
			}
			if cut, ok := dropLastLine(plain); ok {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(cut)
				zw.Close()
				data = b.Bytes()
			}
		case isText(data):
			if cut, ok := dropLastLine(data); ok {
				data = cut
			}
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(p, later, later)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// isText reports whether b looks like lines of text (UTF-8, no NUL): not
// lzop, tar or a proof document.
func isText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

func dropLastLine(b []byte) ([]byte, bool) {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) < 3 {
		return nil, false
	}
	return append(bytes.Join(lines[:len(lines)-1], []byte("\n")), '\n'), true
}

// copyLake copies a lake, keeping modification times (id5's rebuild
// tracks the lake files it depends on by them).
func copyLake(t *testing.T, src string) string {
	t.Helper()
	return copyDir(t, src, "lake")
}

// tableFiles is a digest of the table folders' files and contents.
func tableFiles(t *testing.T, lake string) string {
	t.Helper()
	var b strings.Builder
	h := treeHashes(t, lake)
	keys := make([]string, 0, len(h))
	for k := range h {
		if !strings.HasPrefix(k, lakestate.Folder+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k, h[k])
	}
	return b.String()
}

// lakeState is a digest of everything a run may change but its own report:
// table files, markers, ledger, commit logs, temporary files.
func lakeState(t *testing.T, lake string) string {
	t.Helper()
	var b strings.Builder
	h := treeHashes(t, lake)
	keys := make([]string, 0, len(h))
	for k := range h {
		if !strings.HasPrefix(k, lakestate.RunsDir("")+"/") && !strings.HasPrefix(k, lakestate.LocksDir("")+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k, h[k])
	}
	return b.String()
}

// ledgerEntry is what sameLedger compares of a ledger entry.
type ledgerEntry struct {
	Unit   string          `json:"unit"`
	Inputs json.RawMessage `json:"inputs"`
	RunID  string          `json:"run_id"`
}

func readLedger(t *testing.T, lake string) map[string]ledgerEntry {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(lakestate.LedgerDir(lake, "*"), "*"))
	out := map[string]ledgerEntry{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e ledgerEntry
		if strings.HasPrefix(filepath.Base(f), ".") || json.Unmarshal(data, &e) != nil || e.Unit == "" {
			t.Errorf("ledger %s: not a committed entry: %q", f, data)
			continue
		}
		out[filepath.Base(filepath.Dir(f))+"/"+e.Unit] = e
	}
	return out
}

// sameLedger asserts that lake's ledger records the reference's units with
// the same inputs (by unit only for derived ledgers), and that every entry
// names a run whose report says committed: no entry without its data.
func sameLedger(t *testing.T, lake, ref string, derived []string) {
	t.Helper()
	got, want := readLedger(t, lake), readLedger(t, ref)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("ledger: unit %s missing", k)
			continue
		}
		dir, _, _ := strings.Cut(k, "/")
		if !contains(derived, dir) && !bytes.Equal(g.Inputs, w.Inputs) {
			t.Errorf("ledger: unit %s records %s, want %s", k, g.Inputs, w.Inputs)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("ledger: unexpected unit %s", k)
		}
		data, err := os.ReadFile(lakestate.ReportPath(lake, g.RunID))
		var rep transforms.RunReport
		if err != nil || json.Unmarshal(data, &rep) != nil || rep.Status != transforms.StatusCommitted {
			t.Errorf("ledger: unit %s names run %s, whose report is not a committed one (%v, %q)", k, g.RunID, err, rep.Status)
		}
	}
}

// newReports counts the run reports in lake that base does not have.
func newReports(t *testing.T, base, lake string) int {
	t.Helper()
	old := treeHashes(t, lakestate.RunsDir(base))
	n := 0
	for k := range treeHashes(t, lakestate.RunsDir(lake)) {
		if _, ok := old[k]; !ok {
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
