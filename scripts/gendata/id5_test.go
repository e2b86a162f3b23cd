package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestID5SampleUpToDate regenerates the ID5 sample and compares it, byte for
// byte, with the committed testdata/id5/sample (so the two never drift, and
// the generator is deterministic).
func TestID5SampleUpToDate(t *testing.T) {
	out := t.TempDir()
	if err := runID5([]string{"--sample", "--out=" + out, "--quiet"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "testdata", "id5", "sample")
	want := readTree(t, committed)
	got := readTree(t, out)
	if len(got) != len(want) {
		t.Fatalf("generated %d files, committed sample has %d: run go run ./scripts/gendata id5 --sample --out=testdata/id5/sample", len(got), len(want))
	}
	for rel, data := range want {
		if !bytes.Equal(got[rel], data) {
			t.Errorf("%s differs from the generator's output: run go run ./scripts/gendata id5 --sample --out=testdata/id5/sample", rel)
		}
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		m[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
