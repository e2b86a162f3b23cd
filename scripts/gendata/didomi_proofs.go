package main

// The sample's split proof archives: each complete sample partition listed
// in sampleProofArchives gets proofs.tar.gz.NN parts (tiny, so that tar
// headers and bodies straddle part boundaries) holding a small file for
// every proof ID its good lines reference, except the planted missing one,
// plus a planted orphan.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
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

type proofArchiveExpected struct {
	// Dir is the folder of the parts, relative to the partition folder ("" or "proofs").
	Dir      string        `json:"dir"`
	Parts    []string      `json:"parts"`
	PartSize int           `json:"part_size"`
	Proofs   []string      `json:"proofs"`
	Missing  []proofRefGen `json:"missing"`
	Orphans  []string      `json:"orphans"`
}

// sampleProofArchives: partition → folder of its archive and whether it
// plants a missing and an orphan proof.
var sampleProofArchives = []struct {
	rel, dir string
	plant    bool
}{
	{"export-id=exp-web/date=2024-03-01", "", true},
	{"export-id=exp-app/date=2024-03-02", "proofs", false},
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

func writeSampleProofs(cfg *didomiConfig, parts []*partPlan) (map[string]*proofArchiveExpected, error) {
	out := map[string]*proofArchiveExpected{}
	if !cfg.Sample {
		return out, nil
	}
	for _, sa := range sampleProofArchives {
		var p *partPlan
		for _, c := range parts {
			if c.rel() == sa.rel && c.complete {
				p = c
			}
		}
		if p == nil {
			continue
		}
		files := slices.Clone(p.files)
		slices.SortFunc(files, func(a, b *fileJob) int { return strings.Compare(a.name, b.name) })
		var refs []proofRefGen
		for _, f := range files {
			refs = append(refs, f.stats.proofRefs...)
		}
		r := rand.New(rand.NewPCG(cfg.Seed, streamID("proofs", p.exportID, p.date)))
		ex := &proofArchiveExpected{Dir: sa.dir, PartSize: sampleProofPartSize, Missing: []proofRefGen{}, Orphans: []string{}}
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
		if sa.plant {
			orphan := hexN(r, 64) + ".pdf"
			ids = append(ids, orphan)
			ex.Orphans = append(ex.Orphans, orphan)
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, cfg.GzipLevel)
		if err != nil {
			return nil, err
		}
		zw.Name = ""
		zw.ModTime = time.Unix(0, 0)
		tw := tar.NewWriter(zw)
		mtime := p.day.Add(23 * time.Hour)
		for _, id := range ids {
			body := proofContent(r, id)
			h := &tar.Header{Name: id, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg,
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
		dir := filepath.Join(cfg.Out, filepath.FromSlash(p.rel()), sa.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		data := buf.Bytes()
		for n := 0; len(data) > 0; n++ {
			k := min(sampleProofPartSize, len(data))
			name := fmt.Sprintf("proofs.tar.gz.%02d", n)
			if err := os.WriteFile(filepath.Join(dir, name), data[:k], 0o644); err != nil {
				return nil, err
			}
			ex.Parts = append(ex.Parts, name)
			data = data[k:]
		}
		ex.Proofs = ids
		out[p.rel()] = ex
	}
	return out, nil
}
