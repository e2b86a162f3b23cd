package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// TestDemoRunsEveryRegisteredSample runs demo and checks that it ran every
// registered pipeline on its sample: one summary each, every table there.
func TestDemoRunsEveryRegisteredSample(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	code, out, errs := vendorlake(t, "demo", "--output="+lake)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errs)
	}
	for _, v := range registry.All() {
		if !strings.Contains(out, "vendorlake "+v.Name+": committed") {
			t.Errorf("demo printed no summary of %s", v.Name)
		}
		for _, tb := range v.Tables() {
			if _, err := os.Stat(filepath.Join(lake, tb.Name)); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
	}
	if !strings.Contains(out, "Try it with DuckDB") {
		t.Errorf("no DuckDB hint:\n%s", out)
	}
}
