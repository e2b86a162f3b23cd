package didomi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// scanLine scans line as the walk does, without sorting anything: whether
// it is valid JSON and the compact text of its value.
func scanLine(line []byte) (compact []byte, ok bool) {
	sc := scanner{s: line}
	sc.ws()
	v := sc.value(0)
	sc.end()
	if sc.bad {
		return nil, false
	}
	return appendCompact(nil, v.in(line)), true
}

func TestScanGrammar(t *testing.T) {
	deep := strings.Repeat("[", fastjson.MaxDepth) + strings.Repeat("]", fastjson.MaxDepth)
	tooDeep := strings.Repeat("[", fastjson.MaxDepth+1) + strings.Repeat("]", fastjson.MaxDepth+1)
	for _, tt := range []struct {
		in, compact string // compact "" : not valid JSON
	}{
		{`{}`, `{}`},
		{" \t\r\n{ \"a\" : [ 1 , true,false , null ] }\n ", `{"a":[1,true,false,null]}`},
		{`"a\"b\\"`, `"a\"b\\"`},
		{`"a\\\"b"`, `"a\\\"b"`},
		{`"a b\u00e9 \n"`, `"a b\u00e9 \n"`},
		{`{"k\"ey":"v"}`, `{"k\"ey":"v"}`},
		{`-1.5e+3`, `-1.5e+3`},
		{`1-2`, `1-2`}, // fastjson's numbers are lenient
		{`NaN`, `NaN`},
		{`-Inf`, `-Inf`},
		{`nan`, `nan`},
		{"\"raw \x01 control\"", "\"raw \x01 control\""},
		{deep, deep},
		{tooDeep, ""},
		{``, ""},
		{`   `, ""},
		{`{"a":1,}`, ""},
		{`{"a" 1}`, ""},
		{`[1 2]`, ""},
		{`{"a":1}x`, ""},
		{`tru`, ""},
		{`nul`, ""},
		{`"abc`, ""},
		{`"abc\"`, ""},
		{`{"a`, ""},
		{`-`, `-`}, // so are fastjson's numbers
		{`[1,]`, ""},
		{`{'a':1}`, ""},
	} {
		got, ok := scanLine([]byte(tt.in))
		_, fjErr := (&fastjson.Parser{}).Parse(tt.in)
		if ok != (fjErr == nil) {
			t.Errorf("%.40q: scanner ok=%v, fastjson error %v", tt.in, ok, fjErr)
		}
		if ok != (tt.compact != "") || string(got) != tt.compact {
			t.Errorf("%.40q: compact %.40q ok=%v, want %.40q", tt.in, got, ok, tt.compact)
		}
	}
}

// FuzzScanMatchesFastjson checks that the scanner takes a line as valid
// JSON exactly when fastjson does, and that the compact text it keeps of a
// value is what fastjson's MarshalTo writes of the same value parsed.
func FuzzScanMatchesFastjson(f *testing.F) {
	f.Add([]byte(goodLine))
	f.Add([]byte(`{"a":[1,-2.5e3,"x\"y",{"b":null}],"c":true}`))
	f.Add([]byte(`[nan, -Inf, 1e, "\u00e9\\"]`))
	for _, l := range trickyLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, ok := scanLine(line)
		var p fastjson.Parser
		v, err := p.ParseBytes(line)
		if ok != (err == nil) {
			t.Fatalf("%q: scanner ok=%v, fastjson error %v", line, ok, err)
		}
		if ok {
			if want := v.MarshalTo(nil); !bytes.Equal(got, want) {
				t.Fatalf("%q: compact %q, fastjson writes %q", line, got, want)
			}
		}
	})
}
