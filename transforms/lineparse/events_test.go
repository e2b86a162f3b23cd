package lineparse

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// eventParser reads "user:ev,ev,..." lines: a user starting with "bad" is
// rejected whole, an event starting with "bad" alone; an event "warn" is
// kept and counted as a warning.
type eventParser struct {
	echoParser
	in, out, warn int64
}

func newEventParser() Parser { return &eventParser{echoParser: *newEcho().(*echoParser)} }

func (p *eventParser) Parse(line []byte, n int64, rej *Rejects) bool {
	user, evs, _ := strings.Cut(string(line), ":")
	if strings.HasPrefix(user, "bad") {
		rej.Add(n, "bad_user", "bad user", line)
		return false
	}
	for i, e := range strings.Split(evs, ",") {
		p.in++
		switch {
		case strings.HasPrefix(e, "bad"):
			rej.AddEvent(n, i, "bad_event", "bad event", []byte(e))
			continue
		case e == "warn":
			p.warn++
		}
		p.out++
	}
	return p.echoParser.Parse([]byte(user), n, rej)
}

func (p *eventParser) Events() (in, out int64) { return p.in, p.out }

func (p *eventParser) Warnings() []Count {
	if p.warn == 0 {
		return nil
	}
	return []Count{{Name: "warned", N: p.warn}}
}

// TestParseEvents: an EventParser's events are counted per file, its
// event rejects carry their event_index, and the file's counters check.
func TestParseEvents(t *testing.T) {
	input := "u1:a,bad1,b\nbadu:x,y\nu2:warn,bad2\nu3:c\n"
	for _, chunk := range []int{8, 16, 1 << 10} {
		t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) {
			var rejects []string
			counts, err := Parse(context.Background(), strings.NewReader(input), Origin{Rel: "f"}, EventRejectTable("rej", nil), 0,
				Options{ChunkBytes: chunk, Workers: 2}, newEventParser, func(b hiveparquet.Batch) {
					defer b.Record.Release()
					if b.Table != "rej" {
						return
					}
					if got := b.Record.Schema().String(); got != EventRejectSchema().String() {
						t.Errorf("rejects schema %s", got)
					}
					ev := b.Record.Column(6).(*array.Int32)
					for i := 0; i < int(b.Record.NumRows()); i++ {
						at := "line"
						if ev.IsValid(i) {
							at = fmt.Sprint(ev.Value(i))
						}
						rejects = append(rejects, fmt.Sprintf("%d:%s@%s", b.Record.Column(1).(*array.Int64).Value(i), b.Record.Column(2).(*array.String).Value(i), at))
					}
				})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rejects, " "); got != "1:bad_event@1 2:bad_user@line 3:bad_event@1" {
				t.Errorf("rejects %s", got)
			}
			st := counts
			if st.RecordsIn != 4 || st.RecordsOut != 3 || st.Rejected != 1 || st.EventsIn != 6 || st.EventsOut != 4 || st.EventsRejected != 2 {
				t.Errorf("stats %+v", st)
			}
			if fmt.Sprint(st.Warnings) != "[{warned 1}]" {
				t.Errorf("warnings %v", st.Warnings)
			}
			if err := st.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}
