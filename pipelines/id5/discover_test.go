package id5

import (
	"context"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestDiscover(t *testing.T) {
	in := t.TempDir()
	for _, rel := range []string{
		"incremental/45/20221106/000000.csv",
		"incremental/45/20221107/000000.csv.gz",
		"incremental/109/20221106/120000.csv",
		"incremental/20221106/003000.csv",
		"full-extracts/45/2022-11-05T00:00:00Z.csv",
		"full-extracts/20221104_120000.csv",
		"full-extracts/45/latest.csv",
		"incremental/45/2022110/000000.csv",
		"incremental/45/20221106/_SUCCESS",
		"elsewhere/file.csv",
	} {
		put(t, in, rel, "x")
	}
	ctx := context.Background()
	rels := func(p transforms.Plan) string {
		var out []string
		for _, f := range p.Files {
			out = append(out, f.Rel+"@"+f.Partition)
		}
		return strings.Join(out, " ")
	}
	plan, err := Discover(ctx, lakefs.Local{}, in, Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "full-extracts/20221104_120000.csv@date=2022-11-04 full-extracts/45/2022-11-05T00:00:00Z.csv@date=2022-11-05 " +
		"incremental/109/20221106/120000.csv@date=2022-11-06 incremental/20221106/003000.csv@date=2022-11-06 " +
		"incremental/45/20221106/000000.csv@date=2022-11-06 incremental/45/20221107/000000.csv.gz@date=2022-11-07"
	if got := rels(plan); got != want {
		t.Errorf("files:\n got %s\nwant %s", got, want)
	}
	if len(plan.Units) != 6 || len(plan.Claims) != 6*2+2 {
		t.Errorf("%d units, %d claims", len(plan.Units), len(plan.Claims))
	}
	var skipped []string
	for _, s := range plan.Skipped {
		skipped = append(skipped, s.What)
	}
	if strings.Join(skipped, " ") != "full-extracts/45/latest.csv incremental/45/2022110/000000.csv incremental/45/20221106/_SUCCESS" {
		t.Errorf("skipped: %+v", plan.Skipped)
	}

	// --partner reads that partner's per-partner files only; --from/--to by delivery day.
	plan, _ = Discover(ctx, lakefs.Local{}, in, Selection{Partner: 45, From: "2022-11-06", To: "2022-11-06"}, nil)
	if got := rels(plan); got != "incremental/45/20221106/000000.csv@date=2022-11-06" {
		t.Errorf("selected: %s", got)
	}

	// The ledger: unchanged files are skipped (one line in the report), changed ones read.
	led := map[string]ledger.Entry{}
	plan, _ = Discover(ctx, lakefs.Local{}, in, Selection{}, nil)
	for _, u := range plan.Units {
		led[u.Key] = ledger.Entry{Unit: u.Key, Inputs: u.Inputs, RunID: "r1"}
	}
	put(t, in, "incremental/20221106/003000.csv", "changed")
	plan, _ = Discover(ctx, lakefs.Local{}, in, Selection{}, led)
	if got := rels(plan); got != "incremental/20221106/003000.csv@date=2022-11-06" {
		t.Errorf("after ledger: %s", got)
	}
	if last := plan.Skipped[len(plan.Skipped)-1]; last.What != "5 ID5 files" {
		t.Errorf("skipped: %+v", plan.Skipped)
	}
	plan, _ = Discover(ctx, lakefs.Local{}, in, Selection{Reprocess: true}, led)
	if len(plan.Files) != 6 {
		t.Errorf("--reprocess read %d files", len(plan.Files))
	}
}
