package main

// End-to-end tests of what a run reads in a complete partition and of the
// guard against silent wipes: a Didomi partition (or an Audience Studio
// request/day) that is complete but yields no record keeps its previous
// contents, with a warning, unless --allow-empty-partitions.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/commit"
)

// writeGzip writes lines as one gzip member to root/rel.
func writeGzip(t *testing.T, root, rel string, lines ...string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	touchFile(t, filepath.Join(root, rel), buf.Bytes())
}

func didomiUser(id string) string {
	return `{"user":{"id":"` + id + `","organization_id":"org","created_at":"2024-05-01T08:00:00Z"},"events":[]}`
}

// partitionRows returns the rows the report says the run published into
// table/partition (-1 when it published nothing there).
func partitionRows(rep transforms.RunReport, table, partition string) int64 {
	for _, p := range rep.Partitions {
		if p.Table == table && p.Partition == partition {
			return p.Rows
		}
	}
	return -1
}

// warned returns the report's warning about what, if any.
func warned(rep transforms.RunReport, what string) (transforms.Skipped, bool) {
	for _, s := range rep.Skipped {
		if s.What == what && s.Warning {
			return s, true
		}
	}
	return transforms.Skipped{}, false
}

// partitionFiles returns the hashes of the files below lake/table/partition.
func partitionFiles(t *testing.T, lake, table, partition string) string {
	t.Helper()
	dir := filepath.Join(lake, table, filepath.FromSlash(partition))
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return fmt.Sprint(treeHashes(t, dir))
}

func TestDidomiReadsJSONGzAtThePartitionRoot(t *testing.T) {
	in, lake := filepath.Join(t.TempDir(), "in"), t.TempDir()
	dir := "export-id=x/date=2024-05-01"
	touchFile(t, filepath.Join(in, dir, "_SUCCESS"), nil)
	writeGzip(t, in, dir+"/part-0.json.gz", didomiUser("r1"), didomiUser("r2"))
	writeGzip(t, in, dir+"/users/part-1.json.gz", didomiUser("u1"))
	writeGzip(t, in, dir+"/_temporary/0/part-2.json.gz", didomiUser("tmp"))
	out := mustRun(t, didomiArgs(in, lake)...)
	rep := lastReport(t, lake, "didomi")
	if n := partitionRows(rep, "didomi_users", "export_id=x/date=2024-05-01"); n != 3 {
		t.Errorf("didomi_users/export_id=x/date=2024-05-01: %d rows, want 3 (2 at the root, 1 in users/)\n%s", n, out)
	}
	if rep.Totals.Files != 2 {
		t.Errorf("%d files read, want 2 (_temporary/ left out)", rep.Totals.Files)
	}
	if !strings.Contains(out, dir+"/_temporary/0/part-2.json.gz") {
		t.Errorf("the summary does not list the skipped _temporary file:\n%s", out)
	}
}

func TestDidomiCompletePartitionWithoutRecordKeepsItsContents(t *testing.T) {
	const dir = "export-id=x/date=2024-05-01"
	const part = "export_id=x/date=2024-05-01"
	for _, tt := range []struct {
		name  string
		empty func(t *testing.T, in string) // makes the partition yield nothing
	}{
		{"no json.gz", func(t *testing.T, in string) {}},
		{"empty gzip", func(t *testing.T, in string) { writeGzip(t, in, dir+"/users/b.json.gz") }},
		{"zero-byte file", func(t *testing.T, in string) { touchFile(t, filepath.Join(in, dir, "users", "b.json.gz"), nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, lake := filepath.Join(t.TempDir(), "in"), t.TempDir()
			touchFile(t, filepath.Join(in, dir, "_SUCCESS"), nil)
			writeGzip(t, in, dir+"/users/a.json.gz", didomiUser("u1"), didomiUser("u2"))
			writeGzip(t, in, "export-id=x/date=2024-05-02/users/a.json.gz", didomiUser("u3"))
			touchFile(t, filepath.Join(in, "export-id=x/date=2024-05-02/_SUCCESS"), nil)
			mustRun(t, didomiArgs(in, lake)...)
			first := lastReport(t, lake, "didomi")
			before := partitionFiles(t, lake, "didomi_users", part)
			if before == "" {
				t.Fatal("first run committed no users file")
			}

			// The vendor redelivers the partition empty, and the next day changes.
			os.Remove(filepath.Join(in, dir, "users", "a.json.gz"))
			tt.empty(t, in)
			writeGzip(t, in, "export-id=x/date=2024-05-02/users/a.json.gz", didomiUser("u3"), didomiUser("u4"))
			if tt.name == "no json.gz" {
				// Without any file the dry run already knows.
				out := mustRun(t, didomiArgs(in, lake, "--dry-run")...)
				if !strings.Contains(out, "warning   "+dir+": "+commit.ReasonEmpty) || strings.Contains(out, "would read "+dir) {
					t.Errorf("dry run does not warn about %s:\n%s", dir, out)
				}
			}
			code, out, errs := vendorlake(t, didomiArgs(in, lake)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errs)
			}
			rep := lastReport(t, lake, "didomi")
			if s, ok := warned(rep, dir); !ok || !strings.HasPrefix(s.Reason, commit.ReasonEmpty) {
				t.Errorf("report: no empty-partition warning for %s: %+v", dir, rep.Skipped)
			}
			if !strings.Contains(out, "warning") || !strings.Contains(out, dir) {
				t.Errorf("summary does not warn about %s:\n%s", dir, out)
			}
			if after := partitionFiles(t, lake, "didomi_users", part); after != before {
				t.Errorf("the empty partition's previous contents changed")
			}
			if n := partitionRows(rep, "didomi_users", part); n != -1 {
				t.Errorf("the run published %d rows into the empty partition", n)
			}
			if n := partitionRows(rep, "didomi_users", "export_id=x/date=2024-05-02"); n != 2 {
				t.Errorf("the other partition: %d rows, want 2 (the run goes on)", n)
			}
			led, err := lakestate.LoadLedger(t.Context(), lakefs.Local{}, lake, "didomi")
			if err != nil {
				t.Fatal(err)
			}
			if e := led[dir]; e.RunID != first.RunID {
				t.Errorf("ledger of %s: run %q, want the first run %q (a skipped partition is not recorded)", dir, e.RunID, first.RunID)
			}

			// --allow-empty-partitions commits it empty.
			code, out, errs = vendorlake(t, didomiArgs(in, lake, "--allow-empty-partitions")...)
			if code != 0 {
				t.Fatalf("--allow-empty-partitions: exit %d\n%s\n%s", code, out, errs)
			}
			rep = lastReport(t, lake, "didomi")
			if _, ok := warned(rep, dir); ok || rep.Status != transforms.StatusCommitted {
				t.Errorf("--allow-empty-partitions: status %s, skipped %+v", rep.Status, rep.Skipped)
			}
			if after := partitionFiles(t, lake, "didomi_users", part); strings.Contains(after, ".parquet") {
				t.Errorf("--allow-empty-partitions left files in the partition: %s", after)
			}
		})
	}
}

func TestDidomiRejectsAloneAreNotAnEmptyPartition(t *testing.T) {
	in, lake := filepath.Join(t.TempDir(), "in"), t.TempDir()
	dir := "export-id=x/date=2024-05-01"
	touchFile(t, filepath.Join(in, dir, "_SUCCESS"), nil)
	writeGzip(t, in, dir+"/users/a.json.gz", `{"user":null}`)
	mustRun(t, didomiArgs(in, lake, "--max-reject-ratio=1")...)
	rep := lastReport(t, lake, "didomi")
	if _, ok := warned(rep, dir); ok {
		t.Errorf("a partition with rejects was skipped as empty: %+v", rep.Skipped)
	}
	if n := partitionRows(rep, "didomi_rejects", "export_id=x/date=2024-05-01"); n != 1 {
		t.Errorf("didomi_rejects: %d rows, want 1", n)
	}
}

func TestAudienceStudioRequestDayWithoutFeedFileKeepsItsContents(t *testing.T) {
	in, lake := copyDir(t, asSample, "in"), t.TempDir()
	const day = "portability/REQ-0001/2024-03-02"
	const part = "request_id=REQ-0001/date=2024-03-02/data_source=segment.gif"
	args := []string{"audiencestudio", "portability", "--input=" + in, "--output=" + lake, "--max-reject-ratio=0.5"}
	mustRun(t, args...)
	before := partitionFiles(t, lake, "audiencestudio_portability_events", part)
	if before == "" {
		t.Fatal("first run committed nothing for " + part)
	}
	// The request/day is redelivered with _SUCCESS and no feed file at all.
	entries, _ := os.ReadDir(filepath.Join(in, day))
	for _, e := range entries {
		if e.IsDir() {
			os.RemoveAll(filepath.Join(in, day, e.Name()))
		}
	}
	code, out, errs := vendorlake(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errs)
	}
	rep := lastReport(t, lake, "audiencestudio-portability")
	if _, ok := warned(rep, day); !ok {
		t.Errorf("report: no empty warning for %s: %+v", day, rep.Skipped)
	}
	if !strings.Contains(out, "warning") || !strings.Contains(out, day) {
		t.Errorf("summary does not warn about %s:\n%s", day, out)
	}
	if after := partitionFiles(t, lake, "audiencestudio_portability_events", part); after != before {
		t.Errorf("the request/day's previous contents changed")
	}
	mustRun(t, append(args, "--allow-empty-partitions")...)
	if after := partitionFiles(t, lake, "audiencestudio_portability_events", part); strings.Contains(after, ".parquet") {
		t.Errorf("--allow-empty-partitions left files: %s", after)
	}
}
