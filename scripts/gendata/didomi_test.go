package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// ---- an independent reader/validator of the Didomi export ----

// Typed shape of a record. Pointers tell "absent or null" apart from zero
// values; encoding/json fails on any JSON type mismatch (string into int,
// array into struct, ...), which is what wrong_type means.
type tConsents struct {
	Purposes []struct {
		ID        *string                            `json:"id"`
		Enabled   *bool                              `json:"enabled"`
		EnabledLI *bool                              `json:"enabled_li"`
		Metadata  map[string]any                     `json:"metadata"`
		Values    map[string]struct{ Value *string } `json:"values"`
		Channels  []tChannel                         `json:"channels"`
		Prefs     []struct {
			ID      *string `json:"id"`
			Enabled *bool   `json:"enabled"`
		} `json:"preferences"`
	} `json:"purposes"`
	Vendors *struct {
		Enabled    []string `json:"enabled"`
		Disabled   []string `json:"disabled"`
		EnabledLI  []string `json:"enabled_li"`
		DisabledLI []string `json:"disabled_li"`
	} `json:"vendors"`
	Channels []tChannel `json:"channels"`
	TCFCS    *string    `json:"tcfcs"`
}

type tChannel struct {
	ID       *string        `json:"id"`
	Enabled  *bool          `json:"enabled"`
	Metadata map[string]any `json:"metadata"`
}

type tUser struct {
	ID                 *string        `json:"id"`
	OrganizationID     *string        `json:"organization_id"`
	OrganizationUserID *string        `json:"organization_user_id"`
	Version            *int64         `json:"version"`
	CreatedAt          *string        `json:"created_at"`
	UpdatedAt          *string        `json:"updated_at"`
	Metadata           map[string]any `json:"metadata"`
	Country            *string        `json:"country"`
	LastSeenCountry    *string        `json:"last_seen_country"`
	Consents           *tConsents     `json:"consents"`
}

type tEvent struct {
	ID             *string        `json:"id"`
	OrganizationID *string        `json:"organization_id"`
	CreatedAt      *string        `json:"created_at"`
	UpdatedAt      *string        `json:"updated_at"`
	Metadata       map[string]any `json:"metadata"`
	Status         *string        `json:"status"`
	Regulation     *string        `json:"regulation"`
	User           *struct {
		ID                 *string        `json:"id"`
		OrganizationUserID *string        `json:"organization_user_id"`
		Metadata           map[string]any `json:"metadata"`
		Country            *string        `json:"country"`
		LastSeenCountry    *string        `json:"last_seen_country"`
	} `json:"user"`
	Consents *tConsents `json:"consents"`
	ProofsID []string   `json:"proofs_id"`
	Delegate *struct {
		ID       *string        `json:"id"`
		Name     *string        `json:"name"`
		Metadata map[string]any `json:"metadata"`
	} `json:"delegate"`
}

type tRecord struct {
	User   tUser    `json:"user"`
	Events []tEvent `json:"events"`
}

// classify returns the reason code of a line ("" when good) and, for a good
// line, its decoded record.
func classify(line []byte) (string, *tRecord) {
	if len(line) == 0 {
		return codeEmptyLine, nil
	}
	if !json.Valid(line) {
		return codeInvalidJSON, nil
	}
	var top any
	if err := json.Unmarshal(line, &top); err != nil {
		return codeInvalidJSON, nil
	}
	m, ok := top.(map[string]any)
	if !ok {
		return codeNotObject, nil
	}
	u, ok := m["user"]
	if !ok {
		return codeMissingUser, nil
	}
	um, ok := u.(map[string]any)
	if !ok {
		return codeUserNotObject, nil
	}
	if id, ok := um["id"]; !ok || id == nil || id == "" {
		return codeMissingUserID, nil
	}
	if ev, ok := m["events"]; ok && ev != nil {
		arr, ok := ev.([]any)
		if !ok {
			return codeEventsNotArray, nil
		}
		for _, e := range arr {
			if _, ok := e.(map[string]any); !ok {
				return codeEventNotObject, nil
			}
		}
	}
	var rec tRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return codeWrongType, nil
		}
		return codeInvalidJSON, nil
	}
	for _, s := range recordTimestamps(&rec) {
		if s == nil {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, *s); err != nil {
			return codeBadTimestamp, nil
		}
	}
	return "", &rec
}

func recordTimestamps(r *tRecord) []*string {
	ts := []*string{r.User.CreatedAt, r.User.UpdatedAt}
	for i := range r.Events {
		ts = append(ts, r.Events[i].CreatedAt, r.Events[i].UpdatedAt)
	}
	return ts
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	proofRE = regexp.MustCompile(`^[0-9a-f]{64}\.(pdf|png|jpg|gif|docx|doc|msg)$`)
	cc2RE   = regexp.MustCompile(`^[A-Z]{2}$`)
	tcfRE   = regexp.MustCompile(`^[A-Za-z0-9_\-.]+$`)
)

var (
	knownUserKeys = []string{"id", "organization_id", "organization_user_id", "version", "created_at",
		"updated_at", "metadata", "country", "last_seen_country", "consents"}
	knownEventKeys = []string{"id", "organization_id", "created_at", "updated_at", "metadata", "status",
		"regulation", "user", "consents", "proofs_id", "delegate"}
)

// tally holds what a re-read of the files counts, to compare with EXPECTED.json.
type tally struct {
	lines, good, events, userPurposes, eventPurposes, proofs, delegates int
	usersExtra, eventsExtra, offsetTS                                   int
	rejects                                                             []rejectLoc
	firstUser                                                           *tRecord
	firstUserLoc                                                        [2]any
	firstEvent                                                          *tEvent
}

// checkGood verifies the documented shape of a good line beyond JSON types
// (required fields present, enums, formats) and counts it into ta.
func checkGood(t *testing.T, where string, line []byte, r *tRecord, ta *tally) {
	t.Helper()
	bad := func(format string, args ...any) { t.Errorf(where+": "+format, args...) }
	u := &r.User
	if u.ID == nil || !uuidRE.MatchString(*u.ID) {
		bad("user.id not a uuid")
	}
	if u.OrganizationID == nil || *u.OrganizationID == "" {
		bad("user.organization_id missing")
	}
	if u.Version == nil || *u.Version < 1 {
		bad("user.version missing or < 1")
	}
	if u.CreatedAt == nil || u.UpdatedAt == nil {
		bad("user timestamps missing")
	} else {
		c, _ := time.Parse(time.RFC3339Nano, *u.CreatedAt)
		up, _ := time.Parse(time.RFC3339Nano, *u.UpdatedAt)
		if up.Before(c) {
			bad("user.updated_at before created_at")
		}
	}
	if u.Metadata == nil {
		bad("user.metadata missing")
	}
	for _, c := range []*string{u.Country, u.LastSeenCountry} {
		if c != nil && !cc2RE.MatchString(*c) {
			bad("country %q", *c)
		}
	}
	checkConsents := func(what string, c *tConsents, isUser bool) {
		if c == nil {
			bad("%s.consents missing", what)
			return
		}
		for _, p := range c.Purposes {
			if p.ID == nil || *p.ID == "" || p.Enabled == nil || p.Metadata == nil || p.Values == nil {
				bad("%s purpose incomplete", what)
			}
			for k, v := range p.Values {
				if k == "" || v.Value == nil {
					bad("%s purpose value %q", what, k)
				}
			}
			for _, ch := range p.Channels {
				if ch.ID == nil || ch.Enabled == nil || ch.Metadata == nil {
					bad("%s purpose channel incomplete", what)
				}
			}
		}
		if isUser && (c.Vendors == nil || c.Vendors.Enabled == nil || c.Vendors.Disabled == nil || c.Vendors.EnabledLI == nil || c.Vendors.DisabledLI == nil) {
			bad("%s vendors incomplete", what)
		}
		for _, ch := range c.Channels {
			if ch.ID == nil || ch.Enabled == nil || ch.Metadata == nil {
				bad("%s channel incomplete", what)
			}
		}
		if c.TCFCS != nil && !tcfRE.MatchString(*c.TCFCS) {
			bad("%s tcfcs %q", what, *c.TCFCS)
		}
	}
	checkConsents("user", u.Consents, true)
	for i := range r.Events {
		e := &r.Events[i]
		if e.ID == nil || !uuidRE.MatchString(*e.ID) || e.OrganizationID == nil || e.CreatedAt == nil ||
			e.UpdatedAt == nil || e.Metadata == nil || e.User == nil || e.User.ID == nil || e.User.Metadata == nil {
			bad("event %d incomplete", i)
			continue
		}
		if *e.User.ID != *u.ID || *e.OrganizationID != *u.OrganizationID {
			bad("event %d user/org mismatch", i)
		}
		if e.Status == nil || (*e.Status != "confirmed" && *e.Status != "pending_approval") {
			bad("event %d status", i)
		}
		if e.Regulation == nil || (*e.Regulation != "gdpr" && *e.Regulation != "cpra") {
			bad("event %d regulation", i)
		}
		checkConsents("event", e.Consents, false)
		if len(e.ProofsID) > 2 {
			bad("event %d: %d proofs", i, len(e.ProofsID))
		}
		for _, p := range e.ProofsID {
			if !proofRE.MatchString(p) {
				bad("event %d proof id %q", i, p)
			}
		}
		if d := e.Delegate; d != nil {
			if d.ID == nil || d.Name == nil || d.Metadata == nil {
				bad("event %d delegate incomplete", i)
			}
			ta.delegates++
		}
		ta.proofs += len(e.ProofsID)
		if e.Consents != nil {
			ta.eventPurposes += len(e.Consents.Purposes)
		}
	}
	if len(r.Events) > 30 {
		bad("%d events", len(r.Events))
	}
	for _, s := range recordTimestamps(r) {
		if s != nil && !strings.HasSuffix(*s, "Z") {
			ta.offsetTS++
		}
	}
	// Unknown fields: only the ones the generator is meant to add.
	var raw struct {
		User   map[string]json.RawMessage   `json:"user"`
		Events []map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		bad("raw decode: %v", err)
	}
	extra := func(m map[string]json.RawMessage, known, allowed []string) int {
		n := 0
		for k := range m {
			if slices.Contains(known, k) {
				continue
			}
			if !slices.Contains(allowed, k) {
				bad("unexpected key %q", k)
			}
			n++
		}
		return n
	}
	if extra(raw.User, knownUserKeys, unknownUserKeys) > 0 {
		ta.usersExtra++
	}
	for _, e := range raw.Events {
		if extra(e, knownEventKeys, unknownEventKeys) > 0 {
			ta.eventsExtra++
		}
	}
	ta.good++
	ta.events += len(r.Events)
	if u.Consents != nil {
		ta.userPurposes += len(u.Consents.Purposes)
	}
}

type treeCheck struct {
	ex    *didomiExpected
	codes map[string]int // over all partitions
}

// verifyTree re-reads every file of a generated tree and compares with its
// EXPECTED.json.
func verifyTree(t *testing.T, dir string) treeCheck {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ex didomiExpected
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	tc := treeCheck{ex: &ex, codes: map[string]int{}}
	dirs, _ := filepath.Glob(filepath.Join(dir, "export-id=*", "date=*"))
	if len(dirs) != len(ex.Partitions) {
		t.Fatalf("%d partition folders, EXPECTED has %d", len(dirs), len(ex.Partitions))
	}
	for _, pe := range ex.Partitions {
		pdir := filepath.Join(dir, filepath.FromSlash(pe.Path))
		if pe.Path != "export-id="+pe.ExportID+"/date="+pe.Date {
			t.Errorf("path %q", pe.Path)
		}
		// _SUCCESS: where EXPECTED says, and nowhere else.
		_, e1 := os.Stat(filepath.Join(pdir, "_SUCCESS"))
		_, e2 := os.Stat(filepath.Join(pdir, "users", "_SUCCESS"))
		got := ""
		switch {
		case e1 == nil && e2 == nil:
			got = "both"
		case e1 == nil:
			got = "_SUCCESS"
		case e2 == nil:
			got = "users/_SUCCESS"
		}
		if got != pe.SuccessMarker || pe.Complete != (got != "") {
			t.Errorf("%s: _SUCCESS at %q, EXPECTED %q complete=%v", pe.Path, got, pe.SuccessMarker, pe.Complete)
		}
		names, _ := filepath.Glob(filepath.Join(pdir, "users", "*.json.gz"))
		for i := range names {
			names[i] = filepath.Base(names[i])
		}
		if !slices.Equal(names, pe.Files) || len(names) == 0 {
			t.Errorf("%s: files %v, EXPECTED %v", pe.Path, names, pe.Files)
		}
		var ta tally
		rejectsByCode := map[string]int{}
		for fi, name := range pe.Files {
			fileStart := ta
			raw, err := os.ReadFile(filepath.Join(pdir, "users", name))
			if err != nil {
				t.Fatal(err)
			}
			// Fixed gzip header: no name, zero mtime.
			if len(raw) < 10 || raw[0] != 0x1f || raw[1] != 0x8b || raw[3]&0x08 != 0 || !bytes.Equal(raw[4:8], []byte{0, 0, 0, 0}) {
				t.Errorf("%s: gzip header % x", name, raw[:10])
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReaderSize(zr, 1<<20)
			lineNo := 0
			for {
				line, err := br.ReadBytes('\n')
				if err == io.EOF {
					if len(line) > 0 {
						t.Errorf("%s: last line not newline-terminated", name)
					}
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				lineNo++
				ta.lines++
				line = line[:len(line)-1]
				code, rec := classify(line)
				where := pe.Path + "/users/" + name + ":" + itoa(lineNo)
				if code != "" {
					ta.rejects = append(ta.rejects, rejectLoc{File: name, Line: lineNo, Code: code})
					rejectsByCode[code]++
					tc.codes[code]++
					continue
				}
				before := ta.events
				checkGood(t, where, line, rec, &ta)
				if ta.firstUser == nil {
					ta.firstUser = rec
					ta.firstUserLoc = [2]any{name, lineNo}
				}
				if ta.firstEvent == nil && ta.events > before {
					ta.firstEvent = &rec.Events[0]
				}
			}
			zr.Close()
			fsx := pe.FileStats[fi]
			if fsx.Name != name || fsx.Bytes != int64(len(raw)) || fsx.Lines != ta.lines-fileStart.lines ||
				fsx.GoodLines != ta.good-fileStart.good || fsx.Events != ta.events-fileStart.events ||
				fsx.Rejects != len(ta.rejects)-len(fileStart.rejects) {
				t.Errorf("%s/%s: file_stats %+v, re-read lines=%d good=%d events=%d bytes=%d", pe.Path, name, fsx,
					ta.lines-fileStart.lines, ta.good-fileStart.good, ta.events-fileStart.events, len(raw))
			}
		}
		check := func(what string, exp, got int) {
			if exp != got {
				t.Errorf("%s: %s: EXPECTED %d, re-read %d", pe.Path, what, exp, got)
			}
		}
		check("lines", pe.Lines, ta.lines)
		check("good_lines", pe.GoodLines, ta.good)
		check("events", pe.Events, ta.events)
		check("user_purposes", pe.UserPurposes, ta.userPurposes)
		check("event_purposes", pe.EventPurposes, ta.eventPurposes)
		check("proofs", pe.Proofs, ta.proofs)
		check("events_with_delegate", pe.EventsWithDelegate, ta.delegates)
		check("users_with_extra", pe.UsersWithExtra, ta.usersExtra)
		check("events_with_extra", pe.EventsWithExtra, ta.eventsExtra)
		check("offset_timestamps", pe.OffsetTimestamps, ta.offsetTS)
		sumRejects := 0
		for _, n := range pe.RejectsByCode {
			sumRejects += n
		}
		check("lines = good + rejects", pe.Lines, pe.GoodLines+sumRejects)
		if !maps.Equal(pe.RejectsByCode, rejectsByCode) {
			t.Errorf("%s: rejects_by_code EXPECTED %v, re-read %v", pe.Path, pe.RejectsByCode, rejectsByCode)
		}
		if !slices.Equal(pe.Rejects, ta.rejects) && !(len(pe.Rejects) == 0 && len(ta.rejects) == 0) {
			t.Errorf("%s: rejects EXPECTED %v, re-read %v", pe.Path, pe.Rejects, ta.rejects)
		}
		// Spot values.
		if fu := pe.FirstUser; ta.firstUser != nil && fu != nil {
			u := ta.firstUser.User
			ct, _ := time.Parse(time.RFC3339Nano, *u.CreatedAt)
			if fu.ID != *u.ID || fu.File != ta.firstUserLoc[0] || fu.Line != ta.firstUserLoc[1] ||
				fu.CreatedAtRaw != *u.CreatedAt || fu.CreatedAt != ct.UTC().Format("2006-01-02T15:04:05.000000Z") ||
				fu.Version != int(*u.Version) || fu.Purposes != len(u.Consents.Purposes) || fu.Events != len(ta.firstUser.Events) ||
				!ptrEq(fu.OrganizationUserID, u.OrganizationUserID) || !ptrEq(fu.Country, u.Country) {
				t.Errorf("%s: first_user %+v does not match the file", pe.Path, fu)
			}
		} else if (ta.firstUser == nil) != (pe.FirstUser == nil) {
			t.Errorf("%s: first_user presence", pe.Path)
		}
		if fe := pe.FirstEvent; fe != nil {
			if ta.firstEvent == nil || fe.ID != *ta.firstEvent.ID || fe.Status != *ta.firstEvent.Status || fe.Proofs != len(ta.firstEvent.ProofsID) {
				t.Errorf("%s: first_event %+v does not match the file", pe.Path, fe)
			}
		}
		if ou := pe.OffsetUser; ou != nil {
			if strings.HasSuffix(ou.CreatedAtRaw, "Z") {
				t.Errorf("%s: offset_user raw %q has no offset", pe.Path, ou.CreatedAtRaw)
			}
			rt, err := time.Parse(time.RFC3339Nano, ou.CreatedAtRaw)
			if err != nil || rt.UTC().Format("2006-01-02T15:04:05.000000Z") != ou.CreatedAt {
				t.Errorf("%s: offset_user %+v: normalised value wrong", pe.Path, ou)
			}
		}
	}
	return tc
}

func ptrEq(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func itoa(n int) string { return string(appendInt(nil, n)) }

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// treeHash hashes every file (path + bytes) under dir, except README.md.
func treeHash(t *testing.T, dir string) (string, map[string]string) {
	t.Helper()
	files := map[string]string{}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := sha256.Sum256(b)
		files[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
		h.Write([]byte(filepath.ToSlash(rel) + "\x00" + hex.EncodeToString(s[:]) + "\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), files
}

func genTree(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := parseDidomiFlags(append([]string{"--out=" + dir}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generateDidomi(cfg); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ---- tests ----

func TestSampleDeterministic(t *testing.T) {
	a, _ := treeHash(t, genTree(t, "--sample", "--workers=1"))
	b, _ := treeHash(t, genTree(t, "--sample", "--workers=2"))
	c, _ := treeHash(t, genTree(t, "--sample", "--workers=7"))
	if a != b || a != c {
		t.Fatalf("sample not deterministic: %s %s %s", a, b, c)
	}
	d, _ := treeHash(t, genTree(t, "--sample", "--seed=2"))
	if d == a {
		t.Fatal("seed has no effect")
	}
}

func TestBigRunDeterministic(t *testing.T) {
	args := []string{"--export-ids=e1,e2", "--dates=2024-01-31,2024-02-01", "--files-per-partition=3",
		"--users-per-file=300", "--bad-lines", "--bad-line-rate=0.01", "--incomplete=e2/2024-02-01"}
	a, _ := treeHash(t, genTree(t, append(args, "--workers=1")...))
	b, _ := treeHash(t, genTree(t, append(args, "--workers=3")...))
	if a != b {
		t.Fatal("output depends on --workers")
	}
}

func TestCommittedSampleUpToDate(t *testing.T) {
	committed := filepath.Join("..", "..", "testdata", "didomi")
	if _, err := os.Stat(filepath.Join(committed, "EXPECTED.json")); err != nil {
		t.Skip("no committed sample: ", err)
	}
	_, want := treeHash(t, genTree(t, "--sample"))
	_, got := treeHash(t, committed)
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			diff = append(diff, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, k+" (not generated)")
		}
	}
	if len(diff) > 0 {
		t.Fatalf("testdata/didomi is stale; regenerate with: go run ./scripts/gendata didomi --sample --out=testdata/didomi\ndiffering: %v", diff)
	}
	if _, err := os.Stat(filepath.Join(committed, "README.md")); err != nil {
		t.Error("testdata/didomi/README.md missing")
	}
}

func TestSampleContent(t *testing.T) {
	dir := genTree(t, "--sample")
	tc := verifyTree(t, dir)
	ex := tc.ex
	// Each reason code exactly once, and nothing else rejected.
	for _, c := range reasonCodes {
		if tc.codes[c] != 1 {
			t.Errorf("code %s appears %d times in the sample, want 1", c, tc.codes[c])
		}
	}
	if len(tc.codes) != len(reasonCodes) {
		t.Errorf("unexpected codes %v", tc.codes)
	}
	// Sample shape: 2 export ids x 3 dates, 2-3 files each, one incomplete
	// partition with data, one users/_SUCCESS, rejects only in complete ones.
	if len(ex.Partitions) != 6 || ex.Totals.CompletePartitions != 5 {
		t.Fatalf("partitions %d complete %d", len(ex.Partitions), ex.Totals.CompletePartitions)
	}
	var inUsers, offsets int
	for _, p := range ex.Partitions {
		if len(p.Files) < 2 || len(p.Files) > 3 {
			t.Errorf("%s: %d files", p.Path, len(p.Files))
		}
		if !p.Complete && (p.GoodLines == 0 || len(p.Rejects) != 0) {
			t.Errorf("incomplete partition %s must hold good data only", p.Path)
		}
		if p.SuccessMarker == "users/_SUCCESS" {
			inUsers++
		}
		if p.OffsetUser == nil || p.FirstUser == nil || p.FirstEvent == nil {
			t.Errorf("%s: missing spot values", p.Path)
		}
		offsets += p.OffsetTimestamps
		for _, r := range p.Rejects {
			if r.Code == codeEmptyLine && (r.Line == 1 || r.Line == fileLines(p, r.File)) {
				t.Errorf("empty line not in the middle of %s", r.File)
			}
		}
	}
	if inUsers != 1 {
		t.Errorf("%d partitions with users/_SUCCESS, want 1", inUsers)
	}
	if ex.Totals.Events == 0 || offsets == 0 {
		t.Error("no events or no offset timestamps")
	}
	var size int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			size += fi.Size()
		}
		return err
	})
	// About 100 KiB, plus the users and the archive of the planted proof
	// partition, which needs more than 100 archive entries (see
	// sampleProofUsersFactor).
	if size > 176<<10 {
		t.Errorf("sample is %d bytes, want < 176 KiB", size)
	}
}

func fileLines(p partExpected, name string) int {
	for _, f := range p.FileStats {
		if f.Name == name {
			return f.Lines
		}
	}
	return -1
}

// The planted bad lines carry exactly the documented defects.
func TestBadLineShapes(t *testing.T) {
	g := &gen{r: newTestRand(7), org: "acme-media", day: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 300; i++ {
		for _, code := range append([]string{""}, reasonCodes...) {
			g.line(code, false)
			line := bytes.TrimSuffix(g.w.b, []byte{'\n'})
			got, _ := classify(line)
			if got != code {
				t.Fatalf("planted %q, classified %q: %s", code, got, line)
			}
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("newline inside a line: %q", line)
			}
		}
	}
}

func TestBadLinesFlagAndRate(t *testing.T) {
	dir := genTree(t, "--export-ids=a,b", "--dates=2024-02-28,2024-02-29", "--files-per-partition=2",
		"--users-per-file=200", "--bad-lines", "--bad-line-rate=0.02", "--incomplete=b/2024-02-29",
		"--success-in-users=a/2024-02-29", "--seed=42")
	tc := verifyTree(t, dir)
	for _, c := range reasonCodes {
		if tc.codes[c] < 1 {
			t.Errorf("code %s missing", c)
		}
	}
	if tc.ex.Totals.GoodLines != 8*200 {
		t.Errorf("good lines %d", tc.ex.Totals.GoodLines)
	}
}

func TestTargetBytes(t *testing.T) {
	const target = 2 << 20
	dir := genTree(t, "--target-bytes=2MiB", "--export-ids=x", "--dates=2024-05-01,2024-05-02", "--files-per-partition=2")
	tc := verifyTree(t, dir)
	got := tc.ex.Totals.Bytes
	if got < target*9/10 || got > target*11/10 {
		t.Fatalf("target 2 MiB, got %d bytes", got)
	}
	t.Logf("target %d, got %d (%.2f%%)", target, got, 100*float64(got-target)/target)
}

func TestCleanRefusesToOverwrite(t *testing.T) {
	dir := genTree(t, "--users-per-file=2", "--files-per-partition=1", "--dates=2024-01-01", "--export-ids=x")
	cfg, err := parseDidomiFlags([]string{"--out=" + dir, "--users-per-file=2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generateDidomi(cfg); err == nil {
		t.Fatal("expected an error without --clean")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "2MiB": 2 << 20, "2MB": 2e6, "500000": 500000, "1.5k": 1536, "3G": 3 << 30} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "1XB", "-1"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) should fail", in)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		cfg, _ := parseDidomiFlags([]string{"--out=" + dir, "--export-ids=x", "--dates=2024-01-01",
			"--files-per-partition=2", "--users-per-file=5000"}, io.Discard)
		ex, err := generateDidomi(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(ex.Totals.UncompressedBytes)
	}
}
