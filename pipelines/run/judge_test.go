package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

func TestJudge(t *testing.T) {
	in := t.TempDir()
	for i := range 7 {
		p := filepath.Join(in, fmt.Sprintf("f%d/x.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	empty := t.TempDir()
	partners := map[string]bool{"109": true, "45": true, "7000": true}
	for _, c := range []struct {
		name    string
		input   string
		plan    transforms.Plan
		err     string // "" when no error
		warning string
	}{
		{"no layout, files", in, transforms.Plan{}, "", ""},
		{"no layout, empty input", empty, transforms.Plan{}, "nothing matched: no file under " + empty + ": check --input", ""},
		{"nothing matches the layout", in, transforms.Plan{Found: transforms.Found{Layout: "a=A/b=B"}},
			"nothing matched: no file under " + in + " matches the layout a=A/b=B; found 7 files: f0/x.txt, f1/x.txt, f2/x.txt, f3/x.txt, f4/x.txt and 2 more", ""},
		{"empty input", empty, transforms.Plan{Found: transforms.Found{Layout: "a=A/b=B"}},
			"nothing matched: no file under " + empty + " (want the layout a=A/b=B): check --input", ""},
		{"a filter matches nothing", in, transforms.Plan{Found: transforms.Found{Layout: "L", Units: 3,
			Filters: []transforms.Filter{transforms.ValueFilter("--partner", "8", "partners", partners)}}},
			"nothing matched: --partner=8 matches nothing under " + in + "; partners found: 45, 109, 7000", ""},
		{"a filter matches", in, transforms.Plan{Found: transforms.Found{Layout: "L", Units: 3,
			Filters: []transforms.Filter{transforms.ValueFilter("--partner", "45", "partners", partners)}}}, "", ""},
		{"a date range matches nothing", in, transforms.Plan{Found: transforms.Found{Layout: "L", Units: 2,
			Filters: []transforms.Filter{transforms.DateFilter("2030-01-01", "", map[string]bool{"2024-03-02": true, "2024-03-01": true}, false)}}},
			"", "--from=2030-01-01: nothing under the input is dated in this range yet (dates found: 2024-03-01 to 2024-03-02)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			warnings, err := judge(context.Background(), lakefs.Local{}, c.input, c.plan)
			if c.err == "" && err != nil || c.err != "" && (err == nil || err.Error() != c.err || !errors.Is(err, ErrNothingMatched)) {
				t.Errorf("error %v\nwant %s", err, c.err)
			}
			var got []string
			for _, w := range warnings {
				got = append(got, w.What+": "+w.Reason)
			}
			if strings.Join(got, "\n") != c.warning {
				t.Errorf("warnings %q, want %q", got, c.warning)
			}
		})
	}
}
