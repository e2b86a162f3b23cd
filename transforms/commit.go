package transforms

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/faults"
	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// Unit is a set of inputs committed together, with the ledger key they are
// recorded under.
type Unit struct {
	Key    string         `json:"key"`
	Inputs []ledger.Input `json:"inputs"`
	// Claims, when set, are the partitions this unit replaces (they are
	// also in Plan.Claims), and guard them against a silent wipe: when the
	// unit's inputs yield no record at all (none written, none rejected;
	// blank lines do not count), the commit leaves these partitions and the
	// unit's ledger entry alone and lists the unit in the report's Skipped
	// as a warning, unless CommitConfig.AllowEmpty.
	Claims []hiveparquet.Claim `json:"claims,omitempty"`
}

// CommitConfig is everything the commit step needs besides the files and
// counters that flow into it. It is serialised into the DoFn, so it must
// stay small: file lists, not data.
type CommitConfig struct {
	Pipeline string `json:"pipeline"`
	// LockPipeline and LockRunID name the lock the run works under
	// (lakestate.LockPath): the commit checks that it still holds it
	// before it records its commit log. Empty: no check (a run without
	// a lock, in tests).
	LockPipeline string `json:"lock_pipeline,omitempty"`
	LockRunID    string `json:"lock_run_id,omitempty"`
	Version      string `json:"version,omitempty"`
	// Label is the orchestrator's ID of the run (RunReport.OrchestratorRunID).
	Label          string                  `json:"label,omitempty"`
	Runner         string                  `json:"runner"`
	Input          string                  `json:"input"`
	Output         string                  `json:"output"`
	RunID          string                  `json:"run_id"`
	FS             lakefs.Options          `json:"fs"`
	Tables         []hiveparquet.TableSpec `json:"tables"`
	Claims         []hiveparquet.Claim     `json:"claims"`
	Units          []Unit                  `json:"units"`
	Skipped        []Skipped               `json:"skipped"`
	Recovered      []string                `json:"recovered,omitempty"`
	MaxRejectRatio float64                 `json:"max_reject_ratio"`
	StartedAt      time.Time               `json:"started_at"`
	// ExpectedFiles is the number of input files; the commit refuses to run
	// when fewer file counters arrive (a lost bundle must never commit).
	ExpectedFiles int `json:"expected_files"`
	// AllowEmpty commits a guarded unit (Unit.Claims) that yielded no
	// record: its partitions are replaced by nothing.
	AllowEmpty bool `json:"allow_empty,omitempty"`
	// MaxAttachmentRejectRatio bounds, per partition, the share of rejected
	// entries of attachment inputs (FileStats.AttachmentKind); a partition
	// over it has its attachment tables held back.
	MaxAttachmentRejectRatio float64 `json:"max_attachment_reject_ratio"`
}

func init() {
	register.DoFn4x1[context.Context, int, func(*hiveparquet.FileDesc) bool, func(*FileStats) bool, error](&commitFn{})
	register.Iter1[hiveparquet.FileDesc]()
	register.Iter1[FileStats]()
}

// Commit is the single finalize step of a run: after every write finished,
// it checks the per-file counters and the reject ratio, then publishes the
// run's files (hiveparquet.Plan, lakestate.Apply) together with the ledger entries and
// the run report. files is a PCollection<hiveparquet.FileDesc>, stats a
// PCollection<FileStats>. Both are small (descriptors and counters, never
// rows), so grouping them on one key is cheap on every runner.
func Commit(s beam.Scope, cfg CommitConfig, files, stats beam.PCollection) {
	s = s.Scope("transforms.Commit")
	kf := beam.AddFixedKey(s, files)
	ks := beam.AddFixedKey(s, stats)
	grouped := beam.CoGroupByKey(s, kf, ks)
	beam.ParDo0(s, &commitFn{Config: cfg}, grouped)
}

type commitFn struct {
	Config CommitConfig `json:"config"`
}

func (fn *commitFn) ProcessElement(ctx context.Context, _ int, fileIter func(*hiveparquet.FileDesc) bool, statIter func(*FileStats) bool) error {
	cfg := fn.Config
	var files []hiveparquet.FileDesc
	var f hiveparquet.FileDesc
	for fileIter(&f) {
		files = append(files, f)
	}
	var stats []FileStats
	var st FileStats
	for statIter(&st) {
		stats = append(stats, st)
		st = FileStats{}
	}
	return CommitRun(ctx, cfg, files, stats)
}

// CommitRun is the commit step as a plain function, for the Commit DoFn and
// for runs whose plan has no input file to read (only partitions to empty).
func CommitRun(ctx context.Context, cfg CommitConfig, files []hiveparquet.FileDesc, stats []FileStats) error {
	// Before anything of the commit: the Flink tests pause here
	// (commit.begin:1:PAUSE) to kill a TaskManager while the job runs.
	faults.Hit(ctx, "commit.begin")
	fsys, err := lakefs.New(ctx, cfg.Output, cfg.FS)
	if err != nil {
		return err
	}
	if len(stats) != cfg.ExpectedFiles {
		return fmt.Errorf("commit: counters for %d input files arrived, %d expected; nothing committed", len(stats), cfg.ExpectedFiles)
	}
	// Raw files travel with their input's counters; the report keeps only the counters.
	for i := range stats {
		files = append(files, stats[i].Files...)
		stats[i].Files = nil
	}
	// Units with an unreadable input leave the commit first: nothing of
	// them is committed, not even as an empty unit.
	var heldUnits []HeldBack
	cfg, files, heldUnits = holdUnreadable(cfg, files, stats)
	if !cfg.AllowEmpty {
		cfg, files = skipEmptyUnits(cfg, files, stats)
	}
	rep := RunReport{
		RunID: cfg.RunID, Pipeline: cfg.Pipeline, Version: cfg.Version, Runner: cfg.Runner, Input: cfg.Input, Output: cfg.Output,
		OrchestratorRunID: cfg.Label, StartedAt: cfg.StartedAt, Inputs: stats, Skipped: cfg.Skipped, MaxRejectRatio: cfg.MaxRejectRatio,
		Recovered: cfg.Recovered,
	}
	rep.Totals = SumStats(stats)
	// Records and events (Didomi's events are rejected one by one) are in
	// the ratio; attachment entries (proof archives) have their own bound.
	// The units held back are not committed, so not in the ratio either.
	kept := stats
	if len(heldUnits) > 0 {
		kept = nil
		for _, st := range stats {
			if !slices.ContainsFunc(heldUnits, func(h HeldBack) bool { return h.Unit == st.Unit }) {
				kept = append(kept, st)
			}
		}
	}
	tot := SumStats(kept)
	if att := sumAttachments(kept, cfg.MaxAttachmentRejectRatio); att != nil {
		tot.RecordsIn -= att.EntriesIn
		tot.Rejected -= att.Rejected
	}
	rep.Attachments = sumAttachments(stats, cfg.MaxAttachmentRejectRatio)
	heldTables := heldAttachments(rep.Attachments, kept)
	rep.HeldBack = append(heldUnits, heldTables...)
	rep.RejectRatio = tot.RejectRatio()
	var refused []string
	for _, st := range stats {
		for _, c := range st.Replaces {
			if c.Refused != "" {
				refused = append(refused, c.Refused)
			}
		}
	}
	if len(refused) > 0 {
		// Refuse to replace what the lake holds with much less.
		rep.Status = StatusRefused
		rep.Error = strings.Join(refused, "; ") + ": nothing committed"
		return refuse(ctx, fsys, cfg, files, rep)
	}
	if rep.RejectRatio > cfg.MaxRejectRatio {
		// Refuse to replace good partitions with a mostly broken drop.
		rep.Status = StatusRejectRatioExceeded
		rep.Error = fmt.Sprintf("reject ratio %.4f exceeds --max-reject-ratio=%g: nothing committed", rep.RejectRatio, cfg.MaxRejectRatio)
		return refuse(ctx, fsys, cfg, files, rep)
	}

	claims, units := cfg.Claims, cfg.Units
	if len(heldTables) > 0 {
		files, claims, units = holdBack(heldTables, stats, files, claims, units)
	}
	log, err := hiveparquet.Plan(ctx, fsys, cfg.Output, cfg.RunID, cfg.Tables, files, claims)
	if err != nil {
		return err
	}
	rep.Status = StatusCommitted
	rep.Partitions = partitionReports(log.Moves)
	rep.FilesReplaced = len(log.Deletes)
	finish(&rep)
	now := time.Now().UTC()
	for _, u := range units {
		w, err := lakestate.LedgerWrite(cfg.Output, ledger.Entry{Pipeline: cfg.Pipeline, Unit: u.Key, Inputs: u.Inputs, RunID: cfg.RunID, CommittedAt: now})
		if err != nil {
			return err
		}
		log.Writes = append(log.Writes, w)
	}
	w, err := lakestate.ReportWrite(cfg.Output, cfg.RunID, rep)
	if err != nil {
		return err
	}
	log.Writes = append(log.Writes, w)
	log.Pipeline = cfg.Pipeline
	if cfg.LockRunID != "" {
		// A run whose lock was taken over must not commit.
		if err := lakestate.CheckLock(ctx, fsys, cfg.Output, cfg.LockPipeline, cfg.LockRunID); err != nil {
			return fmt.Errorf("commit %s: %w", cfg.RunID, err)
		}
	}
	return lakestate.Apply(ctx, fsys, log)
}

// refuse ends a run whose commit is refused: nothing of it reaches a table.
// The files of its rejects tables (TableSpec.Rejects) move to
// lakestate.RejectsDir, named in the report, so the rows that tripped the
// gate can be read; the rest of its temporary area is deleted, then the
// report is written.
func refuse(ctx context.Context, fsys lakefs.FS, cfg CommitConfig, files []hiveparquet.FileDesc, rep RunReport) error {
	rejects := map[string]bool{}
	for _, t := range cfg.Tables {
		rejects[t.Name] = t.Rejects
	}
	dir := lakestate.RejectsDir(cfg.Output, cfg.RunID)
	for _, f := range files {
		if !rejects[f.Table] || f.Rows == 0 {
			continue
		}
		dst := lakefs.Join(dir, f.Table, f.Partition, path.Base(f.TempPath))
		if err := fsys.Rename(ctx, f.TempPath, dst); err != nil {
			return fmt.Errorf("keep the rejects of a refused run: %w", err)
		}
		rep.RejectsKept = dir
	}
	finish(&rep)
	if err := fsys.DeleteAll(ctx, lakestate.TempDir(cfg.Output, cfg.Pipeline, cfg.RunID)); err != nil {
		return err
	}
	return lakestate.WriteReport(ctx, fsys, rep.Output, rep.RunID, rep)
}

// holdUnreadable drops from cfg the units with an unreadable record input
// (FileStats.Unreadable on an input that is not an attachment) and returns
// them: their claims and any file written for them (the unreadable file's
// rows up to its error, its rejects, the unit's other files) leave the
// commit, so their partitions keep their previous contents, and so do their
// ledger entries, so that the next run reads them again. What a unit
// replaces is the partitions of its inputs (or, for tables that append per
// input, its inputs' sources) and its Unit.Claims; a unit that replaces a
// partition of a held unit is held back with it (replacing the partition
// without the held unit's rows would lose them).
func holdUnreadable(cfg CommitConfig, files []hiveparquet.FileDesc, stats []FileStats) (CommitConfig, []hiveparquet.FileDesc, []HeldBack) {
	first := map[string]int{} // unit -> index in stats of its first unreadable input
	for i, st := range stats {
		if st.Unreadable == "" || st.AttachmentKind != "" {
			continue
		}
		if j, ok := first[st.Unit]; !ok || st.Rel < stats[j].Rel {
			first[st.Unit] = i
		}
	}
	if len(first) == 0 {
		return cfg, files, nil
	}
	parts := map[string][]string{}
	sources := map[string][]string{}
	for _, st := range stats {
		parts[st.Unit] = append(parts[st.Unit], st.Partition)
		if st.Source != "" {
			sources[st.Unit] = append(sources[st.Unit], st.Source)
		}
	}
	// Partitions replaced whole (claims without a source).
	whole := map[string]bool{}
	for _, c := range cfg.Claims {
		if c.Source == "" {
			whole[c.Partition] = true
		}
	}
	heldParts, heldSources := map[string]bool{}, map[string]bool{}
	drop := map[hiveparquet.Claim]bool{}
	var held []HeldBack
	hold := func(u Unit, h HeldBack) {
		held = append(held, h)
		for _, p := range parts[u.Key] {
			heldParts[p] = true
		}
		for _, src := range sources[u.Key] {
			heldSources[src] = true
		}
		for _, c := range u.Claims {
			drop[c] = true
		}
	}
	isHeld := map[string]bool{}
	for _, u := range cfg.Units {
		if i, ok := first[u.Key]; ok {
			st := stats[i]
			hold(u, HeldBack{Reason: HeldUnreadable, Unit: u.Key, Partition: st.Partition, File: st.Rel, Error: st.Unreadable})
			isHeld[u.Key] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, u := range cfg.Units {
			if isHeld[u.Key] {
				continue
			}
			for _, p := range parts[u.Key] {
				if heldParts[p] && whole[p] {
					hold(u, HeldBack{Reason: HeldUnreadable, Unit: u.Key, Partition: p,
						Error: fmt.Sprintf("replaces partition %s with a unit held back", p)})
					isHeld[u.Key], changed = true, true
					break
				}
			}
		}
	}
	owned := func(partition, source string) bool {
		if source != "" {
			return heldSources[source]
		}
		return heldParts[partition]
	}
	var keptClaims []hiveparquet.Claim
	for _, c := range cfg.Claims {
		if !drop[c] && !owned(c.Partition, c.Source) {
			keptClaims = append(keptClaims, c)
		}
	}
	var keptFiles []hiveparquet.FileDesc
	for _, f := range files {
		if !drop[hiveparquet.Claim{Table: f.Table, Partition: f.Partition, Source: f.Source}] && !owned(f.Partition, f.Source) {
			keptFiles = append(keptFiles, f)
		}
	}
	var keptUnits []Unit
	for _, u := range cfg.Units {
		if !isHeld[u.Key] {
			keptUnits = append(keptUnits, u)
		}
	}
	cfg.Claims, cfg.Units = keptClaims, keptUnits
	return cfg, keptFiles, held
}

// heldAttachments returns the partitions whose attachment tables the
// commit holds back, of the inputs in stats: those over their bound (att,
// HeldProofRejects) and those with an unreadable attachment input
// (HeldUnreadable), in partition order.
func heldAttachments(att *AttachmentTotals, stats []FileStats) []HeldBack {
	if att == nil {
		return nil
	}
	inStats := map[string]bool{}
	for _, st := range stats {
		inStats[st.Partition] = true
	}
	var held []HeldBack
	over := map[string]bool{}
	for _, h := range att.HeldBack {
		if inStats[h.Partition] {
			held = append(held, h)
			over[h.Partition] = true
		}
	}
	for _, st := range stats {
		if st.AttachmentKind == "" || st.Unreadable == "" || over[st.Partition] {
			continue
		}
		tables := append([]string(nil), st.AttachmentTables...)
		sort.Strings(tables)
		held = append(held, HeldBack{Reason: HeldUnreadable, Partition: st.Partition, Unit: st.Unit, Tables: tables,
			File: st.Rel, Error: st.Unreadable})
		over[st.Partition] = true
	}
	sort.SliceStable(held, func(i, j int) bool { return held[i].Partition < held[j].Partition })
	return held
}

// ReasonEmpty starts the reason of a unit that the commit skipped because
// its inputs yielded no record at all.
const ReasonEmpty = "empty: complete but yields no record"

// skipEmptyUnits drops from cfg the guarded units (Unit.Claims set) whose
// inputs yielded no record (RecordsOut+Rejected == 0 over all of them,
// attachments such as proof archives left out, or no input at all): their
// claims, their ledger entries and any file written into their partitions,
// so their previous contents stay and a corrected drop is read by the next
// run. Each is added to cfg.Skipped as a warning.
func skipEmptyUnits(cfg CommitConfig, files []hiveparquet.FileDesc, stats []FileStats) (CommitConfig, []hiveparquet.FileDesc) {
	records := map[string]int64{}
	for _, st := range stats {
		if st.AttachmentKind != "" {
			// A proof archive is not a record: a partition with an archive
			// but no users file must not replace its users with nothing.
			continue
		}
		records[st.Unit] += st.RecordsOut + st.Rejected
	}
	drop := map[hiveparquet.Claim]bool{}
	var units []Unit
	skipped := append([]Skipped(nil), cfg.Skipped...)
	for _, u := range cfg.Units {
		if len(u.Claims) == 0 || records[u.Key] > 0 {
			units = append(units, u)
			continue
		}
		for _, c := range u.Claims {
			drop[c] = true
		}
		why := "no input file"
		if len(u.Inputs) > 0 {
			why = fmt.Sprintf("its %d input files hold no record", len(u.Inputs))
		}
		skipped = append(skipped, Skipped{What: u.Key, Warning: true,
			Reason: fmt.Sprintf("%s (%s): not committed, its previous contents stay; --allow-empty-partitions commits it empty", ReasonEmpty, why)})
	}
	if len(drop) == 0 {
		return cfg, files
	}
	files, cfg.Claims = withoutPartitions(drop, files, cfg.Claims)
	cfg.Units, cfg.Skipped = units, skipped
	return cfg, files
}

// withoutPartitions returns files and claims less those of the table
// partitions in drop: their new files are not published and their
// previous files stay.
func withoutPartitions(drop map[hiveparquet.Claim]bool, files []hiveparquet.FileDesc, claims []hiveparquet.Claim) ([]hiveparquet.FileDesc, []hiveparquet.Claim) {
	var keptFiles []hiveparquet.FileDesc
	for _, f := range files {
		if !drop[hiveparquet.Claim{Table: f.Table, Partition: f.Partition}] {
			keptFiles = append(keptFiles, f)
		}
	}
	var keptClaims []hiveparquet.Claim
	for _, c := range claims {
		if !drop[c] {
			keptClaims = append(keptClaims, c)
		}
	}
	return keptFiles, keptClaims
}

// sumAttachments sums the attachment inputs of stats (nil when there are
// none) and decides which partitions are over bound.
func sumAttachments(stats []FileStats, bound float64) *AttachmentTotals {
	var att *AttachmentTotals
	byPart := map[string]*HeldBack{}
	var order []string
	for _, s := range stats {
		if s.AttachmentKind == "" {
			continue
		}
		if att == nil {
			att = &AttachmentTotals{Kind: s.AttachmentKind, MaxRejectRatio: bound}
		}
		att.Files++
		att.EntriesIn += s.RecordsIn
		att.EntriesOut += s.RecordsOut
		att.Rejected += s.Rejected
		att.RejectsByReason = MergeCounts(att.RejectsByReason, s.RejectsByReason)
		h := byPart[s.Partition]
		if h == nil {
			h = &HeldBack{Reason: HeldProofRejects, Partition: s.Partition, Unit: s.Unit}
			byPart[s.Partition] = h
			order = append(order, s.Partition)
		}
		h.EntriesIn += s.RecordsIn
		h.Rejected += s.Rejected
		for _, t := range s.AttachmentTables {
			if !slices.Contains(h.Tables, t) {
				h.Tables = append(h.Tables, t)
			}
		}
	}
	if att == nil {
		return nil
	}
	sort.Slice(att.RejectsByReason, func(i, j int) bool { return att.RejectsByReason[i].Name < att.RejectsByReason[j].Name })
	sort.Strings(order)
	for _, p := range order {
		h := byPart[p]
		if h.EntriesIn > 0 {
			h.RejectRatio = float64(h.Rejected) / float64(h.EntriesIn)
		}
		if h.RejectRatio > bound {
			sort.Strings(h.Tables)
			att.HeldBack = append(att.HeldBack, *h)
		}
	}
	return att
}

// holdBack leaves the attachment tables of the held-back partitions out of
// the commit: their new files are not published (the temporary area is
// removed with the rest), their claims are dropped so that their previous
// files stay, and the attachment inputs leave the ledger entry of their
// unit, so that the next run reads the partition again.
func holdBack(held []HeldBack, stats []FileStats, files []hiveparquet.FileDesc, claims []hiveparquet.Claim, units []Unit) ([]hiveparquet.FileDesc, []hiveparquet.Claim, []Unit) {
	hold := map[hiveparquet.Claim]bool{}
	for _, h := range held {
		for _, t := range h.Tables {
			hold[hiveparquet.Claim{Table: t, Partition: h.Partition}] = true
		}
	}
	keptFiles, keptClaims := withoutPartitions(hold, files, claims)
	// An attachment input's ledger identities are its own name or, when
	// split, its parts' (NAME.00, NAME.01, ...).
	drop := map[string][]string{}
	for _, s := range stats {
		if s.AttachmentKind != "" && slices.ContainsFunc(held, func(h HeldBack) bool { return h.Partition == s.Partition }) {
			drop[s.Unit] = append(drop[s.Unit], s.Rel)
		}
	}
	keptUnits := make([]Unit, 0, len(units))
	for _, u := range units {
		rels := drop[u.Key]
		if len(rels) == 0 {
			keptUnits = append(keptUnits, u)
			continue
		}
		nu := u
		nu.Inputs = nil
		for _, in := range u.Inputs {
			if !slices.ContainsFunc(rels, func(r string) bool { return in.Rel == r || strings.HasPrefix(in.Rel, r+".") }) {
				nu.Inputs = append(nu.Inputs, in)
			}
		}
		keptUnits = append(keptUnits, nu)
	}
	return keptFiles, keptClaims, keptUnits
}

func finish(r *RunReport) {
	r.FinishedAt = time.Now().UTC()
	r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
}

func partitionReports(moves []lakestate.Move) []PartitionReport {
	idx := map[string]int{}
	var out []PartitionReport
	for _, m := range moves {
		k := m.Table + "/" + m.Partition
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, PartitionReport{Table: m.Table, Partition: m.Partition})
		}
		out[i].Files++
		out[i].Rows += m.Rows
		out[i].Bytes += m.Bytes
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Plan is what a run will read and replace, as decided by a pipeline's
// discovery step before the Beam graph is built.
type Plan struct {
	// Files are the input files to read.
	Files []InputFile `json:"files"`
	// Units are the ledger units the files belong to.
	Units []Unit `json:"units"`
	// Claims are the partitions (or sources) the run replaces.
	Claims []hiveparquet.Claim `json:"claims"`
	// Skipped are inputs left out, with the reason.
	Skipped []Skipped `json:"skipped"`
	// Found is what discovery saw besides what it selected, for the run to
	// judge a plan that selects nothing (see Found).
	Found Found `json:"-"`
}
