package main

// End-to-end tests of the Didomi proof archives: split proofs.tar.gz.NN
// parts become didomi_proof_files, didomi_proofs and didomi_proof_check.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
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
			before := treeHashes(t, lake)
			for k := range before {
				if strings.HasPrefix(k, lakestate.Folder+"/") {
					delete(before, k)
				}
			}
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
			after := treeHashes(t, lake)
			for k := range after {
				if strings.HasPrefix(k, lakestate.Folder+"/") {
					delete(after, k)
				}
			}
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
	tables := func() map[string]string {
		all := treeHashes(t, lake)
		for k := range all {
			if strings.HasPrefix(k, lakestate.Folder+"/") {
				delete(all, k)
			}
		}
		return all
	}
	before := tables()
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
	if after := tables(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused run changed the lake (proofs included)")
	}
	rep := runReport(t, out)
	// 3 of 4 lines rejected; the line kept has 1 event: (3 + 0) / (4 + 1).
	if rep.Status != "reject_ratio_exceeded" || rep.RejectRatio != 0.6 || rep.Attachments == nil || rep.Attachments.Rejected != 0 {
		t.Errorf("report %+v", rep)
	}
}
