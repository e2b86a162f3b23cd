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
