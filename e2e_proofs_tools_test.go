package main

// End-to-end tests of Didomi proof archives made by real tools (tar,
// gzip, split) and of the proof reject bound.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// hexID returns a proof ID's 64 hex digits from a seed.
func hexID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(h[:])
}

// sh runs a shell script in dir with Debian's tools (tar, gzip, split, cat).
func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-euc", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
}

// toolArchive writes files (paths below a proofs/ folder, sub-folders
// allowed) and archives them in dir the way a vendor's tooling does: `tar`
// of the folder (directory entries, sub-folder names), `gzip`, then, per
// layout, `split` into NN parts ("split"), left whole ("unsplit"), or split
// and joined again in place with Didomi's own `cat proofs.tar.gz.* >
// proofs.tar.gz` ("joined").
func toolArchive(t *testing.T, dir string, files map[string][]byte, layout string) {
	t.Helper()
	src := t.TempDir()
	for name, body := range files {
		p := filepath.Join(src, "proofs", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(dir, 0o755)
	sh(t, dir, `tar -C '`+src+`' -cf - proofs | gzip -c > proofs.tar.gz`)
	switch layout {
	case "unsplit":
	case "split":
		sh(t, dir, `split -b 700 -d proofs.tar.gz proofs.tar.gz. && rm proofs.tar.gz`)
	case "joined":
		sh(t, dir, `split -b 700 -d proofs.tar.gz proofs.tar.gz. && rm proofs.tar.gz && cat proofs.tar.gz.* > proofs.tar.gz`)
	default:
		t.Fatalf("layout %q", layout)
	}
}

// writeUsers writes users/users.json.gz (with Debian's gzip) in partition
// folder dir: one user per entry of proofs, each with one event that
// references those proof IDs, as delivered; bad adds lines that are not JSON.
func writeUsers(t *testing.T, dir, user string, proofs [][]string, bad int) {
	t.Helper()
	var b strings.Builder
	for i, ids := range proofs {
		q, _ := json.Marshal(ids)
		fmt.Fprintf(&b, `{"user":{"id":"%s-%d","organization_id":"org","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z"},`+
			`"events":[{"id":"%s-ev%d","organization_id":"org","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z","status":"confirmed",`+
			`"user":{"id":"%s-%d"},"proofs_id":%s}]}`+"\n", user, i, user, i, user, i, q)
	}
	for i := 0; i < bad; i++ {
		b.WriteString("not json at all\n")
	}
	os.MkdirAll(filepath.Join(dir, "users"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "users", "users.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, filepath.Join(dir, "users"), `gzip -f users.json`)
}

// fullReport is the run report's subset the proof tests read.
type fullReport struct {
	Status  string `json:"status"`
	Skipped []struct {
		What   string `json:"what"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	Totals struct {
		Warnings []struct {
			Name string `json:"name"`
			N    int64  `json:"n"`
		} `json:"warnings"`
	} `json:"totals"`
	RejectRatio float64 `json:"reject_ratio"`
	Attachments *struct {
		Kind      string `json:"kind"`
		EntriesIn int64  `json:"entries_in"`
		Rejected  int64  `json:"rejected"`
		HeldBack  []struct {
			Partition string   `json:"partition"`
			Tables    []string `json:"tables"`
			EntriesIn int64    `json:"entries_in"`
			Rejected  int64    `json:"rejected"`
		} `json:"held_back"`
	} `json:"attachments"`
}

// runReport reads the run report named on the summary's "report" line
// (run IDs of runs in the same second do not sort by time).
func runReport(t *testing.T, out string) fullReport {
	t.Helper()
	var r fullReport
	readReport(t, out, &r)
	return r
}

func TestProofArchiveAsToolsMakeIt(t *testing.T) {
	h1, h2, h3, h5 := hexID("one"), hexID("two"), hexID("three"), hexID("five")
	files := map[string][]byte{
		h1 + ".pdf":                            []byte("%PDF-1.4 one"),
		strings.ToUpper(h2) + ".JPEG":          []byte("\xff\xd8\xff\xe0 two"),
		h3 + ".Pdf":                            []byte("%PDF-1.4 three"),
		hexID("four") + ".tiff":                []byte("II*\x00 undocumented extension"),
		"2024/" + strings.ToUpper(h5) + ".png": []byte("\x89PNG\r\n\x1a\n five"),
	}
	wantIDs := []string{h1 + ".pdf", h2 + ".jpeg", h3 + ".pdf", h5 + ".png"}
	sort.Strings(wantIDs)
	// The events name h1 in upper case and h2 in lower case: both match.
	delivered := []string{strings.ToUpper(h1) + ".PDF", h2 + ".jpeg"}
	for _, layout := range []string{"split", "unsplit", "joined"} {
		t.Run(layout, func(t *testing.T) {
			in, dir := proofPartition(t)
			lake := filepath.Join(filepath.Dir(in), "lake")
			toolArchive(t, dir, files, layout)
			writeUsers(t, dir, "u", [][]string{delivered}, 0)
			// 1 reject in 5 proof entries: within --max-proof-reject-ratio=0.5,
			// and not counted against --max-reject-ratio (1 user, none rejected).
			code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake, "--max-proof-reject-ratio=0.5")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			part := "export_id=e1/date=2024-03-01"
			var ids, parts []string
			for _, r := range duckdb(t, "SELECT proof_id, file_name, source_part FROM "+scan(lake, "didomi_proofs")+" ORDER BY proof_id") {
				ids = append(ids, fmt.Sprint(r["proof_id"]))
				parts = append(parts, fmt.Sprint(r["source_part"]))
				if !strings.HasPrefix(fmt.Sprint(r["file_name"]), "proofs/") {
					t.Errorf("file_name %v: want the entry's name in the archive", r["file_name"])
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
				t.Errorf("didomi_proofs ids %v, want %v", ids, wantIDs)
			}
			wantPart := regexp.MustCompile(`^export-id=e1/date=2024-03-01/proofs\.tar\.gz\.\d\d$`)
			if layout == "unsplit" {
				wantPart = regexp.MustCompile(`^export-id=e1/date=2024-03-01/proofs\.tar\.gz$`)
			}
			for _, p := range parts {
				if !wantPart.MatchString(p) {
					t.Errorf("source_part %s, want %v", p, wantPart)
				}
			}
			lakeFiles := treeHashes(t, filepath.Join(lake, "didomi_proof_files", part))
			for _, id := range wantIDs {
				if _, ok := lakeFiles[id]; !ok {
					t.Errorf("proof file %s not published (have %v)", id, lakeFiles)
				}
			}
			if len(lakeFiles) != len(wantIDs) {
				t.Errorf("proof files %v, want %v", lakeFiles, wantIDs)
			}
			var rejects []string
			for _, r := range duckdb(t, "SELECT reason_code, raw FROM "+scan(lake, "didomi_rejects")) {
				rejects = append(rejects, fmt.Sprint(r["reason_code"], " ", r["raw"]))
			}
			if want := "proof_bad_name proofs/" + hexID("four") + ".tiff"; fmt.Sprint(rejects) != "["+want+"]" {
				t.Errorf("rejects %v, want [%s]", rejects, want)
			}
			// proofs_id as delivered; the check matched both case-insensitively.
			ev := duckdb(t, "SELECT CAST(proofs_id AS VARCHAR) AS p FROM "+scan(lake, "didomi_events"))
			if len(ev) != 1 || !strings.Contains(fmt.Sprint(ev[0]["p"]), strings.ToUpper(h1)+".PDF") {
				t.Errorf("didomi_events.proofs_id %v: want the IDs as delivered", ev)
			}
			check := map[string]string{}
			for _, r := range duckdb(t, "SELECT problem, proof_id FROM "+scan(lake, "didomi_proof_check")) {
				check[fmt.Sprint(r["proof_id"])] = fmt.Sprint(r["problem"])
			}
			if want := map[string]string{h3 + ".pdf": ProofOrphan, h5 + ".png": ProofOrphan}; fmt.Sprint(check) != fmt.Sprint(want) {
				t.Errorf("proof check %v, want %v", check, want)
			}
			rep := runReport(t, out)
			warn := map[string]int64{}
			for _, w := range rep.Totals.Warnings {
				warn[w.Name] = w.N
			}
			if warn["proof_directory_skipped"] != 2 {
				t.Errorf("warnings %v: want 2 directory entries skipped (proofs/, proofs/2024/)", rep.Totals.Warnings)
			}
			if rep.RejectRatio != 0 || rep.Attachments == nil || rep.Attachments.EntriesIn != 5 || rep.Attachments.Rejected != 1 {
				t.Errorf("report: reject_ratio %v, attachments %+v", rep.RejectRatio, rep.Attachments)
			}
			joinedSkipped := false
			for _, s := range rep.Skipped {
				if s.What == "export-id=e1/date=2024-03-01/proofs.tar.gz" && strings.Contains(s.Reason, "parts are read") {
					joinedSkipped = true
				}
			}
			if joinedSkipped != (layout == "joined") || (layout == "joined" && !strings.Contains(out, "proofs.tar.gz: joined copy")) {
				t.Errorf("%s: the joined file's warning: in report %v, summary:\n%s", layout, joinedSkipped, out)
			}
		})
	}
}

// proofTablesOf returns the files (and their hashes) of the three proof
// tables in one partition.
func proofTablesOf(t *testing.T, lake, part string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, table := range []string{"didomi_proofs", "didomi_proof_files", "didomi_proof_check"} {
		for k, v := range treeHashes(t, filepath.Join(lake, table, part)) {
			all[table+"/"+k] = v
		}
	}
	return all
}

func TestProofArchiveOverBoundHeldBack(t *testing.T) {
	root := t.TempDir()
	in, lake := filepath.Join(root, "in"), filepath.Join(root, "lake")
	dirA := filepath.Join(in, "export-id=e1", "date=2024-03-01")
	dirB := filepath.Join(in, "export-id=e1", "date=2024-03-02")
	partA, partB := "export_id=e1/date=2024-03-01", "export_id=e1/date=2024-03-02"
	for _, d := range []string{dirA, dirB} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "_SUCCESS"), nil, 0o644)
	}
	a1, b1 := hexID("a1")+".pdf", hexID("b1")+".pdf"
	// a0 is an orphan: A's didomi_proof_check has a row to keep.
	a0 := hexID("a0") + ".pdf"
	toolArchive(t, dirA, map[string][]byte{a1: []byte("%PDF a1"), a0: []byte("%PDF a0")}, "split")
	toolArchive(t, dirB, map[string][]byte{b1: []byte("%PDF b1")}, "split")
	writeUsers(t, dirA, "first", [][]string{{a1}}, 0)
	writeUsers(t, dirB, "first", [][]string{{b1}}, 0)
	if code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	beforeA := proofTablesOf(t, lake, partA)
	if len(beforeA) != 4 {
		t.Fatalf("first run committed %v", beforeA)
	}

	// The vendor redelivers both partitions. A's archive now holds one good
	// proof and three entries of an undocumented type (75% rejected); B's is fine.
	a2, b2 := hexID("a2")+".pdf", hexID("b2")+".pdf"
	for _, d := range []string{dirA, dirB} {
		parts, _ := filepath.Glob(filepath.Join(d, "proofs.tar.gz*"))
		for _, p := range parts {
			os.Remove(p)
		}
	}
	toolArchive(t, dirA, map[string][]byte{a2: []byte("%PDF a2"), hexID("x1") + ".exe": []byte("MZ"),
		hexID("x2") + ".exe": []byte("MZ"), hexID("x3") + ".exe": []byte("MZ")}, "split")
	toolArchive(t, dirB, map[string][]byte{b2: []byte("%PDF b2")}, "split")
	writeUsers(t, dirA, "second", [][]string{{a2}}, 0)
	writeUsers(t, dirB, "second", [][]string{{b2}}, 0)
	code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake)
	if code != 5 {
		t.Fatalf("second run: exit %d, want 5\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "held back proofs of "+partA) || !strings.Contains(errs, partA) || strings.Contains(errs, partB) {
		t.Errorf("summary and error must name %s only:\n%s\n%s", partA, out, errs)
	}
	assertNoTempInTables(t, lake)
	// Users and events of both partitions are the new ones.
	users := map[string]bool{}
	for _, r := range duckdb(t, "SELECT id, CAST(date AS VARCHAR) AS d FROM "+scan(lake, "didomi_users")) {
		users[fmt.Sprint(r["d"], " ", r["id"])] = true
	}
	if want := map[string]bool{"2024-03-01 second-0": true, "2024-03-02 second-0": true}; fmt.Sprint(users) != fmt.Sprint(want) {
		t.Errorf("didomi_users %v, want %v", users, want)
	}
	if n := len(duckdb(t, "SELECT id FROM "+scan(lake, "didomi_events")+" WHERE id LIKE 'second-%'")); n != 2 {
		t.Errorf("%d new events committed, want 2", n)
	}
	// A's proof tables keep their previous contents; B's are replaced.
	if after := proofTablesOf(t, lake, partA); fmt.Sprint(after) != fmt.Sprint(beforeA) {
		t.Errorf("the held-back proof tables of %s changed:\nbefore %v\nafter  %v", partA, beforeA, after)
	}
	ids := map[string]bool{}
	for _, r := range duckdb(t, "SELECT proof_id FROM "+scan(lake, "didomi_proofs")) {
		ids[fmt.Sprint(r["proof_id"])] = true
	}
	if want := map[string]bool{a0: true, a1: true, b2: true}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("didomi_proofs %v, want A's old %s and B's new %s", ids, a1, b2)
	}
	// The rejected entries are in didomi_rejects, committed with the records.
	if n := len(duckdb(t, "SELECT reason_code FROM "+scan(lake, "didomi_rejects")+" WHERE reason_code = 'proof_bad_name'")); n != 3 {
		t.Errorf("%d proof_bad_name rejects, want 3", n)
	}
	rep := runReport(t, out)
	if rep.Status != "committed" || rep.RejectRatio != 0 || rep.Attachments == nil || len(rep.Attachments.HeldBack) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if h := rep.Attachments.HeldBack[0]; h.Partition != partA || h.EntriesIn != 4 || h.Rejected != 3 ||
		fmt.Sprint(h.Tables) != "[didomi_proof_check didomi_proof_files didomi_proofs]" {
		t.Errorf("held back %+v", h)
	}

	// The held-back partition is not recorded as done: the next run reads
	// it again (B is unchanged and skipped), and a raised bound commits it.
	code, out, errs = vendorlake(t, "didomi", "--input="+in, "--output="+lake)
	if code != 5 || !strings.Contains(out, "export-id=e1/date=2024-03-02: unchanged") {
		t.Fatalf("third run: exit %d, want 5 with B unchanged\n%s\n%s", code, out, errs)
	}
	if code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake, "--max-proof-reject-ratio=0.8"); code != 0 {
		t.Fatalf("raised bound: exit %d\n%s\n%s", code, out, errs)
	}
	ids = map[string]bool{}
	for _, r := range duckdb(t, "SELECT proof_id FROM "+scan(lake, "didomi_proofs")) {
		ids[fmt.Sprint(r["proof_id"])] = true
	}
	if want := map[string]bool{a2: true, b2: true}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("after raising the bound: didomi_proofs %v, want %v", ids, want)
	}
	if code, out, _ := vendorlake(t, "didomi", "--input="+in, "--output="+lake); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("fourth run: exit %d, want 0 and nothing to do:\n%s", code, out)
	}
}

// The reverse: records rejected beyond --max-reject-ratio refuse the whole
// run (exit 3, as before proofs had their own bound): nothing is committed,
// the partition's proofs included, however good its archive.
func TestProofRecordsOverBoundCommitNothing(t *testing.T) {
	in, dir := proofPartition(t)
	lake := filepath.Join(filepath.Dir(in), "lake")
	p1 := hexID("p1") + ".pdf"
	toolArchive(t, dir, map[string][]byte{p1: []byte("%PDF p1")}, "split")
	writeUsers(t, dir, "first", [][]string{{p1}}, 0)
	if code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	before := tableHashes(t, lake)
	p2 := hexID("p2") + ".pdf"
	parts, _ := filepath.Glob(filepath.Join(dir, "proofs.tar.gz*"))
	for _, p := range parts {
		os.Remove(p)
	}
	toolArchive(t, dir, map[string][]byte{p2: []byte("%PDF p2")}, "split")
	writeUsers(t, dir, "second", [][]string{{p2}}, 3) // 3 of 4 lines rejected
	code, out, errs := vendorlake(t, "didomi", "--input="+in, "--output="+lake)
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errs)
	}
	if after := tableHashes(t, lake); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused run changed the lake (proofs included)")
	}
	rep := runReport(t, out)
	// 3 of 4 lines rejected; the line kept has 1 event: (3 + 0) / (4 + 1).
	if rep.Status != "reject_ratio_exceeded" || rep.RejectRatio != 0.6 || rep.Attachments == nil || rep.Attachments.Rejected != 0 {
		t.Errorf("report %+v", rep)
	}
}
