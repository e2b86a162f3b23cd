package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/reflectx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
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
	ReadFile(ctx context.Context, in lakefs.FS, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error)
}

// FileReaderFunc adapts a function to FileReader.
type FileReaderFunc func(ctx context.Context, in lakefs.FS, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error)

// ReadFile implements FileReader.
func (r FileReaderFunc) ReadFile(ctx context.Context, in lakefs.FS, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
	return r(ctx, in, f, lines, emit)
}

// NewFileReader builds a vendor's FileReader on a worker, at the read
// DoFn's Setup, from the configuration the pipeline passed to Read (JSON,
// "null" when none) and the run's store options (to open stores of its
// own, such as the lake).
type NewFileReader func(ctx context.Context, config []byte, fs lakefs.Options) (FileReader, error)

// Read adds the read step of a pipeline: one DoFn that opens the input
// store once per worker and hands each planned file of files (a
// PCollection<InputFile>) to the reader that newReader builds from config
// (any JSON-encodable value, decoded by the reader). It returns the record
// batches (PCollection<hiveparquet.Batch>, for a write step in the same
// stage: see run.Outputs) and one FileStats per file.
//
// newReader travels to the workers by its name, as Beam sends functions:
// it must be a top-level function, registered with Beam in the vendor's
// init beside its DoFns (beam.RegisterFunction), so that every worker (the
// same binary) finds it; Beam's symbol table finds an unregistered one,
// slower. A function literal panics here, when the graph is built, not on
// a worker.
func Read(s beam.Scope, newReader NewFileReader, config any, files beam.PCollection, input string, fsOpts lakefs.Options, lines lineparse.Options) (batches, stats beam.PCollection) {
	s = s.Scope("transforms.Read")
	if newReader == nil {
		panic("transforms.Read: no reader")
	}
	fn := (func(context.Context, []byte, lakefs.Options) (FileReader, error))(newReader)
	name := reflectx.FunctionName(fn)
	if isFuncLiteral(name) {
		panic(fmt.Sprintf("transforms.Read: the reader %s is a function literal: workers find a reader by its name, so it must be a top-level function", name))
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		panic(fmt.Sprintf("transforms.Read: the configuration of reader %s: %v", name, err))
	}
	return beam.ParDo2(s, &readFn{Reader: name, Config: string(cfg), Input: input, FS: fsOpts, Lines: lines}, files)
}

// isFuncLiteral reports whether the function name is a literal's (Go
// names them "pkg.outer.func1", "pkg.init.func2.1"...).
func isFuncLiteral(name string) bool {
	last := name[strings.LastIndex(name, "/")+1:]
	for _, part := range strings.Split(last, ".") {
		if strings.HasPrefix(part, "func") && len(part) > 4 && part[4] >= '0' && part[4] <= '9' {
			return true
		}
	}
	return false
}

// readFn is the read DoFn of every pipeline. The reader's constructor
// travels by its function name and its configuration as JSON (a portable
// runner serialises the DoFn); the reader itself is built at Setup.
type readFn struct {
	Reader string            `json:"reader"`
	Config string            `json:"config"`
	Input  string            `json:"input"`
	FS     lakefs.Options    `json:"fs"`
	Lines  lineparse.Options `json:"lines"`

	fs    lakefs.FS
	r     FileReader
	ahead *Ahead // when r is a ConcurrentReader
}

func (fn *readFn) Setup(ctx context.Context) error {
	newReader, err := resolveReader(fn.Reader)
	if err != nil {
		return err
	}
	if fn.fs, err = lakefs.New(ctx, fn.Input, fn.FS); err != nil {
		return err
	}
	if fn.r, err = newReader(ctx, []byte(fn.Config), fn.FS); err != nil {
		return fmt.Errorf("read: reader %s: %w", fn.Reader, err)
	}
	if _, ok := fn.r.(ConcurrentReader); ok {
		fn.ahead = &Ahead{}
	}
	return nil
}

// newReaderType is the type of the functions resolveReader returns.
var newReaderType = reflect.TypeOf((func(context.Context, []byte, lakefs.Options) (FileReader, error))(nil))

// resolveReader finds the reader constructor named name in this binary:
// among the functions registered with Beam, else in its symbol table.
func resolveReader(name string) (NewFileReader, error) {
	v, err := runtime.ResolveFunction(name, newReaderType)
	if err != nil {
		return nil, fmt.Errorf("read: no reader %s in this worker: %w", name, err)
	}
	newReader, ok := v.(func(context.Context, []byte, lakefs.Options) (FileReader, error))
	if !ok {
		return nil, fmt.Errorf("read: %s is a %T, not a transforms.NewFileReader", name, v)
	}
	return newReader, nil
}

func (fn *readFn) ProcessElement(ctx context.Context, f InputFile, emit func(hiveparquet.Batch), emitStats func(FileStats)) error {
	if fn.ahead != nil {
		return fn.ahead.Read(ctx, f, fn.Lines, fn.read, emit, FinishRead(emitStats))
	}
	st, err := fn.r.ReadFile(ctx, fn.fs, f, fn.Lines, emit)
	return FinishRead(emitStats)(f, st, err)
}

// FinishBundle delivers the files read ahead.
func (fn *readFn) FinishBundle(emit func(hiveparquet.Batch), emitStats func(FileStats)) error {
	if fn.ahead == nil {
		return nil
	}
	return fn.ahead.Flush(emit, FinishRead(emitStats))
}

func (fn *readFn) read(ctx context.Context, f InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (FileStats, error) {
	return fn.r.ReadFile(ctx, fn.fs, f, lines, emit)
}

// FinishRead is the end of a file's read in a read DoFn: its counters are
// emitted; an unreadable file is not the run's failure (its counters say
// why, and the commit holds back its unit); any other error fails the
// bundle.
func FinishRead(emitStats func(FileStats)) FinishFunc {
	return func(f InputFile, st FileStats, err error) error {
		if ue := Unreadable(f, err); ue != nil {
			emitStats(UnreadableStats(f, ue))
			return nil
		}
		if err != nil {
			return err
		}
		emitStats(st)
		return nil
	}
}
