package main

// End-to-end tests of the Didomi proof archives: split proofs.tar.gz.NN
// parts become didomi_proof_files, didomi_proofs and didomi_proof_check.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
)

// proofExpected is the generator's truth about the sample's proof archives.
type proofExpected struct {
	Partitions []struct {
		ExportID     string `json:"export_id"`
		Date         string `json:"date"`
		Path         string `json:"path"`
		ProofArchive *struct {
			Dir     string   `json:"dir"`
			Parts   []string `json:"parts"`
			Entries int64    `json:"entries"`
			Proofs  []string `json:"proofs"`
			Orphans []string `json:"orphans"`
			Missing []struct {
				ProofID string `json:"proof_id"`
				EventID string `json:"event_id"`
				UserID  string `json:"user_id"`
			} `json:"missing"`
			Rejects []struct {
				Entry int64  `json:"entry"`
				Name  string `json:"name"`
				Code  string `json:"code"`
			} `json:"rejects"`
		} `json:"proof_archive"`
	} `json:"partitions"`
}

func loadProofExpected(t *testing.T) proofExpected {
	t.Helper()
	data, err := os.ReadFile("testdata/didomi/EXPECTED.json")
	if err != nil {
		t.Fatal(err)
	}
	var e proofExpected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// untar extracts the joined parts with the system's tar (GNU tar on Debian).
// GNU tar skips a member whose name contains ".." and then exits 2: refused
// names the members it must skip (and nothing else may fail).
func untar(t *testing.T, parts, refused []string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `cat "$@" | tar -xzf - -C `+dir, "untar")
	cmd.Args = append(cmd.Args, parts...)
	out, err := cmd.CombinedOutput()
	if len(refused) == 0 {
		if err != nil {
			t.Fatalf("tar -xzf: %v: %s", err, out)
		}
		return dir
	}
	if err == nil {
		t.Fatalf("tar -xzf extracted %v without an error", refused)
	}
	want := map[string]bool{}
	for _, name := range refused {
		want["tar: "+name+": Member name contains '..'"] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !want[line] && !strings.HasPrefix(line, "tar: Removing leading") && line != "tar: Exiting with failure status due to previous errors" {
			t.Fatalf("tar -xzf: %v: %s", err, out)
		}
		delete(want, line)
	}
	if len(want) > 0 {
		t.Fatalf("tar -xzf did not refuse %v: %s", want, out)
	}
	return dir
}

func TestProofSampleMatchesGeneratorAndTar(t *testing.T) {
	lake := t.TempDir()
	code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	assertNoTempInTables(t, lake)
	exp := loadProofExpected(t)
	wantMissing, wantOrphans := map[string]string{}, map[string]string{}
	var wantRejects []string
	archives := 0
	var entries int64
	for _, p := range exp.Partitions {
		a := p.ProofArchive
		if a == nil {
			continue
		}
		archives++
		entries += a.Entries
		part := "export_id=" + p.ExportID + "/date=" + p.Date
		for _, m := range a.Missing {
			wantMissing[part+"/"+m.ProofID] = m.EventID + "/" + m.UserID
		}
		for _, o := range a.Orphans {
			wantOrphans[part+"/"+o] = "<nil>/<nil>"
		}
		source := strings.TrimSuffix(filepath.ToSlash(filepath.Join(p.Path, a.Dir, "proofs.tar.gz")), "/")
		var refused []string
		for _, r := range a.Rejects {
			wantRejects = append(wantRejects, fmt.Sprintf("%s %s %s:%d event=<nil> %s", part, r.Code, source, r.Entry, r.Name))
			refused = append(refused, r.Name)
		}
		// Debian's tar on the joined parts and the lake hold the same
		// files; tar too refuses the entries the lake rejects.
		var parts []string
		for _, n := range a.Parts {
			parts = append(parts, filepath.Join("testdata/didomi", p.Path, a.Dir, n))
		}
		if len(parts) < 2 {
			t.Errorf("%s: the sample archive should be split, has %d parts", p.Path, len(parts))
		}
		fromTar := treeHashes(t, untar(t, parts, refused))
		fromLake := treeHashes(t, filepath.Join(lake, "didomi_proof_files", part))
		if fmt.Sprint(fromTar) != fmt.Sprint(fromLake) || len(fromTar) != len(a.Proofs) {
			t.Errorf("%s: tar -xzf gives %d files, the lake %d (want %d):\n%v\n%v", p.Path, len(fromTar), len(fromLake), len(a.Proofs), fromTar, fromLake)
		}
		// The index agrees with the files.
		rows := duckdb(t, fmt.Sprintf("SELECT proof_id, size_bytes, sha256, object_path, content_type, source_file, source_part, source_offset, CAST(tar_modified_at AS VARCHAR) AS m FROM %s WHERE export_id = '%s' AND CAST(date AS VARCHAR) = '%s'",
			scan(lake, "didomi_proofs"), p.ExportID, p.Date))
		if len(rows) != len(a.Proofs) {
			t.Errorf("%s: %d didomi_proofs rows, want %d", p.Path, len(rows), len(a.Proofs))
		}
		for _, r := range rows {
			id := fmt.Sprint(r["proof_id"])
			if fromLake[id] != r["sha256"] {
				t.Errorf("%s: sha256 %v, file has %s", id, r["sha256"], fromLake[id])
			}
			if r["object_path"] != "didomi_proof_files/"+part+"/"+id {
				t.Errorf("%s: object_path %v", id, r["object_path"])
			}
			if fi, err := os.Stat(filepath.Join(lake, fmt.Sprint(r["object_path"]))); err != nil || fi.Size() != num(r["size_bytes"]) {
				t.Errorf("%s: object %v: %v", id, r["object_path"], err)
			}
			if src := fmt.Sprint(r["source_file"]); src != strings.TrimSuffix(filepath.ToSlash(filepath.Join(p.Path, a.Dir, "proofs.tar.gz")), "/") {
				t.Errorf("%s: source_file %s", id, src)
			}
			if sp := fmt.Sprint(r["source_part"]); !strings.HasPrefix(sp, p.Path) || !regexp.MustCompile(`proofs\.tar\.gz\.\d\d$`).MatchString(sp) {
				t.Errorf("%s: source_part %s", id, sp)
			}
			if num(r["source_offset"])%512 != 0 {
				t.Errorf("%s: source_offset %v is not on a tar block", id, r["source_offset"])
			}
			if r["content_type"] == "" || !strings.HasPrefix(fmt.Sprint(r["m"]), p.Date) {
				t.Errorf("%s: content_type %v, tar_modified_at %v", id, r["content_type"], r["m"])
			}
		}
	}
	if archives != 2 || len(wantMissing) != 1 || len(wantOrphans) != 1 || len(wantRejects) != 1 {
		t.Fatalf("the sample should plant 2 archives, 1 missing and 1 orphan proof, 1 rejected entry: %d, %v, %v, %v", archives, wantMissing, wantOrphans, wantRejects)
	}
	// The rejected entries are in didomi_rejects, beside the line and
	// event rejects of their partition, committed with default flags
	// (within --max-proof-reject-ratio).
	var gotRejects []string
	for _, r := range duckdb(t, "SELECT export_id, CAST(date AS VARCHAR) AS d, reason_code, source_file, source_line, event_index, CAST(raw AS VARCHAR) AS raw FROM "+
		scan(lake, "didomi_rejects")+" WHERE reason_code LIKE 'proof_%' ORDER BY ALL") {
		gotRejects = append(gotRejects, fmt.Sprintf("export_id=%v/date=%v %v %v:%d event=%v %v", r["export_id"], r["d"], r["reason_code"], r["source_file"], num(r["source_line"]), r["event_index"], r["raw"]))
	}
	if strings.Join(gotRejects, "\n") != strings.Join(wantRejects, "\n") {
		t.Errorf("proof rejects in didomi_rejects:\n%s\nwant:\n%s", strings.Join(gotRejects, "\n"), strings.Join(wantRejects, "\n"))
	}
	// One partition holds every kind of reject and proof problem together.
	kinds := map[string]map[string]bool{}
	for _, r := range duckdb(t, "SELECT 'export_id=' || export_id || '/date=' || CAST(date AS VARCHAR) AS p, "+
		"CASE WHEN reason_code LIKE 'proof_%' THEN 'proof' WHEN event_index IS NOT NULL THEN 'event' ELSE 'line' END AS kind FROM "+scan(lake, "didomi_rejects")+
		" UNION ALL SELECT 'export_id=' || export_id || '/date=' || CAST(date AS VARCHAR), problem FROM "+scan(lake, "didomi_proof_check")) {
		if kinds[fmt.Sprint(r["p"])] == nil {
			kinds[fmt.Sprint(r["p"])] = map[string]bool{}
		}
		kinds[fmt.Sprint(r["p"])][fmt.Sprint(r["kind"])] = true
	}
	together := false
	for _, k := range kinds {
		together = together || len(k) == 5 && k["line"] && k["event"] && k["proof"] && k[ProofMissing] && k[ProofOrphan]
	}
	if !together {
		t.Errorf("no partition holds line, event and proof rejects and a missing and an orphan proof together: %v", kinds)
	}
	full := runReport(t, out)
	if full.Status != "committed" || full.Attachments == nil || full.Attachments.EntriesIn != entries ||
		full.Attachments.Rejected != int64(len(wantRejects)) || len(full.Attachments.HeldBack) != 0 {
		t.Errorf("report: status %q, attachments %+v; want committed, %d entries, %d rejected, none held back", full.Status, full.Attachments, entries, len(wantRejects))
	}
	got := map[string]map[string]string{ProofMissing: {}, ProofOrphan: {}}
	for _, r := range duckdb(t, "SELECT problem, export_id, CAST(date AS VARCHAR) AS d, proof_id, event_id, user_id FROM "+scan(lake, "didomi_proof_check")) {
		got[fmt.Sprint(r["problem"])][fmt.Sprint("export_id=", r["export_id"], "/date=", r["d"], "/", r["proof_id"])] = fmt.Sprint(r["event_id"], "/", r["user_id"])
	}
	if fmt.Sprint(got[ProofMissing]) != fmt.Sprint(wantMissing) || fmt.Sprint(got[ProofOrphan]) != fmt.Sprint(wantOrphans) {
		t.Errorf("proof check: got %v, want missing %v and orphans %v", got, wantMissing, wantOrphans)
	}
	// The run report counts both.
	rep := proofRunReport(t, lake)
	warn := map[string]int64{}
	for _, w := range rep.Totals.Warnings {
		warn[w.Name] = w.N
	}
	if warn[ProofMissing] != 1 || warn[ProofOrphan] != 1 {
		t.Errorf("report warnings %v, want 1 missing_proof and 1 orphan_proof", rep.Totals.Warnings)
	}
	if !strings.Contains(out, "didomi_proof_files") {
		t.Errorf("summary does not list the proof files:\n%s", out)
	}
}

// Proof check problems as written in didomi_proof_check.
const (
	ProofMissing = "missing_proof"
	ProofOrphan  = "orphan_proof"
)

type reportSubset struct {
	Status string `json:"status"`
	Totals struct {
		Warnings []struct {
			Name string `json:"name"`
			N    int64  `json:"n"`
		} `json:"warnings"`
	} `json:"totals"`
}

func proofRunReport(t *testing.T, lake string) reportSubset {
	t.Helper()
	reports, _ := filepath.Glob(filepath.Join(lakestate.RunsDir(lake), "*.json"))
	sort.Strings(reports)
	if len(reports) == 0 {
		t.Fatal("no run report")
	}
	var r reportSubset
	data, _ := os.ReadFile(reports[len(reports)-1])
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProofsFlagOff(t *testing.T) {
	lake := t.TempDir()
	code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+lake, "--max-reject-ratio=0.1", "--proofs=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, table := range []string{"didomi_proof_files", "didomi_proofs", "didomi_proof_check"} {
		if _, err := os.Stat(filepath.Join(lake, table)); err == nil {
			t.Errorf("--proofs=false wrote %s", table)
		}
	}
}

// TestProofPrismEqualsDirect runs the proof step on prism (the portable
// path: every DoFn, coder and join serialised) and compares with direct.
func TestProofPrismEqualsDirect(t *testing.T) {
	direct, prism := t.TempDir(), t.TempDir()
	for _, run := range []struct{ lake, runner string }{{direct, "direct"}, {prism, "prism"}} {
		code, out, errs := vendorlake(t, "didomi", "--input=testdata/didomi", "--output="+run.lake, "--runner="+run.runner, "--max-reject-ratio=0.1")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", run.runner, code, out, errs)
		}
	}
	sameTables(t, direct, prism, "didomi_proofs", "didomi_proof_check")
	a, b := treeHashes(t, filepath.Join(direct, "didomi_proof_files")), treeHashes(t, filepath.Join(prism, "didomi_proof_files"))
	delete(a, "_SUCCESS")
	delete(b, "_SUCCESS")
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("proof files differ between direct (%d) and prism (%d)", len(a), len(b))
	}
}
