package audiencestudio

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// docDir holds the vendor document's examples, copied verbatim.
const docDir = "../../testdata/audiencestudio/fixtures/vendor-doc"

func readDoc(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(docDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func micros(t *testing.T, rfc3339 string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMicro()
}

func ns(s string) NullString { return NullString{s, true} }

func TestParseRequestLineVendorDoc(t *testing.T) {
	want := []Request{
		{
			IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abcdef123", Action: "portability",
			PolicyRegime: ns("global"),
			RequestedAt:  NullInt64{micros(t, "2018-01-09T04:21:51.277Z"), true},
		},
		{IDKind: IDKindDevice, IDType: "idfa", IDValue: "6D92078A-8246-4BA4-AE5B-76104861E7DC", Action: "portability"},
		{IDKind: IDKindBridgeKey, IDType: "email_sha256", IDValue: "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a", Action: "portability"},
	}
	sc := bufio.NewScanner(bytes.NewReader(readDoc(t, "requests.txt")))
	var i int
	for ; sc.Scan(); i++ {
		got, rej := ParseRequestLine(sc.Bytes())
		if rej != nil {
			t.Fatalf("line %d: %v", i+1, rej)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, got, want[i])
		}
	}
	if i != len(want) {
		t.Fatalf("read %d lines, want %d", i, len(want))
	}
}

func TestParseRequestLine(t *testing.T) {
	const sha = "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
	const ts = "1515471711277000"
	tsMicros := int64(1515471711277000)
	allFlags := []Flag{{"dc", 1}, {"al", 1}, {"tg", 0}, {"cd", 0}, {"sh", 1}, {"re", 0}}
	tests := []struct {
		name string
		line string
		want Request
		code string
	}{
		{name: "crlf", line: "device^kxcookie^abc^portability^^^\r\n",
			want: Request{IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abc", Action: "portability"}},
		{name: "id kind any case", line: "BK^email_sha256^" + strings.ToUpper(sha) + "^Portability^^^",
			want: Request{IDKind: IDKindBridgeKey, IDType: "email_sha256", IDValue: strings.ToUpper(sha), Action: "Portability"}},
		{name: "set with json flags", line: `device^kxcookie^abc^set^gdpr^{"dc":1,"al":1,"tg":0,"cd":0,"sh":1,"re":0}^` + ts,
			want: Request{IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abc", Action: "set", PolicyRegime: ns("gdpr"),
				FlagsRaw: ns(`{"dc":1,"al":1,"tg":0,"cd":0,"sh":1,"re":0}`), Flags: allFlags, FlagsValid: true,
				RequestedAt: NullInt64{tsMicros, true}}},
		{name: "portability with flags", line: "device^kxcookie^abc^portability^global^{dc:true}^",
			want: Request{IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abc", Action: "portability", PolicyRegime: ns("global"),
				FlagsRaw: ns("{dc:true}"), Flags: []Flag{{"dc", 1}}, FlagsValid: true}},
		{name: "unparseable flags kept raw", line: "device^kxcookie^abc^remove^global^{dc:maybe}^" + ts,
			want: Request{IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abc", Action: "remove", PolicyRegime: ns("global"),
				FlagsRaw: ns("{dc:maybe}"), RequestedAt: NullInt64{tsMicros, true}}},
		{name: "unknown action accepted", line: "device^aaid^x1^opt-out^ccpa^{}^" + ts,
			want: Request{IDKind: IDKindDevice, IDType: "aaid", IDValue: "x1", Action: "opt-out", PolicyRegime: ns("ccpa"),
				FlagsRaw: ns("{}"), Flags: []Flag{}, FlagsValid: true, RequestedAt: NullInt64{tsMicros, true}}},
		{name: "sha1 and md5", line: "bk^email_md5^0123456789abcdefABCDEF0123456789^portability^^^",
			want: Request{IDKind: IDKindBridgeKey, IDType: "email_md5", IDValue: "0123456789abcdefABCDEF0123456789", Action: "portability"}},
		{name: "unhashed bridge key", line: "bk^crm_id^cust-42^portability^^^",
			want: Request{IDKind: IDKindBridgeKey, IDType: "crm_id", IDValue: "cust-42", Action: "portability"}},
		{name: "lowest timestamp", line: "device^kxcookie^abc^portability^^^946684800000000",
			want: Request{IDKind: IDKindDevice, IDType: "kxcookie", IDValue: "abc", Action: "portability", RequestedAt: NullInt64{MinMicros, true}}},

		{name: "empty", line: "", code: ReasonEmptyLine},
		{name: "only crlf", line: "\r\n", code: ReasonEmptyLine},
		{name: "invalid utf8", line: "device^kxcookie^ab\xffc^portability^^^", code: ReasonInvalidUTF8},
		{name: "five delimiters", line: "device^kxcookie^abc^portability^^", code: ReasonFieldCount},
		{name: "seven delimiters", line: "device^kxcookie^abc^portability^^^^", code: ReasonFieldCount},
		{name: "no delimiters", line: "hello", code: ReasonFieldCount},
		{name: "bad id kind", line: "cookie^kxcookie^abc^portability^^^", code: ReasonBadIDKind},
		{name: "empty id kind", line: "^kxcookie^abc^portability^^^", code: ReasonBadIDKind},
		{name: "empty id type", line: "device^^abc^portability^^^", code: ReasonEmptyIDType},
		{name: "empty id value", line: "device^kxcookie^^portability^^^", code: ReasonEmptyIDValue},
		{name: "short hash", line: "bk^email_sha256^abc123^portability^^^", code: ReasonBadHash},
		{name: "non-hex hash", line: "bk^email_sha256^" + strings.Repeat("g", 64) + "^portability^^^", code: ReasonBadHash},
		{name: "plain email as sha256", line: "bk^EMAIL_SHA256^someone@example.com^portability^^^", code: ReasonBadHash},
		{name: "sha1 wrong length", line: "bk^email_sha1^" + sha + "^portability^^^", code: ReasonBadHash},
		{name: "empty action", line: "device^kxcookie^abc^^^^", code: ReasonEmptyAction},
		{name: "set without policy regime", line: "device^kxcookie^abc^set^^{dc:1}^" + ts, code: ReasonMissingPolicyRegime},
		{name: "set without flags", line: "device^kxcookie^abc^set^gdpr^^" + ts, code: ReasonMissingFlags},
		{name: "remove without timestamp", line: "device^kxcookie^abc^remove^gdpr^{dc:0}^", code: ReasonMissingTimestamp},
		{name: "timestamp not a number", line: "device^kxcookie^abc^portability^^^yesterday", code: ReasonBadTimestamp},
		{name: "timestamp with fraction", line: "device^kxcookie^abc^portability^^^1515471711.277", code: ReasonBadTimestamp},
		{name: "negative timestamp", line: "device^kxcookie^abc^portability^^^-1515471711277000", code: ReasonBadTimestamp},
		{name: "timestamp with blank", line: "device^kxcookie^abc^portability^^^ 1515471711277000", code: ReasonBadTimestamp},
		{name: "timestamp too long", line: "device^kxcookie^abc^portability^^^1234567890123456789012", code: ReasonBadTimestamp},
		{name: "timestamp in seconds", line: "device^kxcookie^abc^portability^^^1515471711", code: ReasonTimestampOutRange},
		{name: "timestamp in nanoseconds", line: "device^kxcookie^abc^portability^^^151547171127700000", code: ReasonTimestampOutRange},
		{name: "timestamp 2100", line: "device^kxcookie^abc^portability^^^4102444800000000", code: ReasonTimestampOutRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rej := ParseRequestLine([]byte(tt.line))
			if tt.code != "" {
				if rej == nil || rej.Code != tt.code || rej.Reason == "" {
					t.Fatalf("reject = %v, want code %s", rej, tt.code)
				}
				if !reflect.DeepEqual(got, Request{}) {
					t.Errorf("rejected line returned a row %+v", got)
				}
				return
			}
			if rej != nil {
				t.Fatalf("unexpected reject %v", rej)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// feedWant lists the expected columns of a vendor example; query holds a
// sample of parameters to check besides the total count.
type feedWant struct {
	rec    FeedRecord // every field except QueryParams, KCT
	nQuery int
	query  map[string]string
	kct    []Param
}

func TestParseFeedRecordVendorDoc(t *testing.T) {
	beacon := func(ts string, xff, ip, kuid, ua, path string, resp, rt int32, newUser bool, node string) FeedRecord {
		return FeedRecord{
			TS: micros(t, ts), XFF: ns(xff), XFFChain: []string{xff}, IP: ns(ip), KUID: ns(kuid),
			UserAgent: ns(ua), Host: ns("beacon.krxd.net"), Path: ns(path),
			Resp: NullInt32{resp, true}, RT: NullInt32{rt, true}, NewUser: NullBool{newUser, true},
			Node: ns(node), V: ns("7"),
		}
	}
	tests := map[string]feedWant{
		"pixel.gif": {
			rec: beacon("2018-02-07T20:46:01Z", "1.136.106.246", "10.84.138.243", "LIDa_CtQ",
				"Carsales/131 CFNetwork/811.5.4 Darwin/16.6.0", "/pixel.gif", 204, 34, false, "beacon-n027-pdx.krxd.net"),
			nQuery: 25,
			query: map[string]string{
				"_kpid": "b2bf9016-e00a-4906-9718-f27de8fee74e", "_kuid": "B89297C2-6C4E-4355-8376-7D5883FAFF67",
				"_kpa_wt_cg_n": "All Cars", "_kpa_wt_z_model": "911 Carrera", "_kpa_wt_z_price": "159900",
				"_kpa_wt_z_badge": "Cabriolet", "tech_browser_lang": "en-AU",
			},
		},
		"ad-impression.gif": {
			rec: beacon("2018-02-07T20:43:01Z", "172.58.201.209", "10.61.145.74", "Lx14QZg_",
				"Mozilla/5.0 (Linux; Android 7.0; LGMS210 Build/NRD90U; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/64.0.3282.137 Mobile Safari/537.36",
				"/ad_impression.gif", 204, 72, true, "beacon-n054-ash.krxd.net"),
			nQuery: 10,
			query:  map[string]string{"campaignid": "20685259", "url": "//beacon.krxd.net/ad_impression.gif", "confid": "r4kjtg8b5", "_kpid": "7b3785dc-e5e8-4465-88e8-0bb2db048533"},
		},
		"click": {
			rec: FeedRecord{
				TS:  micros(t, "2018-02-06T23:00:00.165Z"),
				XFF: ns("81.172.98.183, 157.52.69.23, 10.123.160.207"), XFFChain: []string{"81.172.98.183", "157.52.69.23", "10.123.160.207"},
				IP: ns("127.0.0.1"), KUID: ns("LsUGEPR-"),
				UserAgent: ns("Mozilla/5.0 (Linux; Android 6.0; Aquaris M10 FHD Build/MRA58K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.137 Safari/537.36"),
				Referrer:  ns("https://cdn.elasticad.net/storage/template/placement320x50.html?siteid221771=true"),
			},
			kct: []Param{
				{Key: "kxcampaignid", Value: "20299543"}, {Key: "kxsiteid", Value: "1053227"}, {Key: "kxadvertiserid", Value: "3008831"},
				{Key: "clk", Value: "http://www.citroen.es/vehiculos/citroen/nuevo-c3.html?dclid=CN_J9JqyktkCFcwW0woddQgDgw"},
				{Key: "kxconfid", Value: "rmwr3840s"}, {Key: "kxplacementid", Value: "204976476"}, {Key: "kxadid", Value: "404832720"},
				{Key: "kxcreativeid", Value: "0"},
			},
		},
		"event.gif": {
			rec: beacon("2018-02-07T20:43:01Z", "100.6.145.113", "10.65.103.148", "Lx14Qph3",
				"Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Version/10.0 Mobile/14G60 Safari/602.1",
				"/event.gif", 204, 74, true, "beacon-n054-ash.krxd.net"),
			nQuery: 5,
			query:  map[string]string{"event_id": "LwMuYlcD", "model": "CIVIC SI COUPE", "pageName": "CIVIC SI COUPE:MODEL PAGE:OVERVIEW", "modelYear": "2018"},
		},
		"segment.gif": {
			rec: beacon("2018-01-11T23:21:01Z", "107.23.68.6", "10.67.128.205", "LudgMNz6", "Java/1.8.0_141",
				"/segment.gif", 204, 51, true, "beacon-n012-ash.krxd.net"),
			nQuery: 4,
			query:  map[string]string{"segs": "sj0w2vv4l", "action": "add", "fpuid": "80ff7089-d535-4f50-bc86-ff3e5a7d564a"},
		},
		"transaction.gif": {
			rec: beacon("2018-02-07T20:43:28Z", "107.21.39.59", "10.155.186.211", "Lx14asGr", "HasOffers Mobile AppTracking v1.0",
				"/transaction.gif", 204, 34, true, "beacon-n054-ash.krxd.net"),
			nQuery: 20,
			query: map[string]string{
				"siteName": "Expedia - Android", "context.marketingAttribution.restrictedLastTouch": "",
				"checkout.cartTotal.amount": "36.29", "device.device.type": "app", "checkOutDate": "1970-01-01",
			},
		},
		"heartbeat.gif": {
			rec: beacon("2018-02-07T20:43:01Z", "107.193.71.57", "10.138.160.235", "Lx14Qe8U", "Roku/DVP-8.0 (388.00E04156A)",
				"/heartbeat.gif", 204, 56, true, "beacon-n054-ash.krxd.net"),
			nQuery: 16,
			query: map[string]string{
				"_kpa_video_season": "Season 0", "_kpa_video_analytics_clip_title": "LMP:KillerMom:KillerMom",
				"_kua_user_ip_address": "192.168.1.107", "_kpa_video_chapter": "Chapter 5",
			},
		},
		"social.gif": {
			rec: func() FeedRecord {
				r := beacon("2018-02-07T20:47:27Z", "191.217.91.19", "10.11.210.91", "Lq5fbRVM",
					"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029.110 Safari/537.36 Edge/16.16299",
					"/social.gif", 204, 44, false, "beacon-n054-ash.krxd.net")
				r.Referrer = ns("http://kogut.oglobo.globo.com/noticias-da-tv/novelas/ultimas-noticias.html")
				return r
			}(),
			nQuery: 6,
			query: map[string]string{
				"_ksoc_t": "twttr", "_ksoc_e": "tweet",
				"_kpa_title": "Notícias das novelas - Patrícia Kogut | Jornal O Globo",
				"_ksoc_url":  "https://platform.twitter.com/widgets/tweet_button.02a1dca8703a0f5962a962619634825b.pt.html#dnt=false&id=twitter-widget-0&lang=pt&original_referer=http%3A%2F%2Fkogut.oglobo.globo.com%2Fnoticias-da-tv%2Fnovelas%2Fultimas-noticias.html&related=PatriciaKogut&size=m&text=%27O%20outro%20lado%20do%20para%C3%ADso%27%3A%20Adriana%20far%C3%A1%20bi%C3%B3psia%20e%20ficar%C3%A1%20arrasada&time=1518036407166&type=share&url=http%3A%2F%2Fkogut.oglobo.globo.com%2Fnoticias-da-tv%2Fnovelas%2Fnoticia%2F2018%2F02%2Fo-outro-lado-do-paraiso-adriana-fara-biopsia-e-ficara-arrasada.html&via=PatriciaKogut",
			},
		},
	}
	var p fastjson.Parser
	for source, want := range tests {
		t.Run(source, func(t *testing.T) {
			line := bytes.TrimSpace(readDoc(t, source+".json"))
			got, rej := ParseFeedRecord(&p, line, source)
			if rej != nil {
				t.Fatal(rej)
			}
			if got.QueryString.Valid != (want.nQuery > 0) || !strings.HasPrefix(got.QueryString.String, "?") && want.nQuery > 0 {
				t.Errorf("QueryString = %+v", got.QueryString)
			}
			if len(got.QueryParams) != want.nQuery {
				t.Errorf("%d query params, want %d: %+v", len(got.QueryParams), want.nQuery, got.QueryParams)
			}
			params := map[string]string{}
			for _, q := range got.QueryParams {
				params[q.Key] = q.Value
			}
			for k, v := range want.query {
				if params[k] != v {
					t.Errorf("query_params[%q] = %q, want %q", k, params[k], v)
				}
			}
			if !reflect.DeepEqual(got.KCT, want.kct) {
				t.Errorf("KCT = %+v, want %+v", got.KCT, want.kct)
			}
			got.QueryParams, got.KCT = nil, nil
			want.rec.QueryString = got.QueryString
			if !reflect.DeepEqual(got, want.rec) {
				t.Errorf("\n got %+v\nwant %+v", got, want.rec)
			}
		})
	}
	if t.Failed() {
		return
	}
	// Spot checks that read like the brief.
	pixel, _ := ParseFeedRecord(&p, readDoc(t, "pixel.gif.json"), "pixel.gif")
	if got := time.UnixMicro(pixel.TS).UTC().Format(time.RFC3339); got != "2018-02-07T20:46:01Z" {
		t.Errorf("pixel TS = %s", got)
	}
	click, _ := ParseFeedRecord(&p, readDoc(t, "click.json"), "click")
	if len(click.XFFChain) != 3 || click.KCT[0] != (Param{Key: "kxcampaignid", Value: "20299543"}) {
		t.Errorf("click = %+v", click)
	}
}

func TestParseFeedRecord(t *testing.T) {
	tests := []struct {
		name   string
		source string
		line   string
		check  func(t *testing.T, r FeedRecord)
		code   string
	}{
		{name: "minimal", source: "pixel.gif", line: `{"TS":"1518036361"}`, check: func(t *testing.T, r FeedRecord) {
			if !reflect.DeepEqual(r, FeedRecord{TS: 1518036361_000000}) {
				t.Errorf("%+v", r)
			}
		}},
		{name: "click in seconds", source: "click", line: `{"TS":"1517958000"}`, check: func(t *testing.T, r FeedRecord) {
			if r.TS != 1517958000_000000 {
				t.Errorf("TS = %d", r.TS)
			}
		}},
		{name: "pixel in milliseconds", source: "pixel.gif", line: `{"TS":"1518036361123"}`, check: func(t *testing.T, r FeedRecord) {
			if r.TS != 1518036361123_000 {
				t.Errorf("TS = %d", r.TS)
			}
		}},
		{name: "microseconds", source: "event.gif", line: `{"TS":"1518036361123456"}`, check: func(t *testing.T, r FeedRecord) {
			if r.TS != 1518036361123456 {
				t.Errorf("TS = %d", r.TS)
			}
		}},
		{name: "numbers", source: "click.gif", line: `{"TS":1517958000165,"RESP":204,"RT":0,"NEWUSER":1,"V":7,"KUID":12}`, check: func(t *testing.T, r FeedRecord) {
			if r.TS != 1517958000165_000 || r.Resp != (NullInt32{204, true}) || r.RT != (NullInt32{0, true}) ||
				r.NewUser != (NullBool{true, true}) || r.V != ns("7") || r.KUID != ns("12") {
				t.Errorf("%+v", r)
			}
		}},
		{name: "booleans and nulls", source: "pixel.gif", line: `{"TS":"1518036361","NEWUSER":false,"DNT":true,"UA":null,"REF":"-","XFF":null,"QS":"-","RESP":"-","RT":null}`, check: func(t *testing.T, r FeedRecord) {
			if r.NewUser != (NullBool{false, true}) || r.DNT != ns("true") || r.UserAgent.Valid || r.Referrer.Valid ||
				r.XFF.Valid || r.XFFChain != nil || r.QueryString.Valid || r.QueryParams != nil || r.Resp.Valid || r.RT.Valid {
				t.Errorf("%+v", r)
			}
		}},
		{name: "empty strings are values", source: "pixel.gif", line: `{"TS":"1518036361","UA":"","QS":"","XFF":" , "}`, check: func(t *testing.T, r FeedRecord) {
			if r.UserAgent != ns("") || r.QueryString != ns("") || len(r.QueryParams) != 0 || r.QueryParams == nil ||
				r.XFF != ns(" , ") || len(r.XFFChain) != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{name: "extra keys", source: "pixel.gif", line: `{"TS":"1518036361","NEW":"x","ts":"lower","A\"b":{"n":[1,2]},"Q":null,"KCT_":"bare"}`, check: func(t *testing.T, r FeedRecord) {
			want := `{"NEW":"x","ts":"lower","A\"b":{"n":[1,2]},"Q":null,"KCT_":"bare"}`
			if r.Extra != ns(want) || !fastjson.Exists([]byte(r.Extra.String), "A\"b", "n") {
				t.Errorf("Extra = %+v, want %s", r.Extra, want)
			}
		}},
		{name: "kct null and empty", source: "click", line: `{"TS":"1517958000165","KCT_a":"-","KCT_b":"","KCT_c":null,"KCT_d":5}`, check: func(t *testing.T, r FeedRecord) {
			want := []Param{{Key: "a", Null: true}, {Key: "b"}, {Key: "c", Null: true}, {Key: "d", Value: "5"}}
			if !reflect.DeepEqual(r.KCT, want) {
				t.Errorf("KCT = %+v", r.KCT)
			}
		}},
		{name: "escaped strings", source: "pixel.gif", line: `{"TS":"1518036361","UA":"a\u003db \"q\" \u00e9","PATH":"\/x"}`, check: func(t *testing.T, r FeedRecord) {
			if r.UserAgent != ns(`a=b "q" é`) || r.Path != ns("/x") {
				t.Errorf("%+v", r)
			}
		}},
		{name: "crlf and blanks", source: "pixel.gif", line: " {\"TS\":\"1518036361\"} \r\n", check: func(t *testing.T, r FeedRecord) {
			if r.TS != 1518036361_000000 {
				t.Errorf("%+v", r)
			}
		}},

		{name: "empty line", line: "\r\n", code: ReasonEmptyLine},
		{name: "invalid utf8", line: "{\"TS\":\"1518036361\",\"UA\":\"\xff\"}", code: ReasonInvalidUTF8},
		{name: "not json", line: `{"TS":"1518036361"`, code: ReasonNotJSON},
		{name: "not json text", line: `TS=1518036361`, code: ReasonNotJSON},
		{name: "trailing garbage", line: `{"TS":"1518036361"} x`, code: ReasonNotJSON},
		{name: "array", line: `[{"TS":"1518036361"}]`, code: ReasonNotObject},
		{name: "string", line: `"TS"`, code: ReasonNotObject},
		{name: "no TS", line: `{"IP":"1.2.3.4"}`, code: ReasonMissingTS},
		{name: "TS dash", line: `{"TS":"-"}`, code: ReasonMissingTS},
		{name: "TS null", line: `{"TS":null}`, code: ReasonMissingTS},
		{name: "TS text", line: `{"TS":"yesterday"}`, code: ReasonBadTimestamp},
		{name: "TS fraction", line: `{"TS":"1518036361.5"}`, code: ReasonBadTimestamp},
		{name: "TS float number", line: `{"TS":1.518036361e9}`, code: ReasonBadTimestamp},
		{name: "TS negative", line: `{"TS":-1518036361}`, code: ReasonBadTimestamp},
		{name: "TS bool", line: `{"TS":true}`, code: ReasonBadTimestamp},
		{name: "TS too small", line: `{"TS":"123456"}`, code: ReasonTimestampOutRange},
		{name: "TS in 1990", line: `{"TS":"631152000"}`, code: ReasonTimestampOutRange},
		{name: "TS nanoseconds", line: `{"TS":"1518036361000000000"}`, code: ReasonBadTimestamp},
		{name: "TS 17 digits", line: `{"TS":"15180363610000000"}`, code: ReasonTimestampOutRange},
		{name: "duplicate TS", line: `{"TS":"1518036361","TS":"1518036362"}`, code: ReasonDuplicateField},
		{name: "duplicate KCT", source: "click", line: `{"TS":"1517958000165","KCT_x":"1","KCT_x":"2"}`, code: ReasonDuplicateField},
		{name: "object UA", line: `{"TS":"1518036361","UA":{"a":1}}`, code: ReasonBadFieldType},
		{name: "array KCT", line: `{"TS":"1518036361","KCT_a":[1]}`, code: ReasonBadFieldType},
		{name: "RESP text", line: `{"TS":"1518036361","RESP":"OK"}`, code: ReasonBadResp},
		{name: "RESP negative", line: `{"TS":"1518036361","RESP":"-1"}`, code: ReasonBadResp},
		{name: "RESP overflow", line: `{"TS":"1518036361","RESP":"2147483648"}`, code: ReasonBadResp},
		{name: "RT fraction", line: `{"TS":"1518036361","RT":"3.5"}`, code: ReasonBadRT},
		{name: "RT bool", line: `{"TS":"1518036361","RT":true}`, code: ReasonBadRT},
		{name: "NEWUSER 2", line: `{"TS":"1518036361","NEWUSER":"2"}`, code: ReasonBadNewUser},
		{name: "NEWUSER yes", line: `{"TS":"1518036361","NEWUSER":"yes"}`, code: ReasonBadNewUser},
	}
	var p fastjson.Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			source := tt.source
			if source == "" {
				source = "pixel.gif"
			}
			got, rej := ParseFeedRecord(&p, []byte(tt.line), source)
			if tt.code != "" {
				if rej == nil || rej.Code != tt.code || rej.Reason == "" {
					t.Fatalf("reject = %v, want code %s", rej, tt.code)
				}
				return
			}
			if rej != nil {
				t.Fatalf("unexpected reject %v", rej)
			}
			tt.check(t, got)
		})
	}
}

// TestParseFeedRecordReuse checks that a record stays intact after the
// parser has moved on to other lines.
func TestParseFeedRecordReuse(t *testing.T) {
	var p fastjson.Parser
	first, rej := ParseFeedRecord(&p, readDoc(t, "social.gif.json"), "social.gif")
	if rej != nil {
		t.Fatal(rej)
	}
	want := first.QueryParams[len(first.QueryParams)-1]
	wantUA := strings.Clone(first.UserAgent.String)
	for _, name := range []string{"pixel.gif", "click", "transaction.gif"} {
		if _, rej := ParseFeedRecord(&p, readDoc(t, name+".json"), name); rej != nil {
			t.Fatal(rej)
		}
	}
	if first.UserAgent.String != wantUA || first.QueryParams[len(first.QueryParams)-1] != want ||
		want.Value != "Notícias das novelas - Patrícia Kogut | Jornal O Globo" {
		t.Fatalf("record changed after reuse: %+v", first)
	}
}

func TestParseQuery(t *testing.T) {
	many := make([]string, 0, 100)
	for i := range 50 {
		k := "k" + itoa(int64(i))
		many = append(many, k+"=a", k+"=b")
	}
	tests := []struct {
		qs   string
		want []Param
	}{
		{"", []Param{}},
		{"?", []Param{}},
		{"?a=1&b=2", []Param{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}},
		{"a=1", []Param{{Key: "a", Value: "1"}}},
		{"?a=1&&b=2&", []Param{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}},
		{"?a&b=", []Param{{Key: "a"}, {Key: "b"}}},
		{"?=x&a=1", []Param{{Key: "a", Value: "1"}}},
		{"?a=1&a=2&A=3", []Param{{Key: "a", Value: "1"}, {Key: "A", Value: "3"}}},
		{"?a=x=y", []Param{{Key: "a", Value: "x=y"}}},
		{"?a=b+c%20d&e%3Df=%C3%A9", []Param{{Key: "a", Value: "b c d"}, {Key: "e=f", Value: "é"}}},
		{"?bad=%zz&short=%4&end=%", []Param{{Key: "bad", Value: "%zz"}, {Key: "short", Value: "%4"}, {Key: "end", Value: "%"}}},
		{"?notutf8=%FF%FE+x", []Param{{Key: "notutf8", Value: "%FF%FE+x"}}},
		{"?k%zz=v+1", []Param{{Key: "k%zz", Value: "v 1"}}},
		{"?a=1;b=2", []Param{{Key: "a", Value: "1;b=2"}}},
	}
	for _, tt := range tests {
		if got := ParseQuery(tt.qs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.qs, got, tt.want)
		}
	}
	got := ParseQuery("?" + strings.Join(many, "&"))
	if len(got) != 50 || got[0] != (Param{Key: "k0", Value: "a"}) || got[49] != (Param{Key: "k49", Value: "a"}) {
		t.Errorf("many keys: %d params, %+v", len(got), got[:2])
	}
}

func TestRejectError(t *testing.T) {
	_, rej := ParseRequestLine([]byte("x"))
	if rej.Error() != "field_count: found 0 '^' delimiters, want 6" {
		t.Errorf("Error() = %q", rej.Error())
	}
}

func BenchmarkParseFeedRecord(b *testing.B) {
	line := readDoc(b, "pixel.gif.json")
	var p fastjson.Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, rej := ParseFeedRecord(&p, line, "pixel.gif"); rej != nil {
			b.Fatal(rej)
		}
	}
}

func BenchmarkParseRequestLine(b *testing.B) {
	line := []byte(`device^kxcookie^abcdef123^set^gdpr^{"dc":1,"al":1,"tg":0,"cd":0,"sh":1,"re":0}^1515471711277000`)
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := ParseRequestLine(line); rej != nil {
			b.Fatal(rej)
		}
	}
}
