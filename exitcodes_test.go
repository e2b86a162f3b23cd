package main

import (
	"strings"
	"testing"
)

// TestREADMEExitCodes keeps README.md's exit-code table the one generated
// from exitCodeTable, between its exit-codes markers.
func TestREADMEExitCodes(t *testing.T) {
	if got, want := readmeBlock(t, "exit-codes"), exitCodesMarkdown(); got != want {
		t.Errorf("README.md's exit-code table differs from exitcodes.go's; put this between its markers:\n%s", want)
	}
}

// TestExitCodeTable: every exit code once, in increasing order, each with
// a sentence; the help prints each of them.
func TestExitCodeTable(t *testing.T) {
	_, help, _ := vendorlake(t, "help")
	help = strings.Join(strings.Fields(help), " ") // unwrapped
	prev := -1
	for _, e := range exitCodeTable() {
		if e.code <= prev {
			t.Errorf("exit code %d after %d: want each once, in increasing order", e.code, prev)
		}
		prev = e.code
		if !strings.HasSuffix(e.situation, ".") || strings.Contains(e.situation, "\n") {
			t.Errorf("exit code %d: situation %q is not one sentence on one line", e.code, e.situation)
		}
		if !strings.Contains(help, e.situation) {
			t.Errorf("help lacks exit code %d's situation %q", e.code, e.situation)
		}
	}
}
