package run

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/commit"
)

func TestPrintSummaryNeverCutsWarnings(t *testing.T) {
	r := transforms.RunReport{Pipeline: "didomi", RunID: "r1", Status: transforms.StatusCommitted, Output: "/lake"}
	for i := 0; i < 12; i++ {
		r.Skipped = append(r.Skipped, transforms.Skipped{What: fmt.Sprintf("s%02d", i), Reason: "unchanged since run r0 committed it"})
	}
	r.Skipped = append(r.Skipped, transforms.Skipped{What: "export-id=a/date=2024-05-01", Reason: commit.ReasonEmpty, Warning: true})
	var buf bytes.Buffer
	PrintSummary(&buf, r)
	out := buf.String()
	if !strings.Contains(out, "  warning   export-id=a/date=2024-05-01: "+commit.ReasonEmpty) {
		t.Errorf("summary lacks the warning:\n%s", out)
	}
	if !strings.Contains(out, "... and 2 more") {
		t.Errorf("summary does not cut the ordinary skips at 10:\n%s", out)
	}
}

func TestDryRunPlanWithoutEmptyUnits(t *testing.T) {
	full := []hiveparquet.Claim{{Table: "t", Partition: "p=full"}}
	empty := []hiveparquet.Claim{{Table: "t", Partition: "p=empty"}}
	plan := transforms.Plan{
		Files:  []transforms.InputFile{{Unit: "full"}},
		Units:  []transforms.Unit{{Key: "full", Claims: full}, {Key: "empty", Claims: empty}, {Key: "unguarded"}},
		Claims: append(append([]hiveparquet.Claim(nil), full...), empty...),
	}
	got := withoutEmptyUnits(plan)
	if len(got.Skipped) != 1 || got.Skipped[0].What != "empty" || !got.Skipped[0].Warning {
		t.Errorf("skipped = %+v, want one warning for unit empty", got.Skipped)
	}
	if len(got.Units) != 2 || got.Units[0].Key != "full" || got.Units[1].Key != "unguarded" {
		t.Errorf("units = %+v", got.Units)
	}
	if len(got.Claims) != 1 || got.Claims[0] != full[0] {
		t.Errorf("claims = %+v, want only the full unit's", got.Claims)
	}
}
