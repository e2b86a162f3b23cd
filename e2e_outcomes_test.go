package main

// Tests of the outcomes of everyday mistakes (issue 22): each exits
// non-zero with one line saying what was expected and what was found, and
// the normal scheduled cases exit 0 saying which they are.

import (
	"strings"
	"testing"
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
