package audiencestudio

import (
	"bufio"
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
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
// hold valid UTF-8 and a timestamp in range; Extra is a JSON object.
func FuzzParseFeedRecord(f *testing.F) {
	for i, s := range feedSources {
		f.Add(readDoc(f, s+".json"), uint8(i))
	}
	f.Add([]byte(`{"TS":1517958000165,"KCT_a":"-","X":{"y":[1]},"QS":"?a=%zz&a=1&b+c=%C3%A9"}`), uint8(2))
	var p fastjson.Parser
	f.Fuzz(func(t *testing.T, line []byte, src uint8) {
		r, rej := ParseFeedRecord(&p, line, feedSources[int(src)%len(feedSources)])
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

// FuzzDecodeBKPath: no panic; exactly one result for a non-empty segment.
func FuzzDecodeBKPath(f *testing.F) {
	for _, s := range []string{"LIDa_CtQ", "c29tZW9uZUBleGFtcGxlLmNvbQ==", "6D92078A-8246-4BA4-AE5B-76104861E7DC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		bk, kuid := DecodeBKPath(seg)
		if seg != "" && (bk == "") == (kuid == "") {
			t.Fatalf("DecodeBKPath(%q) = %q, %q", seg, bk, kuid)
		}
		if kuid != "" && kuid != seg {
			t.Fatalf("kuid %q differs from segment %q", kuid, seg)
		}
	})
}
