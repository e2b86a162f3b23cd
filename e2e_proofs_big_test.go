package main

// End-to-end test of a Didomi proof archive of over 200 MiB: it is
// streamed part after part, in bounded memory.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TestProofBigArchiveBoundedMemory processes a generated ≥ 200 MiB archive
// split into 3+ parts with the built binary under /usr/bin/time -v: peak
// RSS stays under 150 MiB, and every copied file has its original's sha256.
// VENDORLAKE_SKIP_BIG=1 skips it.
func TestProofBigArchiveBoundedMemory(t *testing.T) {
	if os.Getenv("VENDORLAKE_SKIP_BIG") != "" || testing.Short() {
		t.Skip("big archive test skipped")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("/usr/bin/time not installed")
	}
	root := t.TempDir()
	bin := buildVendorlake(t)
	in := filepath.Join(root, "in")
	dir := filepath.Join(in, "export-id=big", "date=2024-03-01")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
	writeOneUser(t, dir)

	// 52 files of 4 MiB of pseudo-random (incompressible) bytes: 208 MiB
	// of tar, cut into 80 MiB parts, streamed to disk as generated.
	const files, size, partSize = 52, 4 << 20, 80 << 20
	pw := &partWriter{dir: dir, size: partSize}
	gz, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	want := map[string]string{}
	r := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, size)
	for i := 0; i < files; i++ {
		for j := 0; j < len(buf); j += 8 {
			v := r.Uint64()
			for k := 0; k < 8; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		name := proofName(r, "pdf")
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(1709294400, 0)})
		tw.Write(buf)
		h := sha256.Sum256(buf)
		want["export_id=big/date=2024-03-01/"+name] = hex.EncodeToString(h[:])
	}
	tw.Close()
	gz.Close()
	if err := pw.close(); err != nil {
		t.Fatal(err)
	}
	if pw.n < 3 || pw.total < 200<<20 {
		t.Fatalf("archive of %d bytes in %d parts, want ≥ 200 MiB in 3+", pw.total, pw.n)
	}

	lake := filepath.Join(root, "lake")
	cmd := exec.Command("/usr/bin/time", "-v", bin, "didomi", "--input="+in, "--output="+lake, "--progress=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, stderr.String())
	}
	m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no RSS in /usr/bin/time output:\n%s", stderr.String())
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	t.Logf("archive %.1f MiB in %d parts: peak RSS %.1f MiB", float64(pw.total)/(1<<20), pw.n, float64(kb)/1024)
	if kb > 150<<10 {
		t.Errorf("peak RSS %d KiB exceeds 150 MiB", kb)
	}
	got := treeHashes(t, filepath.Join(lake, "didomi_proof_files"))
	delete(got, "_SUCCESS")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("copied proof files differ from the originals (%d files, want %d)", len(got), len(want))
	}
}

// partWriter writes a stream as proofs.tar.gz.NN parts of size bytes.
type partWriter struct {
	dir      string
	size     int64
	f        *os.File
	inPart   int64
	n        int
	total    int64
	closeErr error
}

func (w *partWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.f == nil || w.inPart == w.size {
			if err := w.close(); err != nil {
				return written, err
			}
			f, err := os.Create(filepath.Join(w.dir, fmt.Sprintf("proofs.tar.gz.%02d", w.n)))
			if err != nil {
				return written, err
			}
			w.f, w.inPart = f, 0
			w.n++
		}
		k := int(min(int64(len(p)), w.size-w.inPart))
		if _, err := w.f.Write(p[:k]); err != nil {
			return written, err
		}
		w.inPart += int64(k)
		w.total += int64(k)
		written += k
		p = p[k:]
	}
	return written, nil
}

func (w *partWriter) close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

var _ io.Writer = (*partWriter)(nil)
