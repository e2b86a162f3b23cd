package main

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestProofArchives: --proof-archives gives every complete partition a split
// archive (proofs/proofs.tar.gz.NN, each part at most --proof-part-size)
// holding exactly the proofs its events reference, and leaves the users
// files byte for byte as they are without it.
func TestProofArchives(t *testing.T) {
	args := []string{"--export-ids=a,b", "--dates=2024-03-01,2024-03-02", "--files-per-partition=2",
		"--users-per-file=60", "--incomplete=b/2024-03-02", "--workers=2"}
	plain := genTree(t, args...)
	dir := genTree(t, append(args, "--proof-archives", "--proof-part-size=4KiB")...)

	_, plainFiles := treeHash(t, plain)
	_, files := treeHash(t, dir)
	for rel, sum := range plainFiles {
		if rel == "EXPECTED.json" {
			continue
		}
		if files[rel] != sum {
			t.Errorf("%s differs with --proof-archives", rel)
		}
	}
	for rel := range plainFiles {
		if strings.Contains(rel, "proofs.tar.gz") {
			t.Errorf("%s written without --proof-archives", rel)
		}
	}

	var ex didomiExpected
	b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	archives := 0
	for _, p := range ex.Partitions {
		pdir := filepath.Join(dir, filepath.FromSlash(p.Path))
		parts, _ := filepath.Glob(filepath.Join(pdir, "proofs", "proofs.tar.gz.*"))
		if !p.Complete {
			if len(parts) > 0 || p.ProofArchive != nil {
				t.Errorf("%s: incomplete partition has an archive", p.Path)
			}
			continue
		}
		if p.ProofArchive == nil {
			t.Fatalf("%s: no proof_archive in EXPECTED.json", p.Path)
		}
		archives++
		if len(parts) < 2 || len(parts) != len(p.ProofArchive.Parts) {
			t.Fatalf("%s: %d parts on disk, %d in EXPECTED.json; want the same, at least 2", p.Path, len(parts), len(p.ProofArchive.Parts))
		}
		for i, part := range parts {
			st, err := os.Stat(part)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 4096 || (i < len(parts)-1 && st.Size() != 4096) {
				t.Errorf("%s: %d bytes, want 4096 (less for the last part)", part, st.Size())
			}
		}
		inTar := archiveEntries(t, parts)
		want := referencedProofs(t, pdir)
		slices.Sort(inTar)
		if len(want) == 0 || !slices.Equal(inTar, want) {
			t.Errorf("%s: archive holds %d proofs, events reference %d (want equal, non-empty)", p.Path, len(inTar), len(want))
		}
		if len(p.ProofArchive.Missing) != 0 || len(p.ProofArchive.Orphans) != 0 {
			t.Errorf("%s: planted missing/orphan proofs outside --sample", p.Path)
		}
	}
	if archives != 3 {
		t.Errorf("%d archives, want 3 (one per complete partition)", archives)
	}
}

// archiveEntries returns the entry names, in archive order, of the tar.gz
// split into parts.
func archiveEntries(t *testing.T, parts []string) []string {
	t.Helper()
	var readers []io.Reader
	for _, part := range parts {
		f, err := os.Open(part)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	zr, err := gzip.NewReader(io.MultiReader(readers...))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("%s: %v", parts[0], err)
		}
		names = append(names, h.Name)
	}
}

// TestSampleProofArchives: the sample's planted archive holds, besides a
// missing and an orphan proof, an entry to reject (a ".." path) at the
// index EXPECTED.json gives, in a partition that also holds line and event
// rejects; every archive has at least 100 entries per planted reject, so the
// sample stays within vendorlake's default --max-proof-reject-ratio (1 %).
func TestSampleProofArchives(t *testing.T) {
	dir := genTree(t, "--sample")
	ex := verifyTree(t, dir).ex
	var archives, planted int
	for _, p := range ex.Partitions {
		a := p.ProofArchive
		if a == nil {
			continue
		}
		archives++
		var parts []string
		for _, n := range a.Parts {
			parts = append(parts, filepath.Join(dir, filepath.FromSlash(p.Path), a.Dir, n))
		}
		names := archiveEntries(t, parts)
		if len(names) != a.Entries || a.Entries != len(a.Proofs)+len(a.Rejects) {
			t.Errorf("%s: %d entries in the archive, EXPECTED.json says %d (%d proofs + %d rejects)", p.Path, len(names), a.Entries, len(a.Proofs), len(a.Rejects))
			continue
		}
		kept := slices.Clone(names)
		for i := len(a.Rejects) - 1; i >= 0; i-- {
			r := a.Rejects[i]
			if names[r.Entry] != r.Name || !slices.Contains(strings.Split(r.Name, "/"), "..") || r.Code != codeProofUnsafePath {
				t.Errorf("%s: entry %d is %q, EXPECTED.json plants %+v", p.Path, r.Entry, names[r.Entry], r)
			}
			kept = slices.Delete(kept, r.Entry, r.Entry+1)
		}
		if !slices.Equal(kept, a.Proofs) {
			t.Errorf("%s: the archive's other entries are not EXPECTED.json's proofs", p.Path)
		}
		if len(a.Rejects)*100 > a.Entries {
			t.Errorf("%s: %d rejects in %d entries: over the default 1 %% proof reject bound", p.Path, len(a.Rejects), a.Entries)
		}
		if len(a.Rejects) > 0 {
			planted++
			if len(a.Missing) == 0 || len(a.Orphans) == 0 || len(p.Rejects) == 0 || p.RejectsByCode[codeEventNotObject] == 0 {
				t.Errorf("%s: a proof reject without a missing and an orphan proof, line rejects and an event reject beside it", p.Path)
			}
		}
	}
	if archives != 2 || planted != 1 {
		t.Errorf("%d archives, %d with a planted reject; want 2 and 1", archives, planted)
	}
}

// TestProofArchivesHoldKeptEventsProofs: of a line with a non-object event
// (event_not_object) a reader keeps the user and its other events, so the
// archive holds their proofs too; of other bad lines it holds none.
func TestProofArchivesHoldKeptEventsProofs(t *testing.T) {
	dir := genTree(t, "--export-ids=a", "--dates=2024-03-01", "--files-per-partition=2", "--users-per-file=1000",
		"--bad-line-rate=0.1", "--proof-archives", "--workers=2")
	ex := verifyTree(t, dir).ex
	p := ex.Partitions[0]
	bad := map[string]string{}
	for _, r := range p.Rejects {
		bad[fmt.Sprint(r.File, ":", r.Line)] = r.Code
	}
	kept := map[string]bool{}
	fromBadLines := 0
	for _, name := range p.Files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p.Path), "users", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			code, isBad := bad[fmt.Sprint(name, ":", n)]
			if isBad && code != codeEventNotObject {
				continue
			}
			var rec struct {
				Events []json.RawMessage `json:"events"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s:%d: %v", name, n, err)
			}
			for _, raw := range rec.Events {
				var e struct {
					ProofsID []string `json:"proofs_id"`
				}
				if json.Unmarshal(raw, &e) != nil {
					continue // the bad event
				}
				for _, id := range e.ProofsID {
					kept[id] = true
					if isBad {
						fromBadLines++
					}
				}
			}
		}
	}
	if fromBadLines == 0 {
		t.Fatal("no event_not_object line with proofs: change the flags so that the test sees one")
	}
	archived := map[string]bool{}
	for _, id := range p.ProofArchive.Proofs {
		archived[id] = true
	}
	if !maps.Equal(kept, archived) {
		t.Errorf("the archive holds %d proofs, the kept events reference %d (%d of them on event_not_object lines)", len(archived), len(kept), fromBadLines)
	}
}

// referencedProofs reads every users file of a partition and returns the
// sorted distinct proof IDs its events reference.
func referencedProofs(t *testing.T, pdir string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(pdir, "users", "*.json.gz"))
	seen := map[string]bool{}
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct {
				Events []struct {
					ProofsID []string `json:"proofs_id"`
				} `json:"events"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			for _, e := range rec.Events {
				for _, id := range e.ProofsID {
					seen[id] = true
				}
			}
		}
		f.Close()
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestProofShare: --proof-share=0.1 keeps about a tenth of the proofs
// (the archives follow), --proof-share=0 none, and the default all of them.
func TestProofShare(t *testing.T) {
	count := func(args ...string) (proofs, events int) {
		dir := genTree(t, append([]string{"--export-ids=a", "--dates=2024-03-01", "--files-per-partition=2", "--users-per-file=1000", "--proof-archives"}, args...)...)
		var ex didomiExpected
		b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &ex); err != nil {
			t.Fatal(err)
		}
		p := ex.Partitions[0]
		if got := len(referencedProofs(t, filepath.Join(dir, filepath.FromSlash(p.Path)))); got != p.Proofs || len(p.ProofArchive.Proofs) != got {
			t.Errorf("%v: %d proofs referenced, EXPECTED.json says %d, archive %d", args, got, p.Proofs, len(p.ProofArchive.Proofs))
		}
		return p.Proofs, p.Events
	}
	all, evAll := count()
	tenth, _ := count("--proof-share=0.1")
	none, _ := count("--proof-share=0")
	if all < evAll/4 || none != 0 || tenth < all/20 || tenth > all/5 {
		t.Errorf("proofs: %d of %d events by default, %d with --proof-share=0.1, %d with 0", all, evAll, tenth, none)
	}
	if _, err := parseDidomiFlags([]string{"--out=x", "--proof-share=1.5"}, io.Discard); err == nil {
		t.Error("--proof-share=1.5 accepted")
	}
}
