package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// readmeBlock returns the text of README.md between the markers
// "<!-- NAME:begin -->" and "<!-- NAME:end -->", which a test keeps equal
// to what the code generates.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	readme := string(data)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q and %q", begin, end)
	}
	return readme[i+len(begin) : j]
}

// TestREADMECLI keeps README.md's command-line reference, between its cli
// markers, the one generated from the commands' flag sets.
func TestREADMECLI(t *testing.T) {
	if got, want := readmeBlock(t, "cli"), cliReference(); got != want {
		t.Errorf("README.md's command-line reference differs from the flag sets; put this between its markers:\n%s", want)
	}
}

// TestCLIReferenceHasEveryFlag: each flag of each command's flag set has
// its row, with its default, and every command of the help is listed.
func TestCLIReferenceHasEveryFlag(t *testing.T) {
	ref := cliReference()
	sets := map[string]func(*flag.FlagSet){
		"common": (&common{}).register,
		"ddl":    (&ddlCommand{}).register,
		"prune":  (&pruneCommand{}).register,
	}
	for name, register := range sets {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		register(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(ref, "| `--"+f.Name+"` |") {
				t.Errorf("%s: no row for --%s", name, f.Name)
			}
		})
	}
	for _, l := range commands() {
		if !strings.Contains(ref, "| `vendorlake "+l.cmd+"` |") {
			t.Errorf("no row for command %q", l.cmd)
		}
	}
	if !strings.Contains(ref, "| `--max-reject-ratio` | `0.01` | `"+envName("max-reject-ratio")+"` |") {
		t.Errorf("--max-reject-ratio's row lacks its default or variable:\n%s", ref)
	}
	if !strings.Contains(ref, "| `--reprocess` | `false` | — |") {
		t.Error("--reprocess is never read from the environment: its row must say so")
	}
}
