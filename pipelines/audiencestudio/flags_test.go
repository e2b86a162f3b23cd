package audiencestudio

import (
	"reflect"
	"testing"
)

func TestParseFlags(t *testing.T) {
	six := []Flag{{FlagDataCollection, 1}, {FlagAnalytics, 0}, {FlagTargeting, 1}, {FlagCrossDevice, 0}, {FlagDataSharing, 1}, {FlagReidentification, 0}}
	tests := []struct {
		in   string
		want []Flag
		ok   bool
	}{
		{`{"dc":1,"al":0,"tg":1,"cd":0,"sh":1,"re":0}`, six, true},
		{`{ "dc" : 1 , "al" : 0, "tg":1,"cd":0,"sh":1,"re":0 }`, six, true},
		{`{dc:true,al:false,tg:TRUE,cd:False,sh:1,re:0}`, six, true},
		{`{"dc":"1","al":"0","tg":"true","cd":"false","sh":"1","re":"0"}`, six, true},
		{`dc=1&al=0&tg=1&cd=0&sh=1&re=0`, six, true},
		{`dc=1;al=0;tg=1;cd=0;sh=1;re=0`, six, true},
		{`dc:1,al:0,tg:1,cd:0,sh:1,re:0`, six, true},
		{`{"dc":1}`, []Flag{{"dc", 1}}, true},
		{`{"xx":1,"dc":0}`, []Flag{{"xx", 1}, {"dc", 0}}, true},
		{`{}`, []Flag{}, true},
		{`{ }`, []Flag{}, true},
		{"\u00a0{\"dc\":falſe}\u0085", []Flag{{"dc", 0}}, true}, // Unicode spaces and case folding, as the strings package

		{``, nil, false},
		{`   `, nil, false},
		{`{"dc":1`, nil, false},
		{`"dc":1}`, nil, false},
		{`{"dc":2}`, nil, false},
		{`{"dc":-1}`, nil, false},
		{`{"dc":yes}`, nil, false},
		{`{"dc":}`, nil, false},
		{`{:1}`, nil, false},
		{`{"dc"}`, nil, false},
		{`{"dc":1,}`, nil, false},
		{`{"dc":1,,"al":1}`, nil, false},
		{`{"dc":1,"dc":0}`, nil, false},
		{`{"d c":1}`, nil, false},
		{`{"dc:1}`, nil, false},
		{`{"d"c":1}`, nil, false},
		{`{"dc":{"x":1}}`, nil, false},
		{`[1,0,1]`, nil, false},
		{`110100`, nil, false},
	}
	for _, tt := range tests {
		got, ok := ParseFlags(tt.in)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFlags(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		// The request reader parses the line's bytes, into a reused array.
		var buf [maxFlags]flagOf[[]byte]
		fs, ok := parseFlags([]byte(tt.in), buf[:0])
		var gotBytes []Flag
		for _, f := range fs {
			gotBytes = append(gotBytes, Flag{string(f.key), f.val})
		}
		if ok != tt.ok || len(gotBytes) != len(tt.want) || (len(gotBytes) > 0 && !reflect.DeepEqual(gotBytes, tt.want)) {
			t.Errorf("parseFlags(%q bytes) = %v, %v; want %v, %v", tt.in, gotBytes, ok, tt.want, tt.ok)
		}
	}
}

func TestParseFlagsLimit(t *testing.T) {
	s := "{"
	for i := range maxFlags + 1 {
		if i > 0 {
			s += ","
		}
		s += "k" + itoa(int64(i)) + ":1"
	}
	if _, ok := ParseFlags(s + "}"); ok {
		t.Error("accepted more than maxFlags flags")
	}
}
