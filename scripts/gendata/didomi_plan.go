package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"
)

// The plan of a Didomi drop: its partitions, their files and what each
// file holds, decided up front from the seed so that any --workers writes
// the same bytes.

type partPlan struct {
	exportID, date string
	day            time.Time
	org            string
	complete       bool
	successInUsers bool
	files          []*fileJob // in creation (index) order
}

func (p *partPlan) rel() string { return "export-id=" + p.exportID + "/date=" + p.date }

type fileJob struct {
	part        *partPlan
	idx         int
	name        string
	users       int   // good lines to write (fixed-count mode)
	target      int64 // compressed bytes to reach (target mode)
	badCodes    []string
	badRate     float64
	forceOffset bool
	stats       fileStats
	err         error
}

type fileStats struct {
	bytes, uncompressed int64
	lines, goodLines    int
	events              int
	userPurposes        int
	eventPurposes       int
	proofs              int
	proofRefs           []proofRefGen
	delegates           int
	usersExtra          int
	eventsExtra         int
	offsetTS            int
	rejects             []rejectLoc
	firstUser, lastUser *userSpot
	firstEvent          *eventSpot
	offsetUser          *offsetSpot
}

func streamID(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func planDidomi(cfg *didomiConfig) []*partPlan {
	var parts []*partPlan
	var all []*fileJob
	for ei, exp := range cfg.ExportIDs {
		for _, d := range cfg.Dates {
			day, _ := time.Parse(time.DateOnly, d)
			key := exp + "/" + d
			p := &partPlan{
				exportID: exp, date: d, day: day.UTC(),
				org:            organizations[ei%len(organizations)],
				complete:       !slices.Contains(cfg.Incomplete, key),
				successInUsers: slices.Contains(cfg.SuccessInUsers, key),
			}
			if cfg.Sample {
				p.org = "acme-media"
			}
			r := rand.New(rand.NewPCG(cfg.Seed, streamID("partition", exp, d)))
			nfiles := cfg.FilesPerPartition
			if cfg.Sample {
				nfiles = 2 + r.IntN(2)
			}
			for fi := 0; fi < nfiles; fi++ {
				f := &fileJob{part: p, idx: fi, users: cfg.UsersPerFile, badRate: cfg.BadLineRate}
				if cfg.Sample {
					f.users = 5 + r.IntN(11)
					if sampleProofHeavy(p.rel()) {
						f.users *= sampleProofUsersFactor
					}
					f.forceOffset = fi == 0
				}
				// File names are arbitrary; two styles so that readers
				// cannot rely on one.
				if ei%2 == 0 {
					f.name = fmt.Sprintf("part-%05d-%s-%s-%s-%s-%s-c000.json.gz", fi,
						hexN(r, 8), hexN(r, 4), hexN(r, 4), hexN(r, 4), hexN(r, 12))
				} else {
					f.name = fmt.Sprintf("users_%s_%d.json.gz", hexN(r, 16), fi)
				}
				p.files = append(p.files, f)
				all = append(all, f)
			}
			parts = append(parts, p)
		}
	}
	if cfg.TargetBytes > 0 {
		per := cfg.TargetBytes / int64(len(all))
		if per < 1 {
			per = 1
		}
		for _, f := range all {
			f.target = per
		}
	}
	if cfg.BadLines {
		r := rand.New(rand.NewPCG(cfg.Seed, streamID("bad-lines")))
		var complete []*partPlan
		for _, p := range parts {
			if p.complete {
				complete = append(complete, p)
			}
		}
		if len(complete) == 0 {
			complete = parts
		}
		codes := slices.Clone(reasonCodes)
		r.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
		if cfg.Sample {
			plantEventRejectWithProofs(codes, complete)
		}
		for i, c := range codes {
			p := complete[i%len(complete)]
			f := p.files[r.IntN(len(p.files))]
			f.badCodes = append(f.badCodes, c)
		}
	}
	return parts
}

// plantEventRejectWithProofs reorders codes, dealt in turn to the complete
// partitions, so that the partition of the sample's planted proof archive
// gets the event reject (event_not_object) as one of its codes: that
// partition then holds every kind of reject together (line, event, proof
// archive entry) besides its missing and orphan proofs.
func plantEventRejectWithProofs(codes []string, complete []*partPlan) {
	ev := slices.Index(codes, codeEventNotObject)
	for k, p := range complete {
		if !sampleProofHeavy(p.rel()) {
			continue
		}
		if ev%len(complete) != k && k < len(codes) {
			codes[ev], codes[k] = codes[k], codes[ev]
		}
		return
	}
}

func hexN(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[r.IntN(16)]
	}
	return string(b)
}
