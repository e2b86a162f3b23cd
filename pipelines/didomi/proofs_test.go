package didomi

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakefs/lakefstest"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/io/splittar"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

var (
	idA = strings.Repeat("a", 64) + ".pdf"
	idB = strings.Repeat("b", 64) + ".png"
)

func TestCheckEntry(t *testing.T) {
	upper := strings.ToUpper(idA[:64])
	cases := []struct {
		name     string
		h        tar.Header
		wantID   string
		wantCode string
		wantSkip bool
	}{
		{"proof", tar.Header{Name: idA, Typeflag: tar.TypeReg}, idA, "", false},
		{"dot slash", tar.Header{Name: "./" + idB, Typeflag: tar.TypeReg}, idB, "", false},
		{"absolute", tar.Header{Name: "/" + idA, Typeflag: tar.TypeReg}, "", ReasonProofUnsafe, false},
		{"dotdot", tar.Header{Name: "../" + idA, Typeflag: tar.TypeReg}, "", ReasonProofUnsafe, false},
		{"inner dotdot", tar.Header{Name: "x/../../" + idA, Typeflag: tar.TypeReg}, "", ReasonProofUnsafe, false},
		{"subfolder dotdot", tar.Header{Name: "proofs/../" + idA, Typeflag: tar.TypeReg}, "", ReasonProofUnsafe, false},
		{"backslash", tar.Header{Name: `..\` + idA, Typeflag: tar.TypeReg}, "", ReasonProofUnsafe, false},
		{"symlink", tar.Header{Name: idA, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, "", ReasonProofSymlink, false},
		{"symlink in subfolder", tar.Header{Name: "proofs/" + idA, Typeflag: tar.TypeSymlink, Linkname: "../x"}, "", ReasonProofSymlink, false},
		{"hard link", tar.Header{Name: idA, Typeflag: tar.TypeLink, Linkname: idB}, "", ReasonProofHardlink, false},
		{"char device", tar.Header{Name: idA, Typeflag: tar.TypeChar}, "", ReasonProofDevice, false},
		{"block device", tar.Header{Name: idA, Typeflag: tar.TypeBlock}, "", ReasonProofDevice, false},
		{"fifo", tar.Header{Name: idA, Typeflag: tar.TypeFifo}, "", ReasonProofDevice, false},
		{"directory", tar.Header{Name: "proofs/", Typeflag: tar.TypeDir}, "", "", true},
		{"dot directory", tar.Header{Name: "./", Typeflag: tar.TypeDir}, "", "", true},
		{"absolute directory", tar.Header{Name: "/etc/", Typeflag: tar.TypeDir}, "", ReasonProofUnsafe, false},
		{"subfolder", tar.Header{Name: "proofs/" + idA, Typeflag: tar.TypeReg}, idA, "", false},
		{"dot subfolder", tar.Header{Name: "./proofs/2024/" + idB, Typeflag: tar.TypeReg}, idB, "", false},
		{"upper hex", tar.Header{Name: upper + ".pdf", Typeflag: tar.TypeReg}, idA, "", false},
		{"upper ext", tar.Header{Name: idA[:64] + ".PDF", Typeflag: tar.TypeReg}, idA, "", false},
		{"mixed ext", tar.Header{Name: idA[:64] + ".Pdf", Typeflag: tar.TypeReg}, idA, "", false},
		{"jpeg", tar.Header{Name: upper + ".JPEG", Typeflag: tar.TypeReg}, idA[:64] + ".jpeg", "", false},
		{"every documented ext", tar.Header{Name: idA[:64] + ".Msg", Typeflag: tar.TypeReg}, idA[:64] + ".msg", "", false},
		{"short hex", tar.Header{Name: idA[1:], Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
		{"not hex", tar.Header{Name: "g" + idA[1:], Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
		{"other ext", tar.Header{Name: idA[:64] + ".exe", Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
		{"undocumented ext", tar.Header{Name: idA[:64] + ".TIFF", Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
		{"double ext", tar.Header{Name: idA + ".exe", Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
		{"folder named like a proof", tar.Header{Name: idA + "/readme", Typeflag: tar.TypeReg}, "", ReasonProofBadName, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, code, reason, skip := checkEntry(&c.h)
			if id != c.wantID || code != c.wantCode || skip != c.wantSkip || (code != "" && reason == "") {
				t.Errorf("checkEntry = %q, %q, %q, %v; want %q, %q, %v", id, code, reason, skip, c.wantID, c.wantCode, c.wantSkip)
			}
		})
	}
}

func TestProofGroups(t *testing.T) {
	d := "export-id=e/date=2024-03-01"
	part := func(rel string, size int64) splittar.Part {
		return splittar.Part{Path: "/in/" + rel, Rel: rel, Size: size}
	}
	p0, p1 := part(d+"/proofs.tar.gz.00", 10), part(d+"/proofs.tar.gz.01", 5)
	joined := part(d+"/proofs.tar.gz", 15)
	cases := []struct {
		name        string
		parts       []splittar.Part
		joined      []splittar.Part
		wantPrefix  []string
		wantSkipped int
		wantErr     string
	}{
		{"split", []splittar.Part{p1, p0}, nil, []string{d + "/proofs.tar.gz"}, 0, ""},
		{"unsplit", nil, []splittar.Part{joined}, []string{d + "/proofs.tar.gz"}, 0, ""},
		{"joined beside parts", []splittar.Part{p0, p1}, []splittar.Part{joined}, []string{d + "/proofs.tar.gz"}, 1, ""},
		{"two unsplit", nil, []splittar.Part{joined, part(d+"/proofs/proofs.tar.gz", 15)}, []string{d + "/proofs.tar.gz", d + "/proofs/proofs.tar.gz"}, 0, ""},
		{"gap", []splittar.Part{p1}, []splittar.Part{joined}, nil, 0, "proofs.tar.gz.00 is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			groups, skipped, err := proofGroups(d, c.parts, c.joined)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var prefixes []string
			for _, g := range groups {
				prefixes = append(prefixes, g.Prefix)
			}
			if fmt.Sprint(prefixes) != fmt.Sprint(c.wantPrefix) || len(skipped) != c.wantSkipped {
				t.Errorf("groups %v, skipped %v; want %v, %d skipped", prefixes, skipped, c.wantPrefix, c.wantSkipped)
			}
			if c.name == "joined beside parts" && (skipped[0].What != joined.Rel || len(groups[0].Parts) != 2) {
				t.Errorf("the parts must be read and the joined file skipped: %v %v", groups, skipped)
			}
		})
	}
}

func tarGz(_ testing.TB, entries map[string][]byte, order []string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range order {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(entries[n])), Typeflag: tar.TypeReg})
		tw.Write(entries[n])
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestReadProofs(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	in, out := filepath.Join(root, "in"), filepath.Join(root, "out")
	body := map[string][]byte{idA: []byte("%PDF-1.4 proof a"), idB: []byte("\x89PNG\r\n\x1a\n proof b"), "bad": []byte("x")}
	data := tarGz(t, body, []string{idA, "bad", idB})
	f := transforms.InputFile{Path: filepath.Join(in, "p/proofs.tar.gz"), Rel: "p/proofs.tar.gz", Partition: "export_id=e/date=2024-03-01", Unit: "p"}
	os.MkdirAll(filepath.Join(in, "p"), 0o755)
	for i := 0; len(data) > 0; i++ {
		k := min(100, len(data))
		rel := fmt.Sprintf("p/proofs.tar.gz.%02d", i)
		os.WriteFile(filepath.Join(in, rel), data[:k], 0o644)
		f.Parts = append(f.Parts, transforms.FilePart{Path: filepath.Join(in, rel), Rel: rel, Size: int64(k)})
		f.Size += int64(k)
		data = data[k:]
	}
	var found []string
	rows := map[string]int64{}
	var types []string
	st, err := ReadProofs(ctx, lakefs.Local{}, lakefs.Local{}, out, "r1", f, 0, func(b hiveparquet.Batch) {
		rows[b.Table] += b.Record.NumRows()
		if b.Table == ProofsTable {
			ct := b.Record.Column(4).(*array.String)
			for i := 0; i < ct.Len(); i++ {
				types = append(types, ct.Value(i))
			}
		}
		b.Record.Release()
	}, func(id string) { found = append(found, id) })
	if err != nil {
		t.Fatal(err)
	}
	if st.RecordsIn != 3 || st.RecordsOut != 2 || st.Rejected != 1 || len(st.Files) != 2 {
		t.Errorf("stats %+v", st)
	}
	if fmt.Sprint(found) != fmt.Sprint([]string{idA, idB}) || rows[ProofsTable] != 2 || rows[RejectsTable] != 1 {
		t.Errorf("found %v, rows %v", found, rows)
	}
	if fmt.Sprint(types) != "[application/pdf image/png]" {
		t.Errorf("content types %v", types)
	}
	for _, fd := range st.Files {
		got, err := os.ReadFile(fd.TempPath)
		if err != nil || !bytes.Equal(got, body[fd.Name]) {
			t.Errorf("%s: %q %v", fd.Name, got, err)
		}
		if !strings.HasPrefix(fd.TempPath, lakestate.TempDir(out, Name, "r1")) {
			t.Errorf("%s written outside the run's temporary area: %s", fd.Name, fd.TempPath)
		}
	}
}

func TestDiscoverProofs(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"export-id=a/date=2024-03-01/_SUCCESS",
		"export-id=a/date=2024-03-01/users/x.json.gz",
		"export-id=a/date=2024-03-01/proofs.tar.gz.01",
		"export-id=a/date=2024-03-01/proofs.tar.gz.00",
		"export-id=a/date=2024-03-02/_SUCCESS",
		"export-id=a/date=2024-03-02/proofs/proofs.tar.gz.00",
		"export-id=a/date=2024-03-03/_SUCCESS",
		"export-id=a/date=2024-03-03/users/y.json.gz",
	} {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	ctx := context.Background()
	plan, err := Discover(ctx, lakefs.Local{}, root, Selection{Proofs: true}, map[string]ledger.Entry{})
	if err != nil {
		t.Fatal(err)
	}
	var archives []string
	for _, f := range plan.Files {
		if len(f.Parts) > 0 {
			var parts []string
			for _, p := range f.Parts {
				parts = append(parts, p.Rel)
			}
			archives = append(archives, f.Rel+"="+strings.Join(parts, ","))
		}
	}
	want := "[export-id=a/date=2024-03-01/proofs.tar.gz=export-id=a/date=2024-03-01/proofs.tar.gz.00,export-id=a/date=2024-03-01/proofs.tar.gz.01 " +
		"export-id=a/date=2024-03-02/proofs/proofs.tar.gz=export-id=a/date=2024-03-02/proofs/proofs.tar.gz.00]"
	if fmt.Sprint(archives) != want {
		t.Errorf("archives %v\nwant %s", archives, want)
	}
	claims := 0
	for _, c := range plan.Claims {
		if c.Table == ProofFilesTable {
			claims++
		}
	}
	if claims != 3 {
		t.Errorf("%d proof file claims, want one per partition (3)", claims)
	}
	if len(plan.Units[0].Inputs) != 3 {
		t.Errorf("ledger inputs of the first partition %v: want the users file and both parts", plan.Units[0].Inputs)
	}
	// Without --proofs the archives are not read.
	plan, _ = Discover(ctx, lakefs.Local{}, root, Selection{}, map[string]ledger.Entry{})
	for _, f := range plan.Files {
		if len(f.Parts) > 0 {
			t.Errorf("archive planned without proofs: %s", f.Rel)
		}
	}
	// A gap fails, naming the archive and the missing part.
	os.Remove(filepath.Join(root, "export-id=a/date=2024-03-01/proofs.tar.gz.00"))
	_, err = Discover(ctx, lakefs.Local{}, root, Selection{Proofs: true}, map[string]ledger.Entry{})
	if err == nil || !strings.Contains(err.Error(), "export-id=a/date=2024-03-01/proofs.tar.gz.00 is missing") {
		t.Errorf("gap: %v", err)
	}
}

// emitProofRefs reads the events' columns by position.
func TestEventColumnsOfProofRefs(t *testing.T) {
	s := EventsSchema()
	if s.Field(0).Name != "id" || s.Field(1).Name != "user_id" || s.Field(10).Name != "proofs_id" {
		t.Fatalf("didomi_events columns moved: update emitProofRefs (%v)", s)
	}
}

// IDs differing only in case are one proof; directory entries are skipped
// and counted, not rejected.
func TestReadProofsCaseAndDirectories(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	entries := []struct {
		name string
		typ  byte
		body string
	}{
		{"proofs/", tar.TypeDir, ""},
		{"proofs/" + strings.ToUpper(idA[:64]) + ".PDF", tar.TypeReg, "%PDF first"},
		{"proofs/sub/", tar.TypeDir, ""},
		{"proofs/sub/" + idA, tar.TypeReg, "%PDF second"},
		{"proofs/sub/" + idB[:64] + ".TIFF", tar.TypeReg, "II*"},
	}
	for _, e := range entries {
		tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))})
		tw.Write([]byte(e.body))
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(root, "proofs.tar.gz")
	os.WriteFile(p, buf.Bytes(), 0o644)
	f := transforms.InputFile{Path: p, Rel: "proofs.tar.gz", Partition: "export_id=e/date=2024-03-01", Unit: "u",
		Parts: []transforms.FilePart{{Path: p, Rel: "proofs.tar.gz", Size: int64(buf.Len())}}}
	var found []string
	reasons := map[string]int64{}
	st, err := ReadProofs(ctx, lakefs.Local{}, lakefs.Local{}, filepath.Join(root, "out"), "r1", f, 0, func(b hiveparquet.Batch) {
		b.Record.Release()
	}, func(id string) { found = append(found, id) })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.RejectsByReason {
		reasons[c.Name] = c.N
	}
	if st.RecordsIn != 3 || st.RecordsOut != 1 || reasons[ReasonProofDuplicate] != 1 || reasons[ReasonProofBadName] != 1 {
		t.Errorf("stats %+v", st)
	}
	if fmt.Sprint(found) != fmt.Sprint([]string{idA}) || len(st.Files) != 1 || st.Files[0].Name != idA {
		t.Errorf("found %v, files %+v: want the first copy, under its lower-case ID", found, st.Files)
	}
	if fmt.Sprint(st.Warnings) != fmt.Sprint([]lineparse.Count{{Name: WarningProofDirectory, N: 2}}) {
		t.Errorf("warnings %v", st.Warnings)
	}
	if st.AttachmentKind != "proofs" || len(st.AttachmentTables) != 3 {
		t.Errorf("the archive's counters must carry their own bound: %q %v", st.AttachmentKind, st.AttachmentTables)
	}
}

// Proof files are closed (made durable) several at once, and ReadProofs
// returns only once every one is closed: a failed close fails the archive
// with the entry's name, and no file is reported before it is durable.
func TestReadProofsClosesFilesTogether(t *testing.T) {
	ctx := context.Background()
	ids := []string{idA, idB, strings.Repeat("c", 64) + ".pdf", strings.Repeat("d", 64) + ".pdf"}
	body := map[string][]byte{}
	for _, id := range ids {
		body[id] = []byte("%PDF " + id)
	}
	for _, tt := range []struct {
		name      string
		failClose string
		wantErr   string
	}{
		{"every close succeeds", "", ""},
		{"a close fails", ids[2], "entry " + ids[2] + ": disk full"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, "proofs.tar.gz")
			data := tarGz(t, body, ids)
			os.WriteFile(p, data, 0o644)
			f := transforms.InputFile{Path: p, Rel: "proofs.tar.gz", Partition: "export_id=e/date=2024-03-01", Unit: "u",
				Parts: []transforms.FilePart{{Path: p, Rel: "proofs.tar.gz", Size: int64(len(data))}}}
			out := &lakefstest.HeldFS{Fail: tt.failClose}
			st, err := ReadProofs(ctx, lakefs.Local{}, out, filepath.Join(root, "out"), "r1", f, 0,
				func(b hiveparquet.Batch) { b.Record.Release() }, func(string) {})
			busy, overlap := out.Closes()
			if busy != 0 {
				t.Errorf("ReadProofs returned with %d files still being closed", busy)
			}
			if !overlap {
				t.Errorf("the proof files were closed one at a time")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Files) != len(ids) {
				t.Fatalf("%d files, want %d", len(st.Files), len(ids))
			}
			for _, fd := range st.Files {
				if got, err := os.ReadFile(fd.TempPath); err != nil || !bytes.Equal(got, body[fd.Name]) {
					t.Errorf("%s: %q %v", fd.Name, got, err)
				}
			}
		})
	}
}

// TestProofRefsOwnTheirStrings checks that a proof reference does not alias
// its batch's buffers: the direct runner keeps the references until the
// read is over, and an aliasing string would keep the batch's id and user_id
// buffers (the memory of a whole batch per reference) alive with it.
func TestProofRefsOwnTheirStrings(t *testing.T) {
	_, events, _, ok := parseOne(t, goodLine)
	if !ok || events == nil {
		t.Fatal("good line rejected")
	}
	defer events.Release()
	var refs []proofRef
	emitProofRefs(hiveparquet.Batch{Table: EventsTable, Partition: "p", Record: events}, func(key string, r proofRef) {
		refs = append(refs, r)
	})
	if len(refs) != 1 || refs[0].EventID != "e1" || refs[0].UserID != "u1" {
		t.Fatalf("refs = %+v, want one of event e1, user u1", refs)
	}
	// Overwrite the batch's string data, as a reused buffer would be: the
	// references must not change.
	for _, c := range []int{0, 1} {
		for _, b := range events.Column(c).Data().Buffers() {
			if b != nil {
				bs := b.Bytes()
				for i := range bs {
					bs[i] = 'X'
				}
			}
		}
	}
	if refs[0].EventID != "e1" || refs[0].UserID != "u1" {
		t.Errorf("refs changed with the batch's buffers: %+v (they alias the batch)", refs)
	}
}
