package didomi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

const goodLine = `{"user":{"id":"u1","organization_id":"org","organization_user_id":"a@b.c","version":3,` +
	`"created_at":"2024-03-01T10:15:30.123456+02:00","updated_at":"2024-03-01T10:15:31Z","metadata":{"plan":"pro"},` +
	`"country":"FR","last_seen_country":null,"ab_test":{"bucket":"B"},` +
	`"consents":{"purposes":[{"id":"cookies","enabled":true,"enabled_li":null,"metadata":{},"values":{"freq":{"value":"daily"},"n":{"value":3}},"channels":[{"id":"email"}]}],` +
	`"vendors":{"enabled":["google",755],"disabled":[],"enabled_li":[],"disabled_li":[]},"channels":[{"id":"sms","enabled":false}],"tcfcs":"CP123"}},` +
	`"events":[{"id":"e1","organization_id":"org","created_at":"2024-03-01T08:00:00Z","status":"confirmed","user":{"id":"u1","country":"FR"},` +
	`"consents":{"purposes":[{"id":"cookies","enabled":true}]},"proofs_id":["` + strings64 + `.pdf"],"delegate":{"id":"d1","name":"Agent"},"source":{"type":"api"}},` +
	`{"id":"e2","regulation":"cpra"}],"batch":7}`

const strings64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// parseOne runs one line through a parser and returns the batches and rejects.
func parseOne(t *testing.T, line string) (users, events arrow.Record, rej arrow.Record, ok bool) {
	t.Helper()
	p := newParser("f.json.gz", "export_id=x/date=2024-03-01")
	defer p.Release()
	r := lineparse.NewRejects(Rejects(), "export_id=x/date=2024-03-01", "", "f.json.gz", 0)
	defer r.Release()
	ok = p.Parse([]byte(line), 7, r)
	emit := func(b hiveparquet.Batch) {
		switch b.Table {
		case UsersTable:
			users = b.Record
		case EventsTable:
			events = b.Record
		case RejectsTable:
			rej = b.Record
		}
	}
	p.Flush(emit)
	r.Flush(emit)
	return
}

func col(rec arrow.Record, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	return rec.Column(idx[0])
}

func TestParseGoodLine(t *testing.T) {
	users, events, rej, ok := parseOne(t, goodLine)
	if !ok || rej != nil {
		t.Fatalf("good line rejected: %v", rej)
	}
	if users.NumRows() != 1 || events.NumRows() != 2 {
		t.Fatalf("rows: %d users, %d events", users.NumRows(), events.NumRows())
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"id", col(users, "id").(*array.String).Value(0), "u1"},
		{"version", col(users, "version").(*array.Int64).Value(0), int64(3)},
		{"created_at (offset converted to UTC, micros kept)", col(users, "created_at").(*array.Timestamp).Value(0).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z"), "2024-03-01T08:15:30.123456Z"},
		{"last_seen_country null", col(users, "last_seen_country").IsNull(0), true},
		{"metadata as JSON", col(users, "metadata").(*array.String).Value(0), `{"plan":"pro"}`},
		{"event_count", col(users, "event_count").(*array.Int32).Value(0), int32(2)},
		{"extra keeps unknown user and record keys", col(users, "extra").(*array.String).Value(0), `{"ab_test":{"bucket":"B"},"$record":{"batch":7}}`},
		{"source_line", col(users, "source_line").(*array.Int64).Value(0), int64(7)},
		{"consents", col(users, "consents").(*array.Struct).String(), `{[{["cookies"] [true] [(null)] ["{}"] [{["freq" "n"] ["daily" "3"]}] ["{\"channels\":[{\"id\":\"email\"}]}"]}] {[["google" "755"]] [[]] [[]] [[]] [(null)]} [{["sms"] [false] [(null)] [(null)]}] ["CP123"] [(null)]}`},
		{"event user_id", col(events, "user_id").(*array.String).Value(1), "u1"},
		{"event regulation default", col(events, "regulation").(*array.String).Value(0), DefaultRegulation},
		{"event regulation given", col(events, "regulation").(*array.String).Value(1), "cpra"},
		{"event proofs", col(events, "proofs_id").(*array.List).String(), `[["` + strings64 + `.pdf"] (null)]`},
		{"event delegate", col(events, "delegate").(*array.Struct).String(), `{["d1" (null)] ["Agent" (null)] [(null) (null)] [(null) (null)]}`},
		{"event extra", col(events, "extra").(*array.String).Value(0), `{"source":{"type":"api"}}`},
		{"event_index", col(events, "event_index").(*array.Int32).Value(1), int32(1)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestParseRejects covers every reject reason of the Didomi parser.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, line, code string
	}{
		{"not json", `not json`, ReasonInvalidJSON},
		{"truncated json", `{"user":{"id":"x"`, ReasonInvalidJSON},
		{"array", `[1,2]`, ReasonNotObject},
		{"string", `"s"`, ReasonNotObject},
		{"no user", `{"events":[]}`, ReasonMissingUser},
		{"null user", `{"user":null}`, ReasonMissingUser},
		{"user string", `{"user":"abc"}`, ReasonUserNotObject},
		{"no id", `{"user":{"country":"FR"}}`, ReasonMissingUserID},
		{"empty id", `{"user":{"id":""}}`, ReasonMissingUserID},
		{"null id", `{"user":{"id":null}}`, ReasonMissingUserID},
		{"numeric id", `{"user":{"id":5}}`, ReasonWrongType},
		{"events object", `{"user":{"id":"u"},"events":{"a":1}}`, ReasonEventsNotArray},
		{"events string", `{"user":{"id":"u"},"events":"x"}`, ReasonEventsNotArray},
		{"version string", `{"user":{"id":"u","version":"three"}}`, ReasonWrongType},
		{"version fraction", `{"user":{"id":"u","version":1.5}}`, ReasonWrongType},
		{"consents array", `{"user":{"id":"u","consents":[]}}`, ReasonWrongType},
		{"purpose enabled string", `{"user":{"id":"u","consents":{"purposes":[{"id":"p","enabled":"yes"}]}}}`, ReasonWrongType},
		{"vendors enabled object", `{"user":{"id":"u","consents":{"vendors":{"enabled":[{}]}}}}`, ReasonWrongType},
		{"bad created_at", `{"user":{"id":"u","created_at":"not-a-date"}}`, ReasonBadTimestamp},
		{"impossible date", `{"user":{"id":"u","created_at":"2024-13-45T99:00:00Z"}}`, ReasonBadTimestamp},
		{"date only", `{"user":{"id":"u","created_at":"2024-03-01"}}`, ReasonBadTimestamp},
		{"user invalid UTF-8", "{\"user\":{\"id\":\"u\",\"organization_user_id\":\"ab\xff\xfecd\"},\"events\":[{\"id\":\"e\"}]}", ReasonInvalidUTF8},
		{"user metadata invalid UTF-8", "{\"user\":{\"id\":\"u\",\"metadata\":{\"k\":[\"\xc3\"]}}}", ReasonInvalidUTF8},
		{"user extra key invalid UTF-8", "{\"user\":{\"id\":\"u\",\"k\xff\":1}}", ReasonInvalidUTF8},
		{"record extra invalid UTF-8", "{\"user\":{\"id\":\"u\"},\"batch\":\"\xe9\"}", ReasonInvalidUTF8},
		{"user wrong type and an event bad", `{"user":{"id":"u","country":1},"events":[1]}`, ReasonWrongType},
		{"created_at number", `{"user":{"id":"u","created_at":1700000000}}`, ReasonWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, events, rej, ok := parseOne(t, tt.line)
			if ok || users != nil || events != nil {
				t.Fatalf("line accepted (users %v, events %v)", users, events)
			}
			if rej == nil || rej.NumRows() != 1 {
				t.Fatalf("no reject row")
			}
			if got := col(rej, "reason_code").(*array.String).Value(0); got != tt.code {
				t.Errorf("code = %s (%s), want %s", got, col(rej, "reason").(*array.String).Value(0), tt.code)
			}
			if got := col(rej, "raw").(*array.String).Value(0); got != strings.ToValidUTF8(tt.line, "\uFFFD") {
				t.Errorf("raw = %q", got)
			}
			if !col(rej, "event_index").IsNull(0) {
				t.Errorf("event_index = %v for a line reject", col(rej, "event_index"))
			}
			if got := col(rej, "source_line").(*array.Int64).Value(0); got != 7 {
				t.Errorf("source_line = %d", got)
			}
		})
	}
}

func TestParseMinimalLines(t *testing.T) {
	for _, line := range []string{
		`{"user":{"id":"u"}}`,
		`{"user":{"id":"u"},"events":null}`,
		`{"events":[],"user":{"id":"u"}}`,
	} {
		users, events, _, ok := parseOne(t, line)
		if !ok || users.NumRows() != 1 || events != nil {
			t.Errorf("%s: ok=%v", line, ok)
			continue
		}
		if n := col(users, "event_count").(*array.Int32).Value(0); n != 0 {
			t.Errorf("%s: event_count %d", line, n)
		}
	}
}

// FuzzParseLine checks the invariants of checkParseInvariants on any line.
// The golden tests (golden_test.go) pin the rows of the lines of
// testdata/golden, which seed the fuzzer.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(goodLine))
	f.Add([]byte(`{"user":{"id":"u"},"events":[{}]}`))
	f.Add([]byte(`{"user":{"id":"u","consents":{"purposes":[{"values":{"a":{"value":[1]}}}]}}}`))
	f.Add([]byte("{\"user\":{\"id\":\"u\",\"organization_user_id\":\"ab\xff\xfecd\"}}"))
	f.Add([]byte("{\"user\":{\"id\":\"u\"},\"events\":[{\"status\":\"conf\xe9rmed\"},{\"id\":\"e\",\"x\xff\":[\"\\\"\xfe\"]}]}"))
	for _, l := range trickyLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkParseInvariants(t, line) })
}

// checkParseInvariants checks that line is either accepted with consistent
// columns (and its bad events rejected one by one) or rejected exactly
// once, that every string written, in the rows and in the rejects, is valid
// UTF-8, that event_count counts the events read, and that the same line
// parsed again after a flush (into column buffers made anew) gives the same
// rows and rejects.
func checkParseInvariants(t testing.TB, line []byte) {
	t.Helper()
	p := newParser("f", "p")
	defer p.Release()
	r := lineparse.NewRejects(Rejects(), "p", "", "f", 64)
	defer r.Release()
	ok := p.Parse(line, 1, r)
	if ok == (r.Count() == 1) || r.Count() > 1 || (!ok && r.EventCount() != 0) {
		t.Fatalf("%q: ok=%v with %d rejects, %d event rejects", line, ok, r.Count(), r.EventCount())
	}
	in, out := p.Events()
	if in != out+r.EventCount() {
		t.Fatalf("%q: %d events in != %d out + %d rejected", line, in, out, r.EventCount())
	}
	var first, again []byte
	rows := &first
	check := func(b hiveparquet.Batch) {
		defer b.Record.Release()
		for i, c := range b.Record.Columns() {
			if int64(c.Len()) != b.Record.NumRows() {
				t.Fatalf("%q: column %d has %d values for %d rows", line, i, c.Len(), b.Record.NumRows())
			}
			if err := validStrings(c); err != nil {
				t.Fatalf("%q: %s.%s: %v", line, b.Table, b.Record.ColumnName(i), err)
			}
		}
		if b.Table == UsersTable && int64(col(b.Record, "event_count").(*array.Int32).Value(0)) != in {
			t.Fatalf("%q: event_count %v, %d events read", line, col(b.Record, "event_count"), in)
		}
		*rows = append(appendRows(t, append(*rows, b.Table...), b.Record), '\n')
	}
	p.Flush(check)
	r.Flush(check)
	rows = &again
	if p.Parse(line, 1, r) != ok {
		t.Fatalf("%q: accepted %v, then %v", line, ok, !ok)
	}
	p.Flush(check)
	r.Flush(check)
	if !bytes.Equal(first, again) {
		t.Fatalf("%q: parsed again after a flush:\n%s\nfirst:\n%s", line, again, first)
	}
}

// validStrings returns an error for the first string of a (nested
// types included) that is not valid UTF-8.
func validStrings(a arrow.Array) error {
	switch a := a.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return fmt.Errorf("value %d %q is not valid UTF-8", i, a.Value(i))
			}
		}
	case *array.List:
		return validStrings(a.ListValues())
	case *array.Map:
		if err := validStrings(a.Keys()); err != nil {
			return err
		}
		return validStrings(a.Items())
	case *array.Struct:
		for j := 0; j < a.NumField(); j++ {
			if err := validStrings(a.Field(j)); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestParseEventRejects: a bad event rejects only itself (a reject row with
// its event_index and its JSON text); the user and its other events are
// kept, event_count stays true to the input and event_index to the events'
// positions.
func TestParseEventRejects(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		eventIDs  string // ids of the events kept
		indexes   string // their event_index
		rejects   string // code@event_index of the reject rows
		eventsIn  int32
		rawSubstr string // in the first reject's raw
	}{
		{"bad timestamp", `{"user":{"id":"u"},"events":[{"id":"e0"},{"id":"e1","updated_at":"yesterday"},{"id":"e2"}]}`,
			"[e0 e2]", "[0 2]", "[bad_timestamp@1]", 3, `"yesterday"`},
		{"not an object", `{"user":{"id":"u"},"events":[1,{"id":"e1"}]}`, "[e1]", "[1]", "[event_not_object@0]", 2, "1"},
		{"wrong types", `{"user":{"id":"u"},"events":[{"id":"e0","proofs_id":"p"},{"id":"e1","user":"x"},{"id":"e2","consents":{"purposes":[{"enabled":"yes"}]}}]}`,
			"[]", "[]", "[wrong_type@0 wrong_type@1 wrong_type@2]", 3, `"proofs_id":"p"`},
		{"invalid UTF-8 in an event", "{\"user\":{\"id\":\"u\"},\"events\":[{\"id\":\"e0\",\"status\":\"conf\xe9rmed\"},{\"id\":\"e1\",\"status\":\"confirmed\"}]}",
			"[e1]", "[1]", "[invalid_utf8@0]", 2, "conf\uFFFDrmed"},
		{"invalid UTF-8 in an event's key", "{\"user\":{\"id\":\"u\"},\"events\":[{\"id\":\"e0\"},{\"id\":\"e1\",\"source\":{\"k\xff\":1}}]}",
			"[e0]", "[0]", "[invalid_utf8@1]", 2, `"e1"`},
		{"event after a bad one keeps its consents", `{"user":{"id":"u"},"events":[{"id":"e0","consents":{"purposes":[{"id":"p0"}]},"delegate":3},{"id":"e1","consents":{"purposes":[{"id":"p1"}]},"x":1}]}`,
			"[e1]", "[1]", "[wrong_type@0]", 2, `"delegate":3`},
		// The raw text of a rejected event is the event as written, without
		// its whitespace: escapes, in keys and in strings the checks read,
		// stay as they are.
		{"raw event as written", `{"user":{"id":"u"},"events":[ { "\u0069d" : "e\/0", "created_at": "2024\u002d01", "n": 1e3 } ]}`,
			"[]", "[]", "[bad_timestamp@0]", 1, `{"\u0069d":"e\/0","created_at":"2024\u002d01","n":1e3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, events, rej, ok := parseOne(t, tt.line)
			if !ok || users == nil || users.NumRows() != 1 {
				t.Fatalf("line rejected: ok=%v rejects %v", ok, rej)
			}
			if n := col(users, "event_count").(*array.Int32).Value(0); n != tt.eventsIn {
				t.Errorf("event_count = %d, want %d", n, tt.eventsIn)
			}
			var ids, idx []string
			if events != nil {
				for i := 0; i < int(events.NumRows()); i++ {
					ids = append(ids, col(events, "id").(*array.String).Value(i))
					idx = append(idx, fmt.Sprint(col(events, "event_index").(*array.Int32).Value(i)))
					if u := col(events, "user_id").(*array.String).Value(i); u != "u" {
						t.Errorf("event %d user_id %q", i, u)
					}
				}
			}
			if fmt.Sprint(ids) != tt.eventIDs || "["+strings.Join(idx, " ")+"]" != tt.indexes {
				t.Errorf("events %v at %v, want %s at %s", ids, idx, tt.eventIDs, tt.indexes)
			}
			if tt.name == "event after a bad one keeps its consents" {
				if got := col(events, "consents").(*array.Struct).String(); !strings.Contains(got, `"p1"`) || strings.Contains(got, `"p0"`) {
					t.Errorf("consents of the event kept: %s", got)
				}
				if got := col(events, "extra").(*array.String).Value(0); got != `{"x":1}` {
					t.Errorf("extra of the event kept: %s", got)
				}
			}
			var got []string
			for i := 0; i < int(rej.NumRows()); i++ {
				got = append(got, fmt.Sprintf("%s@%d", col(rej, "reason_code").(*array.String).Value(i), col(rej, "event_index").(*array.Int32).Value(i)))
				if l := col(rej, "source_line").(*array.Int64).Value(i); l != 7 {
					t.Errorf("source_line %d", l)
				}
			}
			if fmt.Sprint(got) != tt.rejects {
				t.Errorf("rejects %v, want %s (reasons %v)", got, tt.rejects, col(rej, "reason"))
			}
			raw := col(rej, "raw").(*array.String).Value(0)
			if !strings.Contains(raw, tt.rawSubstr) || !utf8.ValidString(raw) {
				t.Errorf("raw %q does not hold %q", raw, tt.rawSubstr)
			}
		})
	}
}

// TestParseEventCounters: events read = written + rejected, over lines kept
// only (a line rejected whole counts neither its events nor their rejects).
func TestParseEventCounters(t *testing.T) {
	p := newParser("f", "p")
	defer p.Release()
	r := lineparse.NewRejects(Rejects(), "p", "", "f", 0)
	defer r.Release()
	for i, l := range []string{
		`{"user":{"id":"u"},"events":[{"id":"a"},1,{"created_at":"x"}]}`,
		`{"user":{"id":5},"events":[{"id":"a"},{"id":"b"}]}`,
		`{"user":{"id":"v"},"events":[{}]}`,
	} {
		p.Parse([]byte(l), int64(i+1), r)
	}
	release := func(b hiveparquet.Batch) { b.Record.Release() }
	p.Flush(release)
	r.Flush(release)
	if in, out := p.Events(); in != 4 || out != 2 || r.EventCount() != 2 || r.Count() != 1 {
		t.Fatalf("events in %d out %d rejected %d, lines rejected %d; want 4, 2, 2, 1", in, out, r.EventCount(), r.Count())
	}
}

// TestParseTimestampForms: the forms vendors write; a time without a zone
// is UTC and counted as the warning timestamp_without_zone (for rows
// written only).
func TestParseTimestampForms(t *testing.T) {
	tests := []struct {
		raw, want string
		noZone    int64
	}{
		{"2024-03-01T10:15:30Z", "2024-03-01T10:15:30.000000Z", 0},
		{"2024-03-01T10:15:30.123456+02:00", "2024-03-01T08:15:30.123456Z", 0},
		{"2024-03-01 10:15:30Z", "2024-03-01T10:15:30.000000Z", 0},
		{"2024-03-01 10:15:30.5-01:00", "2024-03-01T11:15:30.500000Z", 0},
		{"2024-03-01T10:15:30.123456789123Z", "2024-03-01T10:15:30.123456Z", 0},
		{"2024-03-01T10:15:30.1234567", "2024-03-01T10:15:30.123456Z", 1},
		{"2024-03-01 10:15:30", "2024-03-01T10:15:30.000000Z", 1},
		{"1969-12-31T23:59:59.9999995", "1969-12-31T23:59:59.999999Z", 1},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p := newParser("f", "p")
			defer p.Release()
			r := lineparse.NewRejects(Rejects(), "p", "", "f", 0)
			defer r.Release()
			line := `{"user":{"id":"u","created_at":"` + tt.raw + `"},"events":[{"created_at":"` + tt.raw + `"}]}`
			if !p.Parse([]byte(line), 1, r) || r.EventCount() != 0 {
				t.Fatalf("rejected")
			}
			// A rejected line's and a rejected event's timestamps do not count.
			p.Parse([]byte(`{"user":{"id":"u","created_at":"2024-03-01 10:15:30","version":"x"}}`), 2, r)
			p.Parse([]byte(`{"user":{"id":"u"},"events":[{"created_at":"2024-03-01 10:15:30","status":1}]}`), 3, r)
			var users, events arrow.Record
			p.Flush(func(b hiveparquet.Batch) {
				switch b.Table {
				case UsersTable:
					users = b.Record
				case EventsTable:
					events = b.Record
				}
			})
			defer users.Release()
			defer events.Release()
			for _, rec := range []arrow.Record{users, events} {
				got := col(rec, "created_at").(*array.Timestamp).Value(0).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z")
				if got != tt.want {
					t.Errorf("created_at = %s, want %s", got, tt.want)
				}
			}
			var warned int64
			for _, c := range p.Warnings() {
				if c.Name == WarnTimestampWithoutZone {
					warned = c.N
				}
			}
			if warned != 2*tt.noZone {
				t.Errorf("timestamp_without_zone = %d, want %d", warned, 2*tt.noZone)
			}
		})
	}
}

// TestEscapedDuplicateKeyUsesFirst pins how a modelled key written twice,
// once with an escape, is read: the first of the two is used.
func TestEscapedDuplicateKeyUsesFirst(t *testing.T) {
	users, _, rej, ok := parseOne(t, `{"user":{"\u0069d":"first","id":"second"}}`)
	if !ok || rej != nil {
		t.Fatalf("rejected: %v", rej)
	}
	if got := col(users, "id").(*array.String).Value(0); got != "first" {
		t.Errorf("id = %q, want first", got)
	}
}
