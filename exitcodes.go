package main

import (
	"fmt"
	"regexp"
	"strings"
)

// The command's exit codes (decided in issue 22). Each has one row in
// exitCodeTable, which the help and README.md's table are derived from.
const (
	exitOK             = 0   // committed, or nothing new, or a dry run
	exitFailed         = 1   // error: nothing of the run committed
	exitUsage          = 2   // usage error
	exitRejectRatio    = 3   // reject gate or ID5 extract guard: nothing committed
	exitLocked         = 4   // another run holds the lock
	exitHeldBack       = 5   // committed, some units or proof tables held back; the next run retries them
	exitNothingMatched = 6   // nothing matched the vendor's layout or the filters
	exitWaitExpired    = 7   // --wait-for-success expired with units incomplete (complete ones committed)
	exitInterrupted    = 130 // SIGINT
	exitTerminated     = 143 // SIGTERM
)

// exitCode is one exit code of the command and the situation that gives it,
// in one sentence.
type exitCode struct {
	code      int
	situation string
}

// exitCodeTable is the one table of the command's exit codes, in order:
// usage prints it and TestREADMEExitCodes checks that README.md's table is
// exitCodesMarkdown of it.
func exitCodeTable() []exitCode {
	return []exitCode{
		{exitOK, "Committed, or nothing new (every complete unit already committed, no partition in the date range), or a dry run."},
		{exitFailed, "Error: nothing of the run is committed and the lake's earlier data is intact."},
		{exitUsage, "Usage error: an unknown command, runner or flag, a bad flag value, or an output inside the input (or the reverse)."},
		{exitRejectRatio, "Nothing committed: the reject ratio exceeded --max-reject-ratio, or (ID5) a full extract was refused by --max-extract-shrink; the rejected rows are kept in _vendorlake/runs/RUN_ID/."},
		{exitLocked, "Another run of the pipeline holds its lock on the output, or took it over from this run, which then committed nothing (see --lock-wait, --lock-lease and --break-lock)."},
		{exitHeldBack, "Committed, but some units (an unreadable input file) or proof tables (an unreadable proof archive, or entries rejected beyond --max-proof-reject-ratio) were held back: the summary names them, and the next run retries them."},
		{exitNothingMatched, "Nothing matched: no input under --input has the vendor's layout, or the filters select nothing."},
		{exitWaitExpired, "--wait-for-success expired with units still incomplete: the summary names them, and the complete units were committed."},
		{exitInterrupted, "Interrupted by SIGINT (Ctrl-C): before the commit started the lake is as it was; a commit already started was finished first."},
		{exitTerminated, "Terminated by SIGTERM: as for SIGINT."},
	}
}

// exitCodesHelp is the exit-code paragraph of the command's help.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range exitCodeTable() {
		// Wrapped at 100 columns, under the situation's first word.
		line := fmt.Sprintf("  %3d ", e.code)
		for _, word := range strings.Fields(e.situation) {
			if len(line)+1+len(word) > 100 {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", 6)
			}
			line += " " + word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// flagName matches a flag in a situation, e.g. --max-reject-ratio.
var flagName = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

// exitCodesMarkdown is README.md's exit-code table: a Markdown table whose
// flags are code spans.
func exitCodesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Exit code | Situation |\n|---:|---|\n")
	for _, e := range exitCodeTable() {
		fmt.Fprintf(&b, "| `%d` | %s |\n", e.code, flagName.ReplaceAllString(e.situation, "`$0`"))
	}
	return b.String()
}
