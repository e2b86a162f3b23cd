package main

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Writing one users file of the plan (gzip NDJSON).

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func genFile(cfg *didomiConfig, f *fileJob, path string) (err error) {
	p := f.part
	g := &gen{
		r:      rand.New(rand.NewPCG(cfg.Seed, streamID("file", p.exportID, p.date, strconv.Itoa(f.idx)))),
		org:    p.org,
		day:    p.day,
		sample: cfg.Sample,

		proofDrop: 1 - cfg.ProofShare,
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(out, 256<<10)
	cw := &countWriter{w: bw}
	zw, err := gzip.NewWriterLevel(cw, cfg.GzipLevel)
	if err != nil {
		return err
	}
	zw.Name = ""
	zw.ModTime = time.Unix(0, 0) // mtime field 0 (klauspost writes ModTime.Unix() as is)

	st := &f.stats
	emit := func(defect string, forceOffset bool) error {
		info := g.line(defect, forceOffset)
		if _, err := zw.Write(g.w.b); err != nil {
			return err
		}
		st.lines++
		st.uncompressed += int64(len(g.w.b))
		if defect != "" {
			st.rejects = append(st.rejects, rejectLoc{File: f.name, Line: st.lines, Code: defect})
			st.proofRefs = append(st.proofRefs, info.proofRefs...)
			return nil
		}
		st.goodLines++
		st.events += info.events
		st.userPurposes += info.userPurposes
		st.eventPurposes += info.eventPurposes
		st.proofs += info.proofs
		st.proofRefs = append(st.proofRefs, info.proofRefs...)
		st.delegates += info.delegates
		st.eventsExtra += info.eventsExtra
		st.offsetTS += info.offsetTS
		if info.userExtra {
			st.usersExtra++
		}
		u := &g.u
		spot := &userSpot{
			File: f.name, Line: st.lines, ID: u.id, CreatedAtRaw: string(appendTS(nil, u.created, u.createdFmt)),
			CreatedAt: normTS(u.created), UpdatedAt: normTS(u.updated), Version: u.version,
			Purposes: info.userPurposes, Events: info.events,
		}
		if u.country != "" {
			c := u.country
			spot.Country = &c
		}
		spot.CreatedAtRaw = strings.Trim(spot.CreatedAtRaw, `"`)
		if u.ouidKind == 0 {
			o := u.ouid
			spot.OrganizationUserID = &o
		}
		if st.firstUser == nil {
			st.firstUser = spot
		}
		st.lastUser = spot
		if st.firstEvent == nil && info.firstEvent != nil {
			info.firstEvent.File, info.firstEvent.Line = f.name, st.lines
			st.firstEvent = info.firstEvent
		}
		if st.offsetUser == nil && u.createdFmt == tsOffset {
			st.offsetUser = &offsetSpot{File: f.name, Line: st.lines, ID: u.id, CreatedAtRaw: spot.CreatedAtRaw, CreatedAt: spot.CreatedAt}
		}
		return nil
	}

	// Planted bad lines go before good line number pos (pos >= 1), so they
	// always sit between two good lines when the file has two or more users.
	type planted struct {
		pos  int
		code string
	}
	var plan []planted
	for _, c := range f.badCodes {
		var pos int
		switch {
		case f.target > 0:
			pos = 1 + g.r.IntN(50)
		case f.users >= 2:
			pos = 1 + g.r.IntN(f.users-1)
		default:
			pos = f.users
		}
		plan = append(plan, planted{pos, c})
	}
	slices.SortStableFunc(plan, func(a, b planted) int { return a.pos - b.pos })

	var lastC, lastU int64
	for good := 0; ; good++ {
		for len(plan) > 0 && plan[0].pos <= good {
			if err := emit(plan[0].code, false); err != nil {
				return err
			}
			plan = plan[1:]
		}
		if f.target > 0 {
			// Estimated compressed size: bytes already out of the
			// compressor plus the pending input at the ratio seen so far.
			if cw.n != lastC {
				lastC, lastU = cw.n, st.uncompressed
			}
			ratio := 0.15
			if lastU > 0 {
				ratio = float64(lastC) / float64(lastU)
			}
			est := cw.n + int64(float64(st.uncompressed-lastU)*ratio)
			if est >= f.target && len(plan) == 0 {
				break
			}
		} else if good >= f.users {
			break
		}
		if f.badRate > 0 && good > 0 && g.r.Float64() < f.badRate {
			if err := emit(reasonCodes[g.r.IntN(len(reasonCodes))], false); err != nil {
				return err
			}
		}
		if err := emit("", f.forceOffset && good == 1); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	st.bytes = cw.n
	return nil
}
