package audiencestudio

import (
	"bufio"
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

var feedSources = []string{"pixel.gif", "ad-impression.gif", "click", "event.gif", "segment.gif", "transaction.gif", "heartbeat.gif", "social.gif"}

// FuzzParseRequestLine: no panic; either a row or a reject with a code.
func FuzzParseRequestLine(f *testing.F) {
	sc := bufio.NewScanner(bytes.NewReader(readDoc(f, "requests.txt")))
	for sc.Scan() {
		f.Add(bytes.Clone(sc.Bytes()))
	}
	f.Add([]byte(`device^kxcookie^abc^set^gdpr^{"dc":1,"al":0}^1515471711277000`))
	f.Add([]byte("bk^email_sha256^zz^remove^^^\r\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkUTF8Written(t, newRequestParser("uploads/consent-data/2024-03-01/f.txt", "upload_date=2024-03-01"), RequestsRejects(), line)
		r, rej := ParseRequestLine(line)
		if rej != nil {
			if rej.Code == "" || rej.Reason == "" {
				t.Fatalf("reject without code or reason: %+v", rej)
			}
			return
		}
		if r.IDKind != IDKindDevice && r.IDKind != IDKindBridgeKey || r.IDType == "" || r.IDValue == "" || r.Action == "" {
			t.Fatalf("row misses required fields: %+v", r)
		}
		if r.RequestedAt.Valid && (r.RequestedAt.Int64 < MinMicros || r.RequestedAt.Int64 >= MaxMicros) {
			t.Fatalf("timestamp out of range: %+v", r)
		}
		if r.FlagsValid && !r.FlagsRaw.Valid {
			t.Fatalf("parsed flags without raw flags: %+v", r)
		}
	})
}

// FuzzParseFeedRecord: no panic; either a row or a reject with a code; rows
// hold valid UTF-8 and a timestamp in range; Extra is a JSON object; every
// string written (the row's columns, the {bk} and {kuid} of its path, or the
// reject row with its raw text) is valid UTF-8.
func FuzzParseFeedRecord(f *testing.F) {
	for i, s := range feedSources {
		f.Add(readDoc(f, s+".json"), uint8(i), "c29tZW9uZUBleGFtcGxlLmNvbQ==", "LIDa_CtQ")
	}
	f.Add([]byte(`{"TS":1517958000165,"KCT_a":"-","X":{"y":[1]},"QS":"?a=%zz&a=1&b+c=%C3%A9"}`), uint8(2), "LIDa_CtQ", "LIDa_CtQ")
	f.Add([]byte("{\"TS\":\"1518036361\",\"UA\":\"\xff\xfe\",\"QS\":\"?a=%ff\"}"), uint8(0), "Pz8/Pj4+", "LIDa_CtQ")
	var p fastjson.Parser
	f.Fuzz(func(t *testing.T, line []byte, src uint8, bk, kuid string) {
		ds := feedSources[int(src)%len(feedSources)]
		if utf8.ValidString(bk) && utf8.ValidString(kuid) { // discovery skips paths that are not UTF-8
			meta := feedFile{DataSource: ds, BK: ParseBKFolder(bk, kuid), KUIDFile: kuid}
			checkUTF8Written(t, newFeedParser("portability/R/2024-03-02/"+ds+"/"+bk+"/"+kuid, "request_id=R/date=2024-03-02/data_source="+ds, meta), PortabilityRejects(), line)
		}
		r, rej := ParseFeedRecord(&p, line, ds)
		if rej != nil {
			if rej.Code == "" || rej.Reason == "" {
				t.Fatalf("reject without code or reason: %+v", rej)
			}
			return
		}
		if r.TS < MinMicros || r.TS >= MaxMicros {
			t.Fatalf("TS out of range: %d", r.TS)
		}
		for _, q := range r.QueryParams {
			if q.Key == "" || !utf8.ValidString(q.Key) || !utf8.ValidString(q.Value) {
				t.Fatalf("bad query param %+v", q)
			}
		}
		if r.Extra.Valid {
			v, err := fastjson.Parse(r.Extra.String)
			if err != nil || v.Type() != fastjson.TypeObject {
				t.Fatalf("Extra %q is not a JSON object: %v", r.Extra.String, err)
			}
		}
		for _, s := range []NullString{r.XFF, r.IP, r.KUID, r.UserAgent, r.Referrer, r.QueryString, r.Extra} {
			if !utf8.ValidString(s.String) {
				t.Fatalf("invalid UTF-8 in %q", s.String)
			}
		}
	})
}

// FuzzParseBKFolder: no panic; device level exactly when {bk} is the kuid;
// a bridge key is text (valid UTF-8, no control characters but tab, CR, LF);
// the raw segment is kept as given.
func FuzzParseBKFolder(f *testing.F) {
	for _, s := range []string{"LIDa_CtQ", "c29tZW9uZUBleGFtcGxlLmNvbQ==", "Pz8_Pj4-", "Pz8/Pj4+", "6D92078A-8246-4BA4-AE5B-76104861E7DC"} {
		f.Add(s, "LIDa_CtQ")
	}
	f.Fuzz(func(t *testing.T, raw, kuid string) {
		b := ParseBKFolder(raw, kuid)
		if b.Raw != raw || b.DeviceLevel != (raw == kuid) {
			t.Fatalf("ParseBKFolder(%q, %q) = %+v", raw, kuid, b)
		}
		if b.BridgeKey != "" && (b.DeviceLevel || !bridgeKeyText([]byte(b.BridgeKey))) {
			t.Fatalf("ParseBKFolder(%q, %q): bridge key %q", raw, kuid, b.BridgeKey)
		}
	})
}

// checkUTF8Written parses line with p, as the line engine does, and checks
// every batch written: the row's or the reject's (with its raw text,
// bounded to a size that cuts multi-byte characters).
func checkUTF8Written(t *testing.T, p lineparse.Parser, rejects hiveparquet.Table, line []byte) {
	t.Helper()
	defer p.Release()
	rej := lineparse.NewRejects(rejects, "", "", "f", 7)
	defer rej.Release()
	ok := p.Parse(line, 1, rej)
	if ok == (rej.Count() != 0) {
		t.Fatalf("Parse = %v with %d rejects", ok, rej.Count())
	}
	n := 0
	emit := func(b hiveparquet.Batch) { n++; checkUTF8Batch(t, b) }
	p.Flush(emit)
	rej.Flush(emit)
	if n != 1 {
		t.Fatalf("%d batches written for one line, want 1", n)
	}
}

// checkUTF8Batch fails when a string of any column of b, nested ones
// included (list items, map keys and values, struct fields), is not valid
// UTF-8: Parquet's STRING is UTF-8, and engines refuse anything else.
func checkUTF8Batch(t *testing.T, b hiveparquet.Batch) {
	t.Helper()
	defer b.Record.Release()
	for i, col := range b.Record.Columns() {
		if s, ok := invalidUTF8(col); ok {
			t.Fatalf("%s.%s holds invalid UTF-8 %q", b.Table, b.Record.ColumnName(i), s)
		}
	}
}

// invalidUTF8 returns the first string of a that is not valid UTF-8.
func invalidUTF8(a arrow.Array) (string, bool) {
	switch a := a.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return a.Value(i), true
			}
		}
	case *array.Struct:
		for i := 0; i < a.NumField(); i++ {
			if s, ok := invalidUTF8(a.Field(i)); ok {
				return s, true
			}
		}
	case array.ListLike: // lists and maps (a map's values are a struct of key and item)
		return invalidUTF8(a.ListValues())
	}
	return "", false
}
