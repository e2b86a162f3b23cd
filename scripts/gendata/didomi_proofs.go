package main

// Split proof archives. The sample: each complete sample partition listed
// in sampleProofArchives gets proofs.tar.gz.NN parts (tiny, so that tar
// headers and bodies straddle part boundaries) holding a small file for
// every proof ID its good lines reference, except the planted missing one,
// plus a planted orphan and a planted entry to reject (a path with ".."). With --proof-archives every complete partition gets
// one (proofs/proofs.tar.gz.NN, --proof-part-size each) holding every proof
// its events reference.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// proofRefGen is one proof reference of a generated event.
type proofRefGen struct {
	ProofID string `json:"proof_id"`
	EventID string `json:"event_id"`
	UserID  string `json:"user_id"`
}

// proofRejectGen is one planted archive entry that a reader must reject.
type proofRejectGen struct {
	// Entry is the entry's 0-based index in the archive.
	Entry int    `json:"entry"`
	Name  string `json:"name"`
	Code  string `json:"code"`
}

type proofArchiveExpected struct {
	// Dir is the folder of the parts, relative to the partition folder ("" or "proofs").
	Dir      string   `json:"dir"`
	Parts    []string `json:"parts"`
	PartSize int      `json:"part_size"`
	// Entries counts the archive's entries: the proofs and the rejects.
	Entries int              `json:"entries"`
	Proofs  []string         `json:"proofs"`
	Missing []proofRefGen    `json:"missing"`
	Orphans []string         `json:"orphans"`
	Rejects []proofRejectGen `json:"rejects"`
}

// codeProofUnsafePath is the reason code of an archive entry whose name
// leaves the extraction folder (a ".." segment), as vendorlake writes it
// in didomi_rejects.
const codeProofUnsafePath = "proof_unsafe_path"

// sampleProofArchives: partition → folder of its archive and whether it
// plants a missing and an orphan proof and a rejected entry.
var sampleProofArchives = []struct {
	rel, dir string
	plant    bool
}{
	{"export-id=exp-web/date=2024-03-01", "", true},
	{"export-id=exp-app/date=2024-03-02", "proofs", false},
}

// sampleProofUsersFactor multiplies the users per file of the partition of
// a planted archive, so that its events reference more than 100 proofs: its
// one rejected entry then stays within vendorlake's default
// --max-proof-reject-ratio (1 % of a partition's entries), and the sample
// commits with default flags while holding every kind of proof reject and
// warning.
const sampleProofUsersFactor = 5

// sampleProofHeavy reports whether the sample partition rel gets a planted
// proof archive.
func sampleProofHeavy(rel string) bool {
	for _, sa := range sampleProofArchives {
		if sa.rel == rel && sa.plant {
			return true
		}
	}
	return false
}

const sampleProofPartSize = 1024

// proofMagic starts each generated proof file, so content sniffing has
// something to find.
var proofMagic = map[string]string{
	"pdf":  "%PDF-1.4\n",
	"png":  "\x89PNG\r\n\x1a\n",
	"jpg":  "\xff\xd8\xff\xe0",
	"gif":  "GIF89a",
	"docx": "PK\x03\x04",
	"doc":  "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
	"msg":  "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
}

// ProofContent is the deterministic content of a generated proof file.
func proofContent(r *rand.Rand, id string) []byte {
	ext := id[strings.LastIndexByte(id, '.')+1:]
	var b bytes.Buffer
	b.WriteString(proofMagic[ext])
	fmt.Fprintf(&b, "consent proof %s\n", id)
	for i, n := 0, 20+r.IntN(200); i < n; i++ {
		b.WriteByte(byte('a' + r.IntN(26)))
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// proofArchiveSpec is one partition's archive to write: the folder of its
// parts (relative to the partition), whether to plant a missing and an
// orphan proof, and the size of each part.
type proofArchiveSpec struct {
	p        *partPlan
	dir      string
	plant    bool
	partSize int64
}

// writeProofArchives writes the sample's planted archives (--sample) or,
// with --proof-archives, one archive per complete partition holding every
// proof its events reference (nothing missing, no orphan).
func writeProofArchives(cfg *didomiConfig, parts []*partPlan) (map[string]*proofArchiveExpected, error) {
	var specs []proofArchiveSpec
	switch {
	case cfg.Sample:
		for _, sa := range sampleProofArchives {
			for _, c := range parts {
				if c.rel() == sa.rel && c.complete {
					specs = append(specs, proofArchiveSpec{p: c, dir: sa.dir, plant: sa.plant, partSize: sampleProofPartSize})
				}
			}
		}
	case cfg.ProofArchives:
		for _, c := range parts {
			if c.complete {
				specs = append(specs, proofArchiveSpec{p: c, dir: "proofs", partSize: cfg.ProofPartSize})
			}
		}
	}
	out := map[string]*proofArchiveExpected{}
	for _, sp := range specs {
		ex, err := writeProofArchive(cfg, sp)
		if err != nil {
			return nil, fmt.Errorf("%s proof archive: %w", sp.p.rel(), err)
		}
		out[sp.p.rel()] = ex
	}
	return out, nil
}

func writeProofArchive(cfg *didomiConfig, sa proofArchiveSpec) (_ *proofArchiveExpected, err error) {
	p := sa.p
	files := slices.Clone(p.files)
	slices.SortFunc(files, func(a, b *fileJob) int { return strings.Compare(a.name, b.name) })
	var refs []proofRefGen
	for _, f := range files {
		refs = append(refs, f.stats.proofRefs...)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, streamID("proofs", p.exportID, p.date)))
	ex := &proofArchiveExpected{Dir: sa.dir, PartSize: int(sa.partSize), Missing: []proofRefGen{}, Orphans: []string{}, Rejects: []proofRejectGen{}}
	ids := []string{}
	seen := map[string]bool{}
	for i, ref := range refs {
		if sa.plant && i == len(refs)/2 {
			ex.Missing = append(ex.Missing, ref)
			continue
		}
		if !seen[ref.ProofID] {
			seen[ref.ProofID] = true
			ids = append(ids, ref.ProofID)
		}
	}
	names := slices.Clone(ids)
	if sa.plant {
		orphan := hexN(r, 64) + ".pdf"
		ids = append(ids, orphan)
		names = append(names, orphan)
		ex.Orphans = append(ex.Orphans, orphan)
		// An entry written from outside the folder tar ran in (tar -P, or
		// a script joining paths): a proof file by its name, unsafe by
		// its path. Its ID is referenced by no event.
		rej := proofRejectGen{Entry: len(names) / 3, Name: "../" + hexN(r, 64) + ".pdf", Code: codeProofUnsafePath}
		names = slices.Insert(names, rej.Entry, rej.Name)
		ex.Rejects = append(ex.Rejects, rej)
	}
	dir := filepath.Join(cfg.Out, filepath.FromSlash(p.rel()), sa.dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pw := &partWriter{dir: dir, size: sa.partSize}
	defer func() {
		if cerr := pw.close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(pw, 256<<10)
	zw, err := gzip.NewWriterLevel(bw, cfg.GzipLevel)
	if err != nil {
		return nil, err
	}
	zw.Name = ""
	zw.ModTime = time.Unix(0, 0)
	tw := tar.NewWriter(zw)
	mtime := p.day.Add(23 * time.Hour)
	for _, name := range names {
		body := proofContent(r, path.Base(name))
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg,
			Uname: "didomi", Gname: "didomi", Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	ex.Parts = pw.names
	ex.Entries = len(names)
	ex.Proofs = ids
	return ex, nil
}

// partWriter writes a stream as consecutive files proofs.tar.gz.00, .01, …
// of size bytes each (the last one shorter), so that an archive of any size
// is written without holding it in memory.
type partWriter struct {
	dir   string
	size  int64
	cur   *os.File
	n     int64 // bytes in cur
	names []string
}

func (w *partWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if w.cur == nil || w.n == w.size {
			if err := w.close(); err != nil {
				return written, err
			}
			name := fmt.Sprintf("proofs.tar.gz.%02d", len(w.names))
			f, err := os.Create(filepath.Join(w.dir, name))
			if err != nil {
				return written, err
			}
			w.cur, w.n = f, 0
			w.names = append(w.names, name)
		}
		k := int(min(int64(len(b)), w.size-w.n))
		m, err := w.cur.Write(b[:k])
		written += m
		w.n += int64(m)
		if err != nil {
			return written, err
		}
		b = b[k:]
	}
	return written, nil
}

func (w *partWriter) close() error {
	if w.cur == nil {
		return nil
	}
	err := w.cur.Close()
	w.cur = nil
	return err
}
