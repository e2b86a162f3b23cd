package didomi

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/splittar"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Reject reason codes of proof archive entries. Their source_line is the
// entry's 0-based index in the archive.
const (
	ReasonProofSymlink   = "proof_symlink"
	ReasonProofHardlink  = "proof_hardlink"
	ReasonProofDevice    = "proof_device"
	ReasonProofNotFile   = "proof_not_regular_file"
	ReasonProofUnsafe    = "proof_unsafe_path"
	ReasonProofBadName   = "proof_bad_name"
	ReasonProofDuplicate = "proof_duplicate"
)

// Proof check problems.
const (
	ProblemMissing = "missing_proof"
	ProblemOrphan  = "orphan_proof"
)

// proofRE is a proof ID as delivered: 64 hex digits in either case and one
// of the documented extensions (plus jpeg), in any case.
var proofRE = regexp.MustCompile(`^[0-9a-fA-F]{64}\.(?i:pdf|png|jpe?g|gif|docx|doc|msg)$`)

// IsProofID reports whether s is a plausible Didomi proof ID: 64 hex digits
// and an extension of the documented ones (pdf, png, jpg, jpeg, gif, docx,
// doc, msg), both in any case.
func IsProofID(s string) bool { return proofRE.MatchString(s) }

// NormalizeProofID is the form proof IDs are stored and compared in: lower
// case. didomi_events.proofs_id keeps the IDs as delivered.
func NormalizeProofID(s string) string { return strings.ToLower(s) }

// ProofObjectPath is where a proof file is published, relative to the output root.
func ProofObjectPath(partition, proofID string) string {
	return ProofFilesTable + "/" + partition + "/" + proofID
}

// HeldProofTables are the tables a partition's proof archive alone fills:
// they are held back together when its entries are rejected beyond
// --max-proof-reject-ratio.
func HeldProofTables() []string { return []string{ProofsTable, ProofFilesTable, ProofCheckTable} }

// WarningProofDirectory counts directory entries of proof archives: skipped,
// not rejected.
const WarningProofDirectory = "proof_directory_skipped"

// proofRowsPerBatch bounds the rows of one didomi_proofs batch.
const proofRowsPerBatch = 4096

// checkEntry decides whether a tar entry is a proof file to keep; it returns
// the proof ID (normalized to lower case), or a reject reason code and text,
// or skip for a directory entry. An entry in a sub-folder (proofs/ID.pdf, as
// tar makes it from a folder) is matched by its base name once its path is
// known to be safe.
func checkEntry(h *tar.Header) (id, code, reason string, skip bool) {
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
	case tar.TypeDir:
		if unsafe := unsafePath(h.Name); unsafe != "" {
			return "", ReasonProofUnsafe, unsafe, false
		}
		return "", "", "", true
	case tar.TypeSymlink:
		return "", ReasonProofSymlink, "symbolic link to " + h.Linkname + ": not followed", false
	case tar.TypeLink:
		return "", ReasonProofHardlink, "hard link to " + h.Linkname + ": not followed", false
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return "", ReasonProofDevice, fmt.Sprintf("device or fifo entry (type %q)", h.Typeflag), false
	default:
		return "", ReasonProofNotFile, fmt.Sprintf("not a regular file (type %q)", h.Typeflag), false
	}
	if unsafe := unsafePath(h.Name); unsafe != "" {
		return "", ReasonProofUnsafe, unsafe, false
	}
	name := path.Base(h.Name)
	if !IsProofID(name) {
		return "", ReasonProofBadName, "entry name is not a proof ID (<64 hex>.<pdf|png|jpg|jpeg|gif|docx|doc|msg>)", false
	}
	return NormalizeProofID(name), "", "", false
}

// unsafePath returns why a tar entry name is unsafe (absolute, backslash,
// a .. segment), or "".
func unsafePath(name string) string {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "absolute path"
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "path with .."
		}
	}
	return ""
}

// proofIndex is one proof found in an archive, as the reference check sees it.
type proofIndex struct {
	ProofID string `json:"proof_id"`
}

// proofRef is one proof reference of an event.
type proofRef struct {
	EventID string `json:"event_id"`
	UserID  string `json:"user_id"`
}

// checkRow is one problem of the reference check.
type checkRow struct {
	Problem string `json:"problem"`
	ProofID string `json:"proof_id"`
	EventID string `json:"event_id"`
	UserID  string `json:"user_id"`
	Orphan  bool   `json:"orphan"`
}

// ReadProofs reads the split proof archive f (f.Parts): it copies every
// proof file, streamed, into the run's temporary area (as raw files of
// didomi_proof_files, returned in the stats' Files), emits the didomi_proofs
// index and the rejects as batches, and calls found for each proof kept.
// A broken archive (truncated, corrupt gzip or tar) fails with an error
// naming the archive and the part (a format error: transforms.Unreadable),
// having emitted no reject.
func ReadProofs(ctx context.Context, in, out lakefs.FS, output, runID string, f transforms.InputFile, rawBytes int,
	emit func(hiveparquet.Batch), found func(proofID string)) (transforms.FileStats, error) {
	st := transforms.FileStats{Rel: f.Rel, Unit: f.Unit, Partition: f.Partition, Compression: "gzip+tar", Bytes: f.Size,
		AttachmentKind: "proofs", AttachmentTables: HeldProofTables()}
	parts := make([]splittar.Part, len(f.Parts))
	for i, p := range f.Parts {
		parts[i] = splittar.Part{Path: p.Path, Rel: p.Rel, Size: p.Size}
	}
	r := splittar.NewReader(ctx, in.Open, f.Rel, parts)
	defer r.Close()
	rej := lineparse.NewRejects(Rejects(), f.Partition, "", f.Rel, rawBytes)
	defer rej.Release()
	b := array.NewRecordBuilder(memory.DefaultAllocator, ProofsSchema())
	defer b.Release()
	// The rejects go to the partition's didomi_rejects, with its users'
	// rejects: they are emitted at the end only, so that an archive that
	// turns out unreadable leaves none there (the commit holds back its
	// proof tables, not the rejects table).
	flush := func() {
		if b.Field(0).Len() > 0 {
			emit(hiveparquet.Batch{Table: ProofsTable, Partition: f.Partition, Record: b.NewRecord()})
		}
	}
	// Proof files are closed in the background, a bounded number at once
	// (lakefs.SmallWritesAtOnce). Closing a file makes it durable (an fsync
	// on local disk), which takes milliseconds; with several under way the
	// file system commits them together (ext4 batches concurrent fsyncs)
	// instead of the archive's reader waiting for each in turn. Every file
	// is closed before ReadProofs returns, error or not, so none is
	// reported or left being written.
	var closers errgroup.Group
	closers.SetLimit(max(lakefs.SmallWritesAtOnce(output), 1))
	defer closers.Wait()
	seen := map[string]bool{}
	tmp := lakefs.Join(lakestate.TempDir(output, Name, runID), ProofFilesTable, f.Partition)
	buf := make([]byte, 256<<10)
	var dirs int64
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		h := e.Header
		id, code, reason, skip := checkEntry(h)
		if skip {
			dirs++
			continue
		}
		st.RecordsIn++
		if code == "" && seen[id] {
			code, reason = ReasonProofDuplicate, "proof ID already in the archive: the first copy is kept"
		}
		if code != "" {
			raw := h.Name
			if h.Linkname != "" {
				raw += " -> " + h.Linkname
			}
			rej.Add(int64(e.Index), code, reason, []byte(raw))
			continue
		}
		seen[id] = true
		sum, sniff, n, err := copyProof(ctx, out, lakefs.Join(tmp, id), r, buf, &closers, fmt.Sprintf("archive %s: entry %s", f.Rel, h.Name))
		if err != nil {
			return st, fmt.Errorf("archive %s: entry %s: %w", f.Rel, h.Name, err)
		}
		st.RecordsOut++
		st.Files = append(st.Files, hiveparquet.FileDesc{Table: ProofFilesTable, Partition: f.Partition,
			TempPath: lakefs.Join(tmp, id), Bytes: n, Name: id})
		b.Field(0).(*array.StringBuilder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(h.Name)
		b.Field(2).(*array.Int64Builder).Append(n)
		b.Field(3).(*array.StringBuilder).Append(sum)
		b.Field(4).(*array.StringBuilder).Append(sniff)
		if h.ModTime.IsZero() {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(h.ModTime.UTC().UnixMicro()))
		}
		b.Field(6).(*array.StringBuilder).Append(ProofObjectPath(f.Partition, id))
		b.Field(7).(*array.StringBuilder).Append(f.Rel)
		b.Field(8).(*array.StringBuilder).Append(path.Clean(f.Parts[e.Part].Rel))
		b.Field(9).(*array.Int64Builder).Append(e.Offset)
		found(id)
		if b.Field(0).Len() >= proofRowsPerBatch {
			flush()
		}
	}
	flush()
	if err := closers.Wait(); err != nil {
		return st, err
	}
	rej.Flush(emit)
	st.DecompressedBytes = r.TarBytes()
	st.Rejected = rej.Count()
	st.RejectsByReason = rej.ByReason()
	if dirs > 0 {
		st.Warnings = append(st.Warnings, lineparse.Count{Name: WarningProofDirectory, N: dirs})
	}
	st.Rows = []lineparse.Count{{Name: ProofsTable, N: st.RecordsOut}}
	return st, st.Check()
}

// copyProof streams one entry body into a new file at dst and returns its
// sha256, sniffed content type and size; the file is closed by closers
// (what names it in an error).
func copyProof(ctx context.Context, out lakefs.FS, dst string, r io.Reader, buf []byte, closers *errgroup.Group, what string) (sum, sniff string, n int64, err error) {
	w, err := out.Create(ctx, dst)
	if err != nil {
		return "", "", 0, err
	}
	h := sha256.New()
	var head []byte
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			if len(head) < 512 {
				head = append(head, buf[:min(k, 512-len(head))]...)
			}
			h.Write(buf[:k])
			if _, werr := w.Write(buf[:k]); werr != nil {
				w.Close()
				return "", "", n, werr
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.Close()
			return "", "", n, rerr
		}
	}
	closers.Go(func() error {
		if err := w.Close(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), http.DetectContentType(head), n, nil
}

// joinedProofArchive is the name of an unsplit proof archive, and of the
// one Didomi's own instruction (cat proofs.tar.gz.* > proofs.tar.gz) joins
// beside the parts.
const joinedProofArchive = "proofs.tar.gz"

// proofGroups sorts a partition's proof archive files into archives: split
// parts by prefix (their numbers checked), a lone proofs.tar.gz as a
// one-part archive. A proofs.tar.gz beside split parts is their joined copy:
// the parts are read, and it is returned as skipped (a warning in the
// report), never read as a second archive.
func proofGroups(dir string, parts, joined []splittar.Part) ([]splittar.Group, []transforms.Skipped, error) {
	groups, err := splittar.Groups(parts)
	if err != nil {
		return nil, nil, fmt.Errorf("partition %s: %w", dir, err)
	}
	if len(groups) == 0 {
		for _, j := range joined {
			groups = append(groups, splittar.Group{Prefix: j.Rel, Parts: []splittar.Part{j}})
		}
		return groups, nil, nil
	}
	var sum int64
	for _, g := range groups {
		for _, p := range g.Parts {
			sum += p.Size
		}
	}
	var skipped []transforms.Skipped
	for _, j := range joined {
		reason := "joined copy of the proofs.tar.gz.NN parts beside it (Didomi's cat instruction run in place): the parts are read, this file is ignored"
		if len(groups) == 1 && j.Size != sum {
			reason += fmt.Sprintf(" (its %d bytes differ from the parts' %d: a partial or stale join)", j.Size, sum)
		}
		skipped = append(skipped, transforms.Skipped{What: j.Rel, Reason: reason})
	}
	return groups, skipped, nil
}
