package run

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestPrintSummaryNeverCutsWarnings(t *testing.T) {
	r := transforms.RunReport{Pipeline: "didomi", RunID: "r1", Status: transforms.StatusCommitted, Output: "/lake"}
	for i := 0; i < 12; i++ {
		r.Skipped = append(r.Skipped, transforms.Skipped{What: fmt.Sprintf("s%02d", i), Reason: "incomplete"})
	}
	r.Skipped = append(r.Skipped, transforms.Skipped{What: "export-id=a/date=2024-05-01", Reason: transforms.ReasonEmpty, Warning: true})
	var buf bytes.Buffer
	PrintSummary(&buf, r)
	out := buf.String()
	if !strings.Contains(out, "  warning   export-id=a/date=2024-05-01: "+transforms.ReasonEmpty) {
		t.Errorf("summary lacks the warning:\n%s", out)
	}
	if !strings.Contains(out, "... and 2 more") {
		t.Errorf("summary does not cut the ordinary skips at 10:\n%s", out)
	}
}

func TestEmptyUnitsInDryRun(t *testing.T) {
	c := []hiveparquet.Claim{{Table: "t", Partition: "p=1"}}
	plan := transforms.Plan{
		Files: []transforms.InputFile{{Unit: "full"}},
		Units: []transforms.Unit{{Key: "full", Claims: c}, {Key: "empty", Claims: c}, {Key: "unguarded"}},
	}
	got := emptyUnits(plan)
	if len(got) != 1 || got[0].What != "empty" || !got[0].Warning {
		t.Errorf("emptyUnits = %+v, want one warning for unit empty", got)
	}
}
