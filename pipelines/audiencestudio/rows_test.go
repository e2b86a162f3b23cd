package audiencestudio

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestRequestFlagsColumn: the flags column holds the six documented flags
// as a struct (a flag the line does not give is null; other keys stay in
// flags_raw only), and is null when flags_raw is null or unparseable.
func TestRequestFlagsColumn(t *testing.T) {
	const ts = "^1515471711277000"
	tests := []struct {
		name, line string
		want       map[string]int32 // nil: flags is null
	}{
		{"all six", `device^kxcookie^a^set^gdpr^{"dc":1,"al":0,"tg":1,"cd":0,"sh":1,"re":0}` + ts,
			map[string]int32{"dc": 1, "al": 0, "tg": 1, "cd": 0, "sh": 1, "re": 0}},
		{"some, in another order, with an unknown key", `device^kxcookie^b^set^gdpr^{re:true,xx:1,DC:0,tg=false}` + ts,
			map[string]int32{"re": 1, "tg": 0}},
		{"empty object", `device^kxcookie^c^set^gdpr^{}` + ts, map[string]int32{}},
		{"unparseable", `device^kxcookie^d^set^gdpr^{dc:maybe}` + ts, nil},
		{"absent", `device^kxcookie^e^portability^^^`, nil},
	}
	var content string
	for _, tt := range tests {
		content += tt.line + "\n"
	}
	p := filepath.Join(t.TempDir(), "r.txt")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []map[string]int32
	var raws []string
	_, err := readRequests(context.Background(), lakefs.Local{}, inputFile(t, p), lineparse.Options{}, func(b hiveparquet.Batch) {
		defer b.Record.Release()
		if b.Table != RequestsTable {
			t.Errorf("unexpected %s batch", b.Table)
			return
		}
		if !reflect.DeepEqual(b.Record.Schema().Field(6).Type, FlagsType()) {
			t.Fatalf("flags type %s", b.Record.Schema().Field(6).Type)
		}
		flags := b.Record.Column(6).(*array.Struct)
		raw := b.Record.Column(5).(*array.String)
		for i := 0; i < flags.Len(); i++ {
			raws = append(raws, raw.ValueStr(i))
			if flags.IsNull(i) {
				got = append(got, nil)
				continue
			}
			m := map[string]int32{}
			for j, name := range FlagNames {
				if f := flags.Field(j).(*array.Int32); f.IsValid(i) {
					m[name] = f.Value(i)
				}
			}
			got = append(got, m)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tests) {
		t.Fatalf("%d rows, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		if !reflect.DeepEqual(got[i], tt.want) {
			t.Errorf("%s: flags %v (raw %q), want %v", tt.name, got[i], raws[i], tt.want)
		}
	}
}
