package registry

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

type testFlags struct{ n int }

func (f *testFlags) Register(fs *flag.FlagSet) { fs.IntVar(&f.n, "n", 1, "a number") }
func (f *testFlags) Validate() error {
	if f.n < 0 {
		return errors.New("--n must be >= 0")
	}
	return nil
}
func (f *testFlags) Pipeline(o *run.Options) run.Pipeline {
	o.MaxAttachmentRejectRatio = float64(f.n)
	return nil
}

func testVendor(name string, command ...string) Vendor {
	return Vendor{Name: name, Command: command, Summary: name + " files", Flags: func() Flags { return &testFlags{} },
		Tables: func() []hiveparquet.Table { return []hiveparquet.Table{{Name: name + "_t"}} }}
}

func TestRegisterKeepsOrderAndUnregisters(t *testing.T) {
	un := Register(testVendor("b"), testVendor("a-x", "a", "x"), testVendor("a-y", "a", "y"))
	var names []string
	for _, v := range All() {
		names = append(names, v.Name+":"+strings.Join(v.CommandLine(), " "))
	}
	if got := strings.Join(names, ","); got != "b:b,a-x:a x,a-y:a y" {
		t.Errorf("All() = %s", got)
	}
	var tables []string
	for _, tb := range Tables() {
		tables = append(tables, tb.Name)
	}
	if got := strings.Join(tables, ","); got != "b_t,a-x_t,a-y_t" {
		t.Errorf("Tables() = %s", got)
	}
	if _, ok := Lookup("a-y"); !ok {
		t.Error("Lookup(a-y) found nothing")
	}
	un()
	if len(All()) != 0 {
		t.Errorf("after unregister: %v", All())
	}
}

func TestRegisterRefusesBadRegistrations(t *testing.T) {
	defer Register(testVendor("taken"))()
	for name, v := range map[string]Vendor{
		"same name":      testVendor("taken", "other"),
		"same command":   testVendor("other", "taken"),
		"no flags":       {Name: "x", Summary: "x", Tables: testVendor("x").Tables},
		"three words":    testVendor("x", "a", "b", "c"),
		"flag as a word": testVendor("x", "-x"),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			Register(v)
		})
	}
}

func TestVendorPipelineParsesAndValidates(t *testing.T) {
	v := testVendor("v")
	var o run.Options
	if _, err := v.Pipeline([]string{"--n=3"}, &o); err != nil || o.MaxAttachmentRejectRatio != 3 {
		t.Errorf("--n=3: err %v, options %+v", err, o)
	}
	for _, args := range [][]string{{"--n=-1"}, {"--nope"}, {"extra"}} {
		if _, err := v.Pipeline(args, &o); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestCheckDates(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"", "", true},
		{"2024-01-01", "2024-01-31", true},
		{"2024-01-01", "", true},
		{"2024-02-01", "2024-01-31", false},
		{"2024-1-1", "", false},
		{"", "20240101", false},
		{"2024-13-01", "", false},
		{"abcd-ef-gh", "", false},
		{"", "2023-02-29", false},
		{"2024-02-29", "2024-02-29", true},
	} {
		if err := CheckDates(tc.from, tc.to); (err == nil) != tc.ok {
			t.Errorf("CheckDates(%q, %q) = %v, want ok %v", tc.from, tc.to, err, tc.ok)
		}
	}
}

// TestChoose: the --pipelines list of ddl and prune, by name or by the
// command line's words, in registration order; "all"; unknown or empty.
func TestChoose(t *testing.T) {
	defer Register(testVendor("b"), testVendor("a-x", "a", "x"), testVendor("a-y", "a", "y"))()
	tests := []struct {
		list, want, err string
	}{
		{list: "a-y,b", want: "b,a-y"},
		{list: "a x, b", want: "b,a-x"},
		{list: "b,b", want: "b"},
		{list: "all", want: "b,a-x,a-y"},
		{list: "b,all", want: "b,a-x,a-y"},
		{list: "b,acme", err: `unknown pipeline "acme" (want b, a-x, a-y or all)`},
		{list: " , ", err: "names no pipeline"},
	}
	for _, tt := range tests {
		vs, err := Choose(tt.list)
		var names []string
		for _, v := range vs {
			names = append(names, v.Name)
		}
		got := strings.Join(names, ",")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Choose(%q) = %s, %v; want error %q", tt.list, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Choose(%q) = %s, %v; want %s", tt.list, got, err, tt.want)
		}
	}
}
