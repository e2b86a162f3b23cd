package run

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// PrintSummary writes the one-screen summary of a run.
func PrintSummary(w io.Writer, r transforms.RunReport) {
	t := r.Totals
	fmt.Fprintf(w, "vendorlake %s: %s in %.1fs (run %s, runner %s)\n", r.Pipeline, strings.ReplaceAll(r.Status, "_", " "), r.Seconds, r.RunID, r.Runner)
	if r.Error != "" {
		fmt.Fprintf(w, "  error     %s\n", r.Error)
	}
	if r.Status == transforms.StatusFailed && t.Files > 0 {
		fmt.Fprintf(w, "  input     %s: %d files, %s planned; the run failed before its commit\n", r.Input, t.Files, human(t.Bytes))
	} else {
		fmt.Fprintf(w, "  input     %s: %d files, %s\n", r.Input, t.Files, human(t.Bytes))
	}
	recIn, recOut, recRej := t.RecordsIn, t.RecordsOut, t.Rejected
	if a := r.Attachments; a != nil {
		recIn, recOut, recRej = recIn-a.EntriesIn, recOut-a.EntriesOut, recRej-a.Rejected
	}
	if recIn > 0 {
		fmt.Fprintf(w, "  records   %d in, %d out, %d rejected (%.2f%%, bound %.2f%%)\n", recIn, recOut, recRej, 100*r.RejectRatio, 100*r.MaxRejectRatio)
	}
	if a := r.Attachments; a != nil {
		fmt.Fprintf(w, "  %-9s %d entries in %d archives, %d kept, %d rejected (bound %.2f%% per partition)\n", a.Kind, a.EntriesIn, a.Files, a.EntriesOut, a.Rejected, 100*a.MaxRejectRatio)
	}
	for _, h := range r.HeldBack {
		// Never cut: each names what the next run retries.
		switch {
		case h.Reason == transforms.HeldProofRejects && r.Attachments != nil:
			fmt.Fprintf(w, "  held back %s of %s: %d of %d entries rejected (%.2f%%); %s keep their previous contents\n",
				r.Attachments.Kind, h.Partition, h.Rejected, h.EntriesIn, 100*h.RejectRatio, strings.Join(h.Tables, ", "))
		case len(h.Tables) > 0:
			fmt.Fprintf(w, "  held back %s of %s: unreadable input %s: %s; they keep their previous contents\n",
				strings.Join(h.Tables, ", "), h.Partition, h.File, h.Error)
		case h.File != "":
			fmt.Fprintf(w, "  held back %s: unreadable input %s: %s; nothing of it committed, the next run retries it\n", h.Unit, h.File, h.Error)
		default:
			fmt.Fprintf(w, "  held back %s: %s; nothing of it committed, the next run retries it\n", h.Unit, h.Error)
		}
	}
	if t.BlankLines > 0 {
		fmt.Fprintf(w, "  blank     %d blank lines skipped (not records)\n", t.BlankLines)
	}
	if t.EventsIn > 0 {
		fmt.Fprintf(w, "  events    %d in, %d out, %d rejected (their records kept)\n", t.EventsIn, t.EventsOut, t.EventsRejected)
	}
	type agg struct {
		rows  int64
		parts int
		files int
	}
	tables := map[string]*agg{}
	var order []string
	for _, p := range r.Partitions {
		a := tables[p.Table]
		if a == nil {
			a = &agg{}
			tables[p.Table] = a
			order = append(order, p.Table)
		}
		a.rows += p.Rows
		a.parts++
		a.files += p.Files
	}
	for i, name := range order {
		label := ""
		if i == 0 {
			label = "tables"
		}
		a := tables[name]
		fmt.Fprintf(w, "  %-9s %s: %d rows, %d partitions, %d files\n", label, name, a.rows, a.parts, a.files)
	}
	if r.FilesReplaced > 0 {
		fmt.Fprintf(w, "  replaced  %d files of earlier runs\n", r.FilesReplaced)
	}
	if len(t.RejectsByReason) > 0 {
		var parts []string
		for _, c := range t.RejectsByReason {
			parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.N))
		}
		fmt.Fprintf(w, "  rejects   %s\n", strings.Join(parts, ", "))
	}
	if r.RejectsKept != "" {
		fmt.Fprintf(w, "  kept      the rejected rows in %s (TABLE/k=v/*.parquet)\n", r.RejectsKept)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "  %-9s %s\n", "note", r.Note)
	}
	var skipped []transforms.Skipped
	var incomplete []string
	for _, s := range r.Skipped {
		switch {
		case s.Warning:
			// Never cut: each names a partition whose data was not replaced.
			fmt.Fprintf(w, "  %-9s %s: %s\n", "warning", s.What, s.Reason)
		case s.Incomplete():
			incomplete = append(incomplete, s.What)
		default:
			skipped = append(skipped, s)
		}
	}
	if n := len(incomplete); n > 0 {
		fmt.Fprintf(w, "  %-9s %s not complete yet (no _SUCCESS marker), a later run reads them (--wait-for-success=DURATION waits for them): %s\n",
			"warning", plural(n, "unit", "units"), some(incomplete, maxValues))
	}
	for i, s := range skipped {
		if i == 10 {
			fmt.Fprintf(w, "            ... and %d more (see the run report)\n", len(skipped)-10)
			break
		}
		label := ""
		if i == 0 {
			label = "skipped"
		}
		fmt.Fprintf(w, "  %-9s %s: %s\n", label, s.What, s.Reason)
	}
	n := 0
	for _, in := range r.Inputs {
		for _, c := range in.Replaces {
			label := ""
			if n == 0 {
				label = "replaces"
			}
			n++
			fmt.Fprintf(w, "  %-9s %s %s %s: %d -> %d rows (%d absent)\n", label, in.Rel, c.Table, c.Key, c.Before, c.After, c.Absent)
		}
	}
	for _, in := range r.Inputs {
		if in.Error != "" {
			fmt.Fprintf(w, "  file error %s: %s\n", in.Rel, in.Error)
		}
	}
	if r.Plan != nil {
		printPlan(w, *r.Plan)
	}
	if len(r.PendingCommits) > 0 {
		fmt.Fprintf(w, "  pending   interrupted commits of runs %s: a real run finishes them first\n", strings.Join(r.PendingCommits, ", "))
	}
	if len(r.Recovered) > 0 {
		fmt.Fprintf(w, "  recovered interrupted commits of runs %s\n", strings.Join(r.Recovered, ", "))
	}
	if r.Status != transforms.StatusDryRun {
		fmt.Fprintf(w, "  report    %s\n", lakestate.ReportPath(r.Output, r.RunID))
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// printPlan lists what a dry run would read and replace.
func printPlan(w io.Writer, p transforms.Plan) {
	files := map[string]int{}
	bytes := map[string]int64{}
	for _, f := range p.Files {
		files[f.Unit]++
		bytes[f.Unit] += f.Size
	}
	for i, u := range p.Units {
		label := ""
		if i == 0 {
			label = "would read"
		}
		fmt.Fprintf(w, "  %-10s %s: %d files, %s\n", label, u.Key, files[u.Key], human(bytes[u.Key]))
	}
	for i, c := range p.Claims {
		if i == 20 {
			fmt.Fprintf(w, "             ... and %d more partitions\n", len(p.Claims)-20)
			break
		}
		label := ""
		if i == 0 {
			label = "would replace"
		}
		what := c.Table + "/" + c.Partition
		if c.Source != "" {
			what += " (rows of " + c.Source + ")"
		}
		fmt.Fprintf(w, "  %-13s %s\n", label, what)
	}
}
