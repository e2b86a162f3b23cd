package main

// End-to-end tests of hostile and broken Didomi proof archives: entries
// that try to leave their folder, bad names and truncated parts are
// rejected, and a bad archive holds back its partition's proof tables only.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/transforms"
)

// proofEntry is one tar entry of a test archive.
type proofEntry struct {
	hdr  tar.Header
	body []byte
}

func proofName(r *rand.Rand, ext string) string {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:]) + "." + ext
}

// writeArchive writes entries as a tar.gz cut into parts of partSize bytes
// under dir (proofs.tar.gz.00, ...) and returns the part paths.
func writeArchive(t *testing.T, dir string, entries []proofEntry, partSize int) []string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	gz.Close()
	return writeParts(t, dir, buf.Bytes(), partSize)
}

func writeParts(t *testing.T, dir string, data []byte, partSize int) []string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	var paths []string
	for n := 0; len(data) > 0; n++ {
		k := min(partSize, len(data))
		p := filepath.Join(dir, fmt.Sprintf("proofs.tar.gz.%02d", n))
		if err := os.WriteFile(p, data[:k], 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		data = data[k:]
	}
	return paths
}

// proofPartition makes an input tree with one complete Didomi partition
// (no users files) and returns the input root and the partition folder.
func proofPartition(t *testing.T) (in, dir string) {
	in = filepath.Join(t.TempDir(), "in")
	dir = filepath.Join(in, "export-id=e1", "date=2024-03-01")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
	writeOneUser(t, dir)
	return in, dir
}

// writeOneUser writes users/users.json.gz with one user without events: a
// complete partition needs a record, or it is skipped as empty (an archive
// alone is not a record).
func writeOneUser(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "users"), 0o755)
	f, err := os.Create(filepath.Join(dir, "users", "users.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	fmt.Fprintln(zw, `{"user":{"id":"only","organization_id":"org","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z"},"events":[]}`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// assertInsideTree checks that nothing was written under root except the
// input and the lake.
func assertInsideTree(t *testing.T, root string, allowed ...string) {
	t.Helper()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		ok := false
		for _, a := range allowed {
			ok = ok || e.Name() == a
		}
		if !ok {
			t.Errorf("file escaped the output tree: %s", filepath.Join(root, e.Name()))
		}
	}
}

func TestProofHostileEntriesRejected(t *testing.T) {
	in, dir := proofPartition(t)
	root := filepath.Dir(in)
	lake := filepath.Join(root, "lake")
	r := rand.New(rand.NewPCG(1, 2))
	good1, good2, dup, upper := proofName(r, "pdf"), proofName(r, "png"), proofName(r, "gif"), proofName(r, "pdf")
	entries := []proofEntry{
		{tar.Header{Name: good1, Typeflag: tar.TypeReg}, []byte("%PDF-1.4 good")},
		{tar.Header{Name: "/tmp/" + proofName(r, "pdf"), Typeflag: tar.TypeReg}, []byte("absolute")},
		{tar.Header{Name: "../../escape-" + proofName(r, "pdf"), Typeflag: tar.TypeReg}, []byte("dotdot")},
		{tar.Header{Name: proofName(r, "pdf"), Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, nil},
		{tar.Header{Name: proofName(r, "pdf"), Typeflag: tar.TypeLink, Linkname: good1}, nil},
		{tar.Header{Name: proofName(r, "pdf"), Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, nil},
		{tar.Header{Name: "readme.txt", Typeflag: tar.TypeReg}, []byte("not a proof")},
		{tar.Header{Name: strings.ToUpper(upper), Typeflag: tar.TypeReg}, []byte("upper hex")},
		{tar.Header{Name: "dir/", Typeflag: tar.TypeDir}, nil},
		{tar.Header{Name: dup, Typeflag: tar.TypeReg}, []byte("GIF89a first")},
		{tar.Header{Name: dup, Typeflag: tar.TypeReg}, []byte("GIF89a second")},
		{tar.Header{Name: "./" + good2, Typeflag: tar.TypeReg}, []byte("\x89PNG\r\n\x1a\n good")},
	}
	writeArchive(t, dir, entries, 300)
	code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake, "--max-proof-reject-ratio=1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	assertNoTempInTables(t, lake)
	assertInsideTree(t, root, "in", "lake")
	files := treeHashes(t, filepath.Join(lake, "didomi_proof_files"))
	delete(files, "_SUCCESS")
	// An upper-case ID is a proof (stored lower case); a directory entry is skipped.
	want := map[string]bool{"export_id=e1/date=2024-03-01/" + good1: true, "export_id=e1/date=2024-03-01/" + good2: true,
		"export_id=e1/date=2024-03-01/" + dup: true, "export_id=e1/date=2024-03-01/" + upper: true}
	if len(files) != len(want) {
		t.Errorf("proof files %v, want %v", files, want)
	}
	for f := range files {
		if !want[f] {
			t.Errorf("unexpected proof file %s", f)
		}
	}
	first := sha256.Sum256([]byte("GIF89a first"))
	if files["export_id=e1/date=2024-03-01/"+dup] != hex.EncodeToString(first[:]) {
		t.Errorf("the duplicate proof kept is not the first")
	}
	got := map[int64]string{}
	for _, row := range duckdb(t, "SELECT source_file, source_line, reason_code FROM "+scan(lake, "didomi_rejects")) {
		if row["source_file"] != "export-id=e1/date=2024-03-01/proofs.tar.gz" {
			t.Errorf("reject source_file %v", row["source_file"])
		}
		got[num(row["source_line"])] = fmt.Sprint(row["reason_code"])
	}
	// source_line is the entry's 0-based index in the archive.
	wantRejects := map[int64]string{1: "proof_unsafe_path", 2: "proof_unsafe_path", 3: "proof_symlink", 4: "proof_hardlink",
		5: "proof_device", 6: "proof_bad_name", 10: "proof_duplicate"}
	if fmt.Sprint(got) != fmt.Sprint(wantRejects) {
		t.Errorf("rejects %v, want %v", got, wantRejects)
	}
}

// A proof archive that cannot be read (truncated, corrupt gzip or tar) holds
// back only its partition's proof tables: the users are committed, the run
// exits 5 naming the archive and the part, and the ledger records the
// partition without the archive. A split archive whose parts do not add up
// (a part missing) still fails the run.
func TestProofBadArchiveHoldsBackItsProofTables(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var entries []proofEntry
	for i := 0; i < 20; i++ {
		body := make([]byte, 700+r.IntN(2000))
		for j := range body {
			body[j] = byte(r.Uint32())
		}
		entries = append(entries, proofEntry{tar.Header{Name: proofName(r, "pdf"), Typeflag: tar.TypeReg}, body})
	}
	cases := []struct {
		name string
		// fails: the run fails (exit 1) rather than holding back.
		fails bool
		// breakIt damages the parts; want is what the error must name.
		breakIt func(t *testing.T, parts []string) string
	}{
		{"gap in part numbers", true, func(t *testing.T, parts []string) string {
			os.Remove(parts[1])
			return "proofs.tar.gz.01 is missing (found export-id=e1/date=2024-03-01/proofs.tar.gz.02)"
		}},
		{"truncated last part", false, func(t *testing.T, parts []string) string {
			last := parts[len(parts)-1]
			data, _ := os.ReadFile(last)
			os.WriteFile(last, data[:len(data)/2], 0o644)
			return "part " + relPart(last)
		}},
		{"corrupt gzip", false, func(t *testing.T, parts []string) string {
			data, _ := os.ReadFile(parts[1])
			for i := 100; i < 400; i++ {
				data[i] ^= 0x5a
			}
			os.WriteFile(parts[1], data, 0o644)
			return "part export-id=e1/date=2024-03-01/proofs.tar.gz.0"
		}},
		{"corrupt tar", false, func(t *testing.T, parts []string) string {
			for _, p := range parts {
				os.Remove(p)
			}
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			gz.Write(bytes.Repeat([]byte("this is not a tar header, "), 300))
			gz.Close()
			writeParts(t, filepath.Dir(parts[0]), buf.Bytes(), 1024)
			return "part export-id=e1/date=2024-03-01/proofs.tar.gz.0"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, dir := proofPartition(t)
			root := filepath.Dir(in)
			lake := filepath.Join(root, "lake")
			parts := writeArchive(t, dir, entries, 8<<10)
			if len(parts) < 3 {
				t.Fatalf("want 3+ parts, got %d", len(parts))
			}
			args := []string{"didomi", "--input=" + in, "--output=" + lake, "--reprocess"}
			if code, out, errs := vendorlake(t, args...); code != 0 {
				t.Fatalf("good run: exit %d\n%s\n%s", code, out, errs)
			}
			before := tableHashes(t, lake)
			const part = "export_id=e1/date=2024-03-01"
			proofsBefore := proofTablesOf(t, lake, part)
			usersBefore := treeHashes(t, filepath.Join(lake, "didomi_users"))
			wantErr := c.breakIt(t, parts)
			code, out, errs := vendorlake(t, args...)
			if want := map[bool]int{true: exitFailed, false: exitHeldBack}[c.fails]; code != want {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, want, out, errs)
			}
			if !strings.Contains(errs, "export-id=e1/date=2024-03-01/proofs.tar.gz") || !strings.Contains(errs, wantErr) {
				t.Errorf("error does not name the archive and part (%q):\n%s", wantErr, errs)
			}
			after := tableHashes(t, lake)
			if c.fails {
				if fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("the failed run changed the lake")
				}
			} else {
				// The proof tables keep their contents; the users are new.
				if got := proofTablesOf(t, lake, part); fmt.Sprint(got) != fmt.Sprint(proofsBefore) {
					t.Errorf("the held-back proof tables changed:\nbefore %v\nafter  %v", proofsBefore, got)
				}
				if got := treeHashes(t, filepath.Join(lake, "didomi_users")); fmt.Sprint(got) == fmt.Sprint(usersBefore) {
					t.Errorf("the users of the partition were not committed")
				}
				rep := reportOf(t, out)
				if len(rep.HeldBack) != 1 || rep.HeldBack[0].Reason != transforms.HeldUnreadable || rep.HeldBack[0].Partition != part ||
					len(rep.HeldBack[0].Tables) != 3 || !strings.Contains(rep.HeldBack[0].Error, wantErr) {
					t.Errorf("held back %+v", rep.HeldBack)
				}
				for _, in := range ledgerOf(t, lake, "didomi")["export-id=e1/date=2024-03-01"].Inputs {
					if strings.Contains(in.Rel, "proofs.tar.gz") {
						t.Errorf("the ledger records the unreadable archive part %s", in.Rel)
					}
				}
			}
			if len(before) < len(entries) {
				t.Errorf("the good run committed %d files, want at least %d proofs", len(before), len(entries))
			}
			assertNoTempInTables(t, lake)
			assertInsideTree(t, root, "in", "lake")
		})
	}
}

func relPart(p string) string {
	i := strings.Index(p, "export-id=")
	return filepath.ToSlash(p[i:])
}
