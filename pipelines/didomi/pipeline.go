// Package didomi is the Didomi batch export pipeline: users and their
// consent events, exported as Hive-partitioned gzip NDJSON
// (export-id=ID/date=YYYY-MM-DD/users/*.json.gz), become the didomi_users,
// didomi_events and didomi_rejects tables; the split proof archives
// (proofs.tar.gz.NN) become didomi_proof_files, didomi_proofs and, checked
// against the events' proof references, didomi_proof_check.
package didomi

import (
	"context"
	"reflect"
	"strings"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Name is the pipeline's name (subcommand, ledger folder).
const Name = "didomi"

func init() {
	beam.RegisterFunction(newUsersReader)
	register.DoFn7x1[context.Context, transforms.InputFile, func(hiveparquet.Batch), func(transforms.FileStats),
		func(string, proofRef), func(string, proofIndex), func(string, transforms.FileStats), error](&readWithProofsFn{})
	register.DoFn4x0[string, func(*proofRef) bool, func(*proofIndex) bool, func(string, checkRow)](&matchProofsFn{})
	register.DoFn5x1[string, func(*checkRow) bool, func(*transforms.FileStats) bool, func(hiveparquet.Batch), func(transforms.FileStats), error](&writeCheckFn{})
	register.Emitter1[hiveparquet.Batch]()
	register.Emitter1[transforms.FileStats]()
	register.Emitter2[string, proofRef]()
	register.Emitter2[string, proofIndex]()
	register.Emitter2[string, transforms.FileStats]()
	register.Emitter2[string, checkRow]()
	register.Iter1[proofRef]()
	register.Iter1[proofIndex]()
	register.Iter1[checkRow]()
	register.Iter1[transforms.FileStats]()
	for _, t := range []any{proofRef{}, proofIndex{}, checkRow{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}

// Pipeline is the Didomi users, events and proofs pipeline.
type Pipeline struct {
	// Selection narrows the partitions read.
	Selection Selection
}

// Name implements run.Pipeline.
func (Pipeline) Name() string { return Name }

// Tables implements run.Pipeline.
func (Pipeline) Tables() []hiveparquet.Table { return Tables() }

// Discover implements run.Pipeline.
func (p Pipeline) Discover(ctx context.Context, env run.Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	return Discover(ctx, fsys, env.Input, p.Selection, led)
}

// Read implements run.Pipeline: it reads the planned files in parallel
// and returns their batches and FileStats.
//
// With proofs, the read also emits the events' proof references (keyed by
// partition and proof ID) and the archives' proofs; a CoGroupByKey on that
// key finds missing and orphan proofs, and a second one, on the partition,
// turns them into didomi_proof_check rows and adds their counts (warnings
// missing_proof, orphan_proof) to the archive's counters. A partition
// without an archive is not checked. The check's rows are a second batch
// output, written by a write step of their own: flattened with the read's
// batches, every batch would cross a stage boundary (see run.Outputs).
func (p Pipeline) Read(s beam.Scope, env run.Env, _ transforms.Plan, files beam.PCollection) run.Outputs {
	s = s.Scope("didomi.Read")
	if !p.Selection.Proofs {
		batches, stats := transforms.Read(s, newUsersReader, nil, files, env.Input, env.FS, env.Lines)
		return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
	}
	outs := beam.ParDoN(s, &readWithProofsFn{Input: env.Input, FS: env.FS, Lines: env.Lines, Output: env.Output, RunID: env.RunID}, files)
	batches, stats, refs, index, archives := outs[0], outs[1], outs[2], outs[3], outs[4]
	cs := s.Scope("didomi.CheckProofs")
	problems := beam.ParDo(cs, &matchProofsFn{}, beam.CoGroupByKey(cs, refs, index))
	checkOuts := beam.ParDoN(cs, &writeCheckFn{}, beam.CoGroupByKey(cs, problems, archives))
	return run.Outputs{Batches: []beam.PCollection{batches, checkOuts[0]}, Stats: beam.Flatten(s, stats, checkOuts[1])}
}

// usersReader is the read step of users files (the pipeline's registered
// transforms.FileReader). Its parsers pass their column buffers on from
// file to file (colsCache).
// newUsersReader builds the reader of the users files on a worker.
func newUsersReader(context.Context, []byte, lakefs.Options) (transforms.FileReader, error) {
	return &usersReader{}, nil
}

type usersReader struct {
	cols colsCache
}

// ReadsConcurrently implements transforms.ConcurrentReader: ReadFile only
// shares the column cache, which is safe for concurrent use.
func (r *usersReader) ReadsConcurrently() {}

// ReadFile implements transforms.FileReader.
func (r *usersReader) ReadFile(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	return transforms.ReadLines(ctx, fsys, f, Rejects(), lines, nil,
		func() lineparse.Parser { return newCachedParser(f.Rel, f.Partition, &r.cols) }, emit)
}

// readWithProofsFn reads users files (emitting the events' proof
// references as a side output) and proof archives. It is the one read step
// that is not transforms.Read: the proof check needs three more outputs
// (references, archive index, archive counters), taken from the batches in
// the same stage since batches never cross one; its users files go through
// the same reader (usersReader).
type readWithProofsFn struct {
	Input  string            `json:"input"`
	FS     lakefs.Options    `json:"fs"`
	Lines  lineparse.Options `json:"lines"`
	Output string            `json:"output"`
	RunID  string            `json:"run_id"`

	fs  lakefs.FS
	out lakefs.FS
	// archived caches, per partition folder, whether it holds a proof
	// archive: only those partitions are checked, so only their events'
	// references are emitted (and grouped).
	archived map[string]bool
	// checked holds, per partition of a users file read, whether it is
	// checked: its events' proof references are emitted.
	checked map[string]bool
	users   usersReader
	ahead   transforms.Ahead // the small users files
}

func (fn *readWithProofsFn) Setup(ctx context.Context) error {
	var err error
	if fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS); err != nil {
		return err
	}
	fn.out, err = lakefs.New(ctx, fn.Output, fn.FS)
	return err
}

func (fn *readWithProofsFn) ProcessElement(ctx context.Context, f transforms.InputFile, emit func(hiveparquet.Batch), emitStats func(transforms.FileStats),
	emitRef func(string, proofRef), emitIndex func(string, proofIndex), emitArchive func(string, transforms.FileStats)) error {
	if len(f.Parts) > 0 {
		// The users files read ahead first: the output keeps the input's
		// order.
		if err := fn.ahead.Flush(fn.emitUsers(emit, emitRef), transforms.FinishRead(emitStats)); err != nil {
			return err
		}
		st, err := ReadProofs(ctx, fn.fs, fn.out, fn.Output, fn.RunID, f, fn.Lines.RawBytes, emit, func(id string) {
			emitIndex(proofKey(f.Partition, id), proofIndex{ProofID: id})
		})
		if ue := transforms.Unreadable(f, err); ue != nil {
			// The commit holds back the partition's proof tables (what the
			// archive gave up to its error included), not its records.
			u := transforms.UnreadableStats(f, ue)
			u.Compression, u.AttachmentKind, u.AttachmentTables = st.Compression, st.AttachmentKind, st.AttachmentTables
			emitArchive(f.Partition, u)
			return nil
		}
		if err != nil {
			return err
		}
		emitArchive(f.Partition, st)
		return nil
	}
	// Whether the file's partition is checked is known before its read
	// (the cache is the DoFn's); its proof references are emitted when
	// its batches are delivered.
	check, err := fn.hasArchive(ctx, f)
	if err != nil {
		return err
	}
	if fn.checked == nil {
		fn.checked = map[string]bool{}
	}
	fn.checked[f.Partition] = check
	return fn.ahead.Read(ctx, f, fn.Lines, fn.readUsers, fn.emitUsers(emit, emitRef), transforms.FinishRead(emitStats))
}

// FinishBundle delivers the users files read ahead.
func (fn *readWithProofsFn) FinishBundle(emit func(hiveparquet.Batch), emitStats func(transforms.FileStats),
	emitRef func(string, proofRef), _ func(string, proofIndex), _ func(string, transforms.FileStats)) error {
	return fn.ahead.Flush(fn.emitUsers(emit, emitRef), transforms.FinishRead(emitStats))
}

func (fn *readWithProofsFn) readUsers(ctx context.Context, f transforms.InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
	return fn.users.ReadFile(ctx, fn.fs, f, lines, emit)
}

// emitUsers emits a batch of a users file, and first the proof references
// of its events when its partition is checked.
func (fn *readWithProofsFn) emitUsers(emit func(hiveparquet.Batch), emitRef func(string, proofRef)) func(hiveparquet.Batch) {
	return func(b hiveparquet.Batch) {
		if b.Table == EventsTable && fn.checked[b.Partition] {
			emitProofRefs(b, emitRef) // before emit: the receiver releases the record
		}
		emit(b)
	}
}

// hasArchive reports whether the partition of users file f holds a proof
// archive (proofs.tar.gz.NN or proofs.tar.gz in the partition folder or in
// proofs/).
func (fn *readWithProofsFn) hasArchive(ctx context.Context, f transforms.InputFile) (bool, error) {
	dir, _, _, _, ok := splitPartition(f.Rel)
	if !ok {
		return false, nil
	}
	if v, ok := fn.archived[dir]; ok {
		return v, nil
	}
	base := strings.TrimSuffix(f.Path, f.Rel)
	files, err := fn.fs.List(ctx, lakefs.Join(base, dir))
	if err != nil {
		return false, err
	}
	found := false
	for _, fi := range files {
		rel, _ := lakefs.Rel(lakefs.Join(base, dir), fi.Path)
		if isProofPart(rel) {
			found = true
			break
		}
	}
	if fn.archived == nil {
		fn.archived = map[string]bool{}
	}
	fn.archived[dir] = found
	return found, nil
}

func proofKey(partition, proofID string) string { return partition + "\x00" + proofID }

// emitProofRefs emits one reference per proof ID of each event of b.
//
// The references' strings are copies: Arrow's String.Value aliases the
// column's buffer, and on the direct runner, whose CoGroupByKey keeps its
// input elements as they are until the read is over, a reference holding
// such a string would pin the whole id and user_id buffers of its batch
// (a few references per batch pinned 600 MB of a 1 GiB drop's 650 MB heap,
// and the garbage collector then fought the memory limit for the rest of
// the run).
func emitProofRefs(b hiveparquet.Batch, emit func(string, proofRef)) {
	rec := b.Record
	ids := rec.Column(0).(*array.String)
	users := rec.Column(1).(*array.String)
	proofs := rec.Column(10).(*array.List)
	vals := proofs.ListValues().(*array.String)
	offs := proofs.Offsets()
	for i := 0; i < int(rec.NumRows()); i++ {
		if proofs.IsNull(i) {
			continue
		}
		ref := proofRef{EventID: strings.Clone(ids.Value(i)), UserID: strings.Clone(users.Value(i))}
		for j := offs[i]; j < offs[i+1]; j++ {
			if vals.IsValid(int(j)) && vals.Value(int(j)) != "" {
				// Proof IDs compare case-insensitively: the archive's are
				// normalized, the events keep theirs as delivered.
				emit(proofKey(b.Partition, NormalizeProofID(vals.Value(int(j)))), ref)
			}
		}
	}
}

// matchProofsFn turns one (partition, proof ID) group into problems: every
// reference without a proof is missing; a proof without a reference is an orphan.
type matchProofsFn struct{}

func (fn *matchProofsFn) ProcessElement(key string, refs func(*proofRef) bool, index func(*proofIndex) bool, emit func(string, checkRow)) {
	partition, id, _ := strings.Cut(key, "\x00")
	var ix proofIndex
	inArchive := index(&ix)
	var r proofRef
	referenced := false
	for refs(&r) {
		referenced = true
		if !inArchive {
			emit(partition, checkRow{Problem: ProblemMissing, ProofID: id, EventID: r.EventID, UserID: r.UserID})
		}
	}
	if inArchive && !referenced {
		emit(partition, checkRow{Problem: ProblemOrphan, ProofID: id, Orphan: true})
	}
}

// writeCheckFn writes the problems of one partition to didomi_proof_check
// and emits the partition's archive counters with the problem counts; a
// partition without an archive is not checked.
type writeCheckFn struct{}

func (fn *writeCheckFn) ProcessElement(partition string, problems func(*checkRow) bool, archives func(*transforms.FileStats) bool,
	emit func(hiveparquet.Batch), emitStats func(transforms.FileStats)) error {
	var stats []transforms.FileStats
	var st transforms.FileStats
	for archives(&st) {
		stats = append(stats, st)
		st = transforms.FileStats{}
	}
	if len(stats) == 0 {
		return nil
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, ProofCheckSchema())
	defer b.Release()
	counts := map[string]int64{}
	var c checkRow
	for problems(&c) {
		counts[c.Problem]++
		b.Field(0).(*array.StringBuilder).Append(c.Problem)
		b.Field(1).(*array.StringBuilder).Append(c.ProofID)
		if c.Orphan {
			b.Field(2).AppendNull()
			b.Field(3).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(c.EventID)
			b.Field(3).(*array.StringBuilder).Append(c.UserID)
		}
		if b.Field(0).Len() >= proofRowsPerBatch {
			emit(hiveparquet.Batch{Table: ProofCheckTable, Partition: partition, Record: b.NewRecord()})
		}
		c = checkRow{}
	}
	if b.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: ProofCheckTable, Partition: partition, Record: b.NewRecord()})
	}
	for _, p := range []string{ProblemMissing, ProblemOrphan} {
		if counts[p] > 0 {
			stats[0].Warnings = append(stats[0].Warnings, lineparse.Count{Name: p, N: counts[p]})
		}
	}
	for _, s := range stats {
		emitStats(s)
	}
	return nil
}
