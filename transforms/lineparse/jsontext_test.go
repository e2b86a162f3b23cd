package lineparse

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "tab\tnew\nline\x00nul\x1f", "ünïcødé ✓"} {
		out := AppendJSONString([]byte("x:"), []byte(s))
		var back string
		if err := json.Unmarshal(out[2:], &back); err != nil || back != s || string(out[:2]) != "x:" {
			t.Errorf("AppendJSONString(%q) = %s (%v), decodes to %q", s, out, err, back)
		}
	}
}
