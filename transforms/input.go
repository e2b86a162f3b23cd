// Package transforms holds vendorlake's reusable pipeline pieces: the
// parallel parse-and-validate engine with dead letters, per-file counters,
// and the commit step that publishes a run's tables, ledger and report.
package transforms

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// InputFile is one input file selected by a pipeline's discovery step: the
// element that read DoFns take.
type InputFile struct {
	// Path is the full path or URI used to open the file.
	Path string `json:"path"`
	// Rel is the path relative to the input root; rows carry it as
	// source_file so that tables do not depend on where the input was read.
	Rel string `json:"rel"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// ModTime is the modification time in Unix microseconds.
	ModTime int64 `json:"mtime_us"`
	// ETag is the object store's entity tag, when there is one.
	ETag string `json:"etag,omitempty"`
	// Partition is the escaped Hive partition path that the file's rows go to.
	Partition string `json:"partition"`
	// Unit is the ledger unit the file belongs to.
	Unit string `json:"unit"`
	// Source is the input identity that idempotent-append tables derive
	// file names from; empty for pipelines that overwrite whole partitions.
	Source string `json:"source,omitempty"`
	// SplitStart and SplitEnd, when SplitEnd > 0, restrict the read to one
	// split of a splittable file (compressed byte range [SplitStart,
	// SplitEnd), e.g. lzop blocks located by the file's index).
	SplitStart int64 `json:"split_start,omitempty"`
	SplitEnd   int64 `json:"split_end,omitempty"`
	// Parts, when set, are the numbered parts of a split archive that this
	// element stands for (Path and Rel then name the archive: its prefix).
	Parts []FilePart `json:"parts,omitempty"`
}

// Origin is f as the line engine names it in rejects rows.
func (f InputFile) Origin() lineparse.Origin {
	return lineparse.Origin{Rel: f.Rel, Partition: f.Partition, Source: f.Source}
}

// FilePart is one part of a split input (see InputFile.Parts).
type FilePart struct {
	Path string `json:"path"`
	Rel  string `json:"rel"`
	Size int64  `json:"size"`
}

// LedgerInput returns the ledger identity of f.
func (f InputFile) LedgerInput() ledger.Input {
	return ledger.Input{Rel: f.Rel, Size: f.Size, ModTime: f.ModTime, ETag: f.ETag}
}

// FileStats are the counters of one input file and what its read found
// (an error, an unreadable content, raw files, replace checks). For every
// file RecordsIn == RecordsOut + Rejected holds; ReadFile checks it.
type FileStats struct {
	Rel       string `json:"rel"`
	Unit      string `json:"unit"`
	Partition string `json:"partition"`
	// Compression is the detected format (plain, gzip, lzop).
	Compression string `json:"compression"`
	// Bytes is the stored (compressed) size; DecompressedBytes what was read.
	Bytes             int64 `json:"bytes"`
	DecompressedBytes int64 `json:"decompressed_bytes"`
	// Counts are the file's record counters.
	lineparse.Counts
	// Error is set when the file was rejected whole (for example a header
	// that cannot be parsed); the run goes on without it.
	Error string `json:"error,omitempty"`
	// Unreadable is set when the file could not be read to its end because
	// its content does not decompress or decode (see UnreadableError): the
	// commit holds back its unit, or, for an attachment input, the
	// attachment tables of its partition. Its counters are then zero.
	Unreadable string `json:"unreadable,omitempty"`
	// Source is the file's InputFile.Source (tables that append per input).
	Source string `json:"source,omitempty"`
	// Files are raw files (tables in hiveparquet.Files mode) that reading
	// this input wrote into the run's temporary area; the commit publishes
	// them with the Parquet files. They are not kept in the run report.
	Files []hiveparquet.FileDesc `json:"files,omitempty"`
	// AttachmentKind is set on an input that carries attachments of the
	// records rather than records (Didomi's proof archives: "proofs"). Its
	// entries and rejects count against commit.Config.MaxAttachmentRejectRatio,
	// per partition, not against the records' bound; over it, the commit
	// holds back AttachmentTables of its partition (their previous contents
	// stay) and commits the rest.
	AttachmentKind   string   `json:"attachment_kind,omitempty"`
	AttachmentTables []string `json:"attachment_tables,omitempty"`
	// Replaces compares, for every key of a table that this input replaces
	// whole (an ID5 full extract replaces its partner's mapping), what the
	// lake holds with what the input brings. A check with Refused set
	// stops the commit: nothing of the run is committed.
	Replaces []ReplaceCheck `json:"replaces,omitempty"`
}

// ReplaceCheck is what an input that replaces a whole key of a table brings,
// against what the lake holds for that key before the run.
type ReplaceCheck struct {
	// Table and Key name what is replaced, e.g. id5_mapping_current and
	// partner_gvlid=20.
	Table string `json:"table"`
	Key   string `json:"key"`
	// Before counts the lake's keys now; After the valid rows the input
	// brings; Absent the keys of Before that the input does not have.
	Before int64 `json:"before"`
	After  int64 `json:"after"`
	Absent int64 `json:"absent"`
	// Refused, when set, says why the run must not commit.
	Refused string `json:"refused,omitempty"`
}

// The types with slice fields that cross stage boundaries get opaque row
// coders (see RowCoder); the others keep Beam's row coder.
var (
	inputFileCoder = NewRowCoder[InputFile]()
	fileStatsCoder = NewRowCoder[FileStats]()
)

func encodeInputFile(f InputFile) ([]byte, error)  { return inputFileCoder.Encode(f) }
func decodeInputFile(b []byte) (InputFile, error)  { return inputFileCoder.Decode(b) }
func encodeFileStats(st FileStats) ([]byte, error) { return fileStatsCoder.Encode(st) }
func decodeFileStats(b []byte) (FileStats, error)  { return fileStatsCoder.Decode(b) }

func init() {
	beam.RegisterCoder(reflect.TypeOf((*InputFile)(nil)).Elem(), encodeInputFile, decodeInputFile)
	beam.RegisterCoder(reflect.TypeOf((*FileStats)(nil)).Elem(), encodeFileStats, decodeFileStats)
	beam.RegisterType(reflect.TypeOf((*lineparse.Count)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*FilePart)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*ReplaceCheck)(nil)).Elem())
}
