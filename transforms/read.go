package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
)

func init() {
	register.DoFn4x1[context.Context, InputFile, func(hiveparquet.Batch), func(FileStats), error](&readFn{})
	register.Emitter1[hiveparquet.Batch]()
	register.Emitter1[FileStats]()
}

// FileReader reads one planned input file into record batches and returns
// its counters: the part of a read step that is a vendor's (the format,
// the parser, the file's warnings). An I/O or decompression error fails the
// file, with its name; the read step then emits the counters of an
// unreadable file for a decompression or format error (Unreadable), and
// fails the run for any other.
type FileReader interface {
	ReadFile(ctx context.Context, in lakefs.FS, f InputFile, lines LineOptions, emit func(hiveparquet.Batch)) (FileStats, error)
}

// FileReaderFunc adapts a function to FileReader.
type FileReaderFunc func(ctx context.Context, in lakefs.FS, f InputFile, lines LineOptions, emit func(hiveparquet.Batch)) (FileStats, error)

// ReadFile implements FileReader.
func (r FileReaderFunc) ReadFile(ctx context.Context, in lakefs.FS, f InputFile, lines LineOptions, emit func(hiveparquet.Batch)) (FileStats, error) {
	return r(ctx, in, f, lines, emit)
}

// NewFileReader builds a vendor's FileReader on a worker, at the read
// DoFn's Setup, from the configuration the pipeline passed to Read (JSON,
// "null" when none) and the run's store options (to open stores of its
// own, such as the lake).
type NewFileReader func(ctx context.Context, config []byte, fs lakefs.Options) (FileReader, error)

var (
	readersMu sync.RWMutex
	readers   = map[string]NewFileReader{}
)

// RegisterReader registers a vendor's reader under name (the pipeline's
// name, by convention). Call it from an init func of the vendor's package,
// beside its Beam registrations: the read DoFn carries only the name and
// looks the reader up at Setup, so every worker (the same binary) has it.
// A second registration under a name replaces the first.
func RegisterReader(name string, newReader NewFileReader) {
	readersMu.Lock()
	defer readersMu.Unlock()
	readers[name] = newReader
}

func lookupReader(name string) (NewFileReader, bool) {
	readersMu.RLock()
	defer readersMu.RUnlock()
	r, ok := readers[name]
	return r, ok
}

// Read adds the read step of a pipeline: one DoFn that opens the input
// store once per worker and hands each planned file of files (a
// PCollection<InputFile>) to the reader registered under name, built from
// config (any JSON-encodable value, decoded by the reader). It returns the
// record batches (PCollection<hiveparquet.Batch>, for a write step in the
// same stage: see run.Outputs) and one FileStats per file.
func Read(s beam.Scope, name string, config any, files beam.PCollection, input string, fsOpts lakefs.Options, lines LineOptions) (batches, stats beam.PCollection) {
	s = s.Scope("transforms.Read")
	if _, ok := lookupReader(name); !ok {
		panic(fmt.Sprintf("transforms.Read: no reader registered as %q (transforms.RegisterReader)", name))
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		panic(fmt.Sprintf("transforms.Read: the configuration of reader %q: %v", name, err))
	}
	return beam.ParDo2(s, &readFn{Reader: name, Config: string(cfg), Input: input, FS: fsOpts, Lines: lines}, files)
}

// readFn is the read DoFn of every pipeline. Only the reader's name and
// configuration travel with it (a portable runner serialises the DoFn);
// the reader itself is built at Setup.
type readFn struct {
	Reader string         `json:"reader"`
	Config string         `json:"config"`
	Input  string         `json:"input"`
	FS     lakefs.Options `json:"fs"`
	Lines  LineOptions    `json:"lines"`

	fs lakefs.FS
	r  FileReader
}

func (fn *readFn) Setup(ctx context.Context) error {
	newReader, ok := lookupReader(fn.Reader)
	if !ok {
		return fmt.Errorf("read: no reader registered as %q in this worker", fn.Reader)
	}
	var err error
	if fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS); err != nil {
		return err
	}
	if fn.r, err = newReader(ctx, []byte(fn.Config), fn.FS); err != nil {
		return fmt.Errorf("read: reader %q: %w", fn.Reader, err)
	}
	return nil
}

func (fn *readFn) ProcessElement(ctx context.Context, f InputFile, emit func(hiveparquet.Batch), emitStats func(FileStats)) error {
	st, err := fn.r.ReadFile(ctx, fn.fs, f, fn.Lines, emit)
	if ue := Unreadable(f, err); ue != nil {
		// Not the run's failure: the commit holds back the file's unit.
		emitStats(UnreadableStats(f, ue))
		return nil
	}
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}
