package main

// Tests of the outcomes of everyday mistakes (issue 22): each exits
// non-zero with one line saying what was expected and what was found, and
// the normal scheduled cases exit 0 saying which they are.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
)

// oneLine fails t unless errs (a run's stderr) is one line holding every
// one of want, and returns it.
func oneLine(t *testing.T, errs string, want ...string) string {
	t.Helper()
	line := strings.TrimSpace(errs)
	if line == "" || strings.Contains(line, "\n") {
		t.Errorf("want one error line, got:\n%s", errs)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line lacks %q:\n%s", w, line)
		}
	}
	return line
}

func TestDatesThatAreNotDatesAreUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{didomiArgs("testdata/didomi", t.TempDir(), "--from=2024-13-01"), "--from=2024-13-01 is not a date: want YYYY-MM-DD"},
		{didomiArgs("testdata/didomi", t.TempDir(), "--to=abcd-ef-gh"), "--to=abcd-ef-gh is not a date: want YYYY-MM-DD"},
		{[]string{"id5", "--input=testdata/id5/sample", "--output=" + t.TempDir(), "--source-gvlid=35", "--from=2024-02-30"},
			"--from=2024-02-30 is not a date: want YYYY-MM-DD"},
		{[]string{"audiencestudio", "portability", "--input=testdata/audiencestudio/sample", "--output=" + t.TempDir(), "--to=2024-00-10"},
			"--to=2024-00-10 is not a date: want YYYY-MM-DD"},
	} {
		t.Run(strings.Join(c.args[:1], " ")+" "+c.args[len(c.args)-1], func(t *testing.T) {
			code, out, errs := vendorlake(t, c.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, out, errs)
			}
			oneLine(t, errs, c.want)
		})
	}
}

// noTables fails t if the lake holds a table file: a run that matched
// nothing commits nothing.
func noTables(t *testing.T, lake string) {
	t.Helper()
	for k := range treeHashes(t, lake) {
		if !strings.HasPrefix(k, lakestate.Folder+"/") {
			t.Errorf("a run that matched nothing wrote %s", k)
		}
	}
}

func TestInputOutsideTheLayoutMatchesNothing(t *testing.T) {
	didomiIn := copyTree(t, "testdata/didomi")
	empty := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"didomi one level too deep", []string{"didomi", "--input=" + filepath.Join(didomiIn, "export-id=exp-app")},
			[]string{"matches the layout export-id=ID/date=YYYY-MM-DD/users/*.json.gz", "found 12 files: date=2024-03-01/_SUCCESS, date=2024-03-01/users/", "date=2024-03-02/_SUCCESS and 7 more"}},
		{"didomi on an ID5 bucket", []string{"didomi", "--input=testdata/id5/sample"},
			[]string{"matches the layout export-id=ID/date=YYYY-MM-DD/", "full-extracts/109/"}},
		{"audiencestudio on a Didomi folder", []string{"audiencestudio", "requests", "--input=" + didomiIn},
			[]string{"matches the layout uploads/consent-data/YYYY-MM-DD/", "EXPECTED.json, README.md, export-id=exp-app/date=2024-03-01/"}},
		{"portability on a Didomi folder", []string{"audiencestudio", "portability", "--input=" + didomiIn},
			[]string{"matches the layout portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK/KUID"}},
		{"id5 on a Didomi folder", []string{"id5", "--source-gvlid=35", "--input=" + didomiIn},
			[]string{"matches the layout incremental/[PARTNER_GVLID/]YYYYMMDD/HHMMSS.csv", "README.md"}},
		{"empty input", []string{"didomi", "--input=" + empty},
			[]string{"no file under " + empty + " (want the layout export-id=ID/date=YYYY-MM-DD/", "check --input"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lake := t.TempDir()
			code, out, errs := vendorlake(t, append(c.args, "--output="+lake)...)
			if code != exitNothingMatched {
				t.Errorf("exit %d, want %d\n%s%s", code, exitNothingMatched, out, errs)
			}
			oneLine(t, errs, append([]string{"nothing matched: "}, c.want...)...)
			noTables(t, lake)
		})
	}
}

func TestFiltersThatSelectNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"didomi --export-id", didomiArgs("testdata/didomi", "", "--export-id=nope"),
			"--export-id=nope matches nothing under testdata/didomi; export-ids found: exp-app, exp-web"},
		{"didomi --export-id --dry-run", didomiArgs("testdata/didomi", "", "--export-id=nope", "--dry-run"),
			"--export-id=nope matches nothing under testdata/didomi; export-ids found: exp-app, exp-web"},
		{"portability --request-id", []string{"audiencestudio", "portability", "--input=testdata/audiencestudio/sample", "--request-id=REQ-9"},
			"--request-id=REQ-9 matches nothing under testdata/audiencestudio/sample; request IDs found: REQ-0001, REQ-0002"},
		{"id5 --partner", []string{"id5", "--input=testdata/id5/sample", "--source-gvlid=35", "--partner=7"},
			"--partner=7 matches nothing under testdata/id5/sample; per-partner GVLIDs found: 45, 109"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lake := t.TempDir()
			code, out, errs := vendorlake(t, append(c.args, "--output="+lake)...)
			if code != exitNothingMatched {
				t.Errorf("exit %d, want %d\n%s%s", code, exitNothingMatched, out, errs)
			}
			oneLine(t, errs, "nothing matched: "+c.want)
			noTables(t, lake)
		})
	}
}

// TestDateRangeWithoutPartitionIsAWarning: a daily --from=today run
// before the vendor's drop is normal: exit 0, with a warning.
func TestDateRangeWithoutPartitionIsAWarning(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"didomi", didomiArgs("testdata/didomi", "", "--from=2030-01-01"),
			"warning   --from=2030-01-01: nothing under the input is dated in this range yet (dates found: 2024-03-01 to 2024-03-03)"},
		{"portability", []string{"audiencestudio", "portability", "--input=testdata/audiencestudio/sample", "--from=2030-01-01", "--to=2030-01-31"},
			"warning   --from=2030-01-01 --to=2030-01-31: nothing under the input is dated in this range yet (dates found: 2024-03-02 to 2024-03-03)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lake := t.TempDir()
			code, out, errs := vendorlake(t, append(c.args, "--output="+lake)...)
			if code != exitOK || errs != "" {
				t.Errorf("exit %d, want 0\n%s%s", code, out, errs)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("the summary lacks %q:\n%s", c.want, out)
			}
			noTables(t, lake)
		})
	}
}

// TestWaitForSuccessExpires: a sensor that times out fails (exit 7),
// naming the incomplete units; the complete units are committed first.
func TestWaitForSuccessExpires(t *testing.T) {
	lake := t.TempDir()
	code, out, errs := vendorlake(t, didomiArgs("testdata/didomi", lake, "--wait-for-success=1s")...)
	if code != exitWaitExpired {
		t.Errorf("exit %d, want %d\n%s%s", code, exitWaitExpired, out, errs)
	}
	oneLine(t, errs, "--wait-for-success expired after 1s: 1 unit still not complete (no _SUCCESS marker): export-id=exp-app/date=2024-03-03; the 5 complete units are committed")
	if !strings.Contains(out, "committed") || !strings.Contains(out, "didomi_users: ") {
		t.Errorf("the summary does not report the complete units committed:\n%s", out)
	}
	for _, p := range []string{"export_id=exp-app/date=2024-03-01", "export_id=exp-web/date=2024-03-03"} {
		if m, _ := filepath.Glob(filepath.Join(lake, "didomi_users", p, "*.parquet")); len(m) == 0 {
			t.Errorf("complete partition %s not committed", p)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(lake, "didomi_users", "export_id=exp-app", "date=2024-03-03", "*")); len(m) != 0 {
		t.Errorf("incomplete partition committed: %v", m)
	}
	// Nothing incomplete left in the selection: the wait ends green.
	code, out, errs = vendorlake(t, didomiArgs("testdata/didomi", lake, "--wait-for-success=1s", "--to=2024-03-01")...)
	if code != exitOK {
		t.Errorf("a wait with every selected unit complete: exit %d, want 0\n%s%s", code, out, errs)
	}
}

// TestScheduledRunsSayWhyNothingWasRead: the normal cases of a scheduled
// run end green and say which they are.
func TestScheduledRunsSayWhyNothingWasRead(t *testing.T) {
	lake := t.TempDir()
	first := mustRun(t, didomiArgs("testdata/didomi", lake)...)
	want := "warning   1 unit not complete yet (no _SUCCESS marker), a later run reads them (--wait-for-success=DURATION waits for them): export-id=exp-app/date=2024-03-03"
	if !strings.Contains(first, want) {
		t.Errorf("the first run's summary lacks %q:\n%s", want, first)
	}
	runID := lastReport(t, lake, "didomi").RunID
	code, out, errs := vendorlake(t, didomiArgs("testdata/didomi", lake)...)
	if code != exitOK || errs != "" {
		t.Fatalf("second run: exit %d, want 0\n%s%s", code, out, errs)
	}
	for _, w := range []string{"nothing to do", "note      nothing new since run " + runID + ": every complete unit selected is already committed", want} {
		if !strings.Contains(out, w) {
			t.Errorf("the second run's summary lacks %q:\n%s", w, out)
		}
	}
}
