package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/lzop"
)

// TestLzopFilesCompressed: by default the request lzop files are really
// LZO-compressed (compressed blocks, not stored ones), decompress to as
// many lines as EXPECTED.json says, come with an index matching their
// blocks, and are the same bytes on every run; --lzo=stored keeps stored
// blocks.
func TestLzopFilesCompressed(t *testing.T) {
	if _, err := exec.LookPath("lzop"); err != nil {
		t.Skip("lzop not installed (apt-get install lzop)")
	}
	gen := func(args ...string) string {
		dir := t.TempDir()
		if err := runAudienceStudio(append([]string{"--out=" + dir, "--lines=4000", "--days=1", "--requests=1", "--records=2"}, args...), io.Discard); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b := gen(), gen()
	stored := gen("--lzo=stored")
	var exp asExpected
	raw, err := os.ReadFile(filepath.Join(a, "EXPECTED.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	var plainLen int
	n := 0
	for _, f := range exp.Requests {
		data, err := os.ReadFile(filepath.Join(a, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		again, err := os.ReadFile(filepath.Join(b, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("%s differs between two runs", f.Path)
		}
		switch f.Format {
		case "plain":
			plainLen = len(data)
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				t.Fatal(err)
			}
		case "lzop":
			n++
			zr, err := lzop.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			text, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			if lines := int64(bytes.Count(text, []byte("\n"))); lines != f.Lines {
				t.Errorf("%s: %d lines decompressed, EXPECTED.json says %d", f.Path, lines, f.Lines)
			}
			// Compressed blocks: the file is much smaller than its text
			// (stored blocks would make it slightly bigger).
			if len(data) > len(text)*3/4 {
				t.Errorf("%s: %d bytes for %d uncompressed: not LZO-compressed", f.Path, len(data), len(text))
			}
			st, err := os.ReadFile(filepath.Join(stored, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Fatal(err)
			}
			if len(st) <= len(text) {
				t.Errorf("--lzo=stored: %d bytes for %d uncompressed, want stored blocks", len(st), len(text))
			}
			idx, err := os.ReadFile(filepath.Join(a, filepath.FromSlash(f.Index)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := lzop.ReadIndex(bytes.NewReader(idx))
			if err != nil {
				t.Fatal(err)
			}
			want, err := lzop.BuildIndex(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 2 || !slices.Equal(got, want) || f.Blocks != len(want) {
				t.Errorf("%s: index %v, blocks %v (EXPECTED %d); want equal, at least 2", f.Path, got, want, f.Blocks)
			}
		}
	}
	if n != 1 || plainLen == 0 {
		t.Fatalf("%d lzop files and a plain file of %d bytes, want 1 and > 0", n, plainLen)
	}
	if err := runAudienceStudio([]string{"--out=" + t.TempDir(), "--lzo=fast"}, io.Discard); err == nil {
		t.Error("--lzo=fast accepted")
	}
}
