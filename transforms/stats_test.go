package transforms

import (
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestCheckEvents: the events accounting is checked like the lines'.
func TestCheckEvents(t *testing.T) {
	good := FileStats{Rel: "f", Counts: lineparse.Counts{RecordsIn: 3, RecordsOut: 2, Rejected: 1, EventsIn: 5, EventsOut: 3, EventsRejected: 2,
		RejectsByReason: []lineparse.Count{{Name: "a", N: 1}, {Name: "b", N: 2}}}}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	lost := good
	lost.EventsOut = 2
	if err := lost.Check(); err == nil || !strings.Contains(err.Error(), "5 events in, 2 out, 2 rejected") {
		t.Errorf("an event lost: %v", err)
	}
	byReason := good
	byReason.RejectsByReason = []lineparse.Count{{Name: "a", N: 1}}
	if err := byReason.Check(); err == nil {
		t.Error("event rejects missing from the reasons: no error")
	}
}

// TestRejectRatioCountsEvents: (rejected lines + rejected events) / (lines
// + events read).
func TestRejectRatioCountsEvents(t *testing.T) {
	tot := SumStats([]FileStats{
		{Rel: "a", Counts: lineparse.Counts{RecordsIn: 10, RecordsOut: 9, Rejected: 1, EventsIn: 80, EventsOut: 75, EventsRejected: 5}},
		{Rel: "b", Counts: lineparse.Counts{RecordsIn: 10, RecordsOut: 10}},
	})
	if got := tot.RejectRatio(); got != 6.0/100 {
		t.Errorf("ratio %v, want 0.06", got)
	}
	if tot.EventsIn != 80 || tot.EventsRejected != 5 {
		t.Errorf("totals %+v", tot)
	}
	if got := (Totals{}).RejectRatio(); got != 0 {
		t.Errorf("empty ratio %v", got)
	}
}
