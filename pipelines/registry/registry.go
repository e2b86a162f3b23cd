// Package registry is the list of vendor pipelines the vendorlake command
// knows. Each vendor package declares one Vendor (its name, command words,
// summary, flags, pipeline builder, tables and demo sample) and the command
// registers it with one line; the command line, its help and the README's
// command-line reference, `ddl`, `demo` and the end-to-end tests all read
// the registry, so a new vendor is one package and one line.
package registry

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/run"
)

// Vendor is one pipeline's registration.
type Vendor struct {
	// Name is the pipeline's name: its ledger folder, its run reports'
	// pipeline, and its name in `ddl --pipelines=`. It equals the
	// run.Pipeline's Name.
	Name string
	// Command is the command line's words for it, e.g. {"audiencestudio",
	// "requests"}; nil means {Name}.
	Command []string
	// Summary is its line in `vendorlake help`: what it reads → what it
	// writes.
	Summary string
	// Help is the paragraph of `vendorlake COMMAND -h`.
	Help string
	// Flags returns a fresh value for the pipeline's own flags.
	Flags func() Flags
	// Tables are the Parquet tables it writes (what `ddl` declares).
	Tables func() []hiveparquet.Table
	// Views are the SQL views over its tables that `ddl` declares after
	// them (optional).
	Views func() []hiveparquet.View
	// Sample is its bundled sample, run by `demo` and the end-to-end tests.
	Sample Sample
}

// Flags are a pipeline command's own flags (beyond every pipeline's).
type Flags interface {
	// Register adds the flags to fs.
	Register(fs *flag.FlagSet)
	// Validate checks the parsed values; an error is a usage error (exit 2).
	Validate() error
	// Pipeline returns the pipeline the flags describe; it may set the run
	// options that are the vendor's (Didomi: the proof reject bound).
	Pipeline(o *run.Options) run.Pipeline
}

// Sample is a vendor's bundled sample drop.
type Sample struct {
	// Dir is the sample's input folder below the testdata/ folder.
	Dir string
	// Args are the flags its runs take (e.g. --source-gvlid=35), besides
	// --input, --output and --max-reject-ratio.
	Args []string
}

// CommandLine returns the vendor's command words.
func (v Vendor) CommandLine() []string {
	if len(v.Command) == 0 {
		return []string{v.Name}
	}
	return v.Command
}

var (
	mu      sync.RWMutex
	vendors []Vendor
)

// Register adds vendors, in order (the order of the help and of ddl's
// tables); the command registers every vendor once, at start-up. It
// returns a func that removes them again, for tests that add a vendor of
// their own. It panics on an incomplete registration or a name or command
// already taken: both are programming errors.
func Register(vs ...Vendor) (unregister func()) {
	mu.Lock()
	defer mu.Unlock()
	for _, v := range vs {
		if v.Name == "" || v.Flags == nil || v.Tables == nil || v.Summary == "" {
			panic(fmt.Sprintf("registry: vendor %q lacks a name, summary, flags or tables", v.Name))
		}
		for _, o := range vendors {
			if o.Name == v.Name || slices.Equal(o.CommandLine(), v.CommandLine()) {
				panic(fmt.Sprintf("registry: vendor %q registered twice", v.Name))
			}
		}
		if words := v.CommandLine(); len(words) > 2 || strings.HasPrefix(words[0], "-") {
			panic(fmt.Sprintf("registry: vendor %q: command %q: want one or two words", v.Name, words))
		}
		vendors = append(vendors, v)
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		vendors = slices.DeleteFunc(vendors, func(o Vendor) bool {
			return slices.ContainsFunc(vs, func(v Vendor) bool { return v.Name == o.Name })
		})
	}
}

// All returns the registered vendors in registration order.
func All() []Vendor {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Clone(vendors)
}

// Lookup returns the vendor whose pipeline name is name.
func Lookup(name string) (Vendor, bool) {
	for _, v := range All() {
		if v.Name == name {
			return v, true
		}
	}
	return Vendor{}, false
}

// Choose returns the vendors named in list, comma-separated, in
// registration order: by pipeline name, or by the command line's words
// ("audiencestudio requests" for audiencestudio-requests); "all" names
// every vendor. An unknown name, or a list that names none, is an error
// that lists the names known (the --pipelines flags of ddl and prune).
func Choose(list string) ([]Vendor, error) {
	all := All()
	var names []string
	for _, v := range all {
		names = append(names, v.Name)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.Join(strings.Fields(n), "-")
		switch {
		case n == "":
			continue
		case n == "all":
			return all, nil
		case !slices.Contains(names, n):
			return nil, fmt.Errorf("--pipelines: unknown pipeline %q (want %s or all)", n, strings.Join(names, ", "))
		}
		want[n] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("--pipelines=%q names no pipeline", list)
	}
	var out []Vendor
	for _, v := range all {
		if want[v.Name] {
			out = append(out, v)
		}
	}
	return out, nil
}

// Tables returns the tables of every vendor, in registration order.
func Tables() []hiveparquet.Table {
	var ts []hiveparquet.Table
	for _, v := range All() {
		ts = append(ts, v.Tables()...)
	}
	return ts
}

// Views returns the views of every registered vendor, in order.
func Views() []hiveparquet.View {
	var vs []hiveparquet.View
	for _, v := range All() {
		if v.Views != nil {
			vs = append(vs, v.Views()...)
		}
	}
	return vs
}

// CheckDates checks the --from and --to flags of a pipeline: a real date
// YYYY-MM-DD each, when given, and from not after to. The error names the
// flag, what it holds and the form expected.
func CheckDates(from, to string) error {
	for _, f := range []struct{ flag, date string }{{"--from", from}, {"--to", to}} {
		if f.date == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f.date); err != nil {
			return fmt.Errorf("%s=%s is not a date: want YYYY-MM-DD, a day of the calendar (e.g. 2024-03-01)", f.flag, f.date)
		}
	}
	if from != "" && to != "" && from > to {
		return fmt.Errorf("--from=%s is after --to=%s", from, to)
	}
	return nil
}

// Pipeline parses the vendor's own flags from args (as on its command
// line, e.g. Sample.Args), validates them and returns the pipeline they
// describe; it may set the vendor's run options in o.
func (v Vendor) Pipeline(args []string, o *run.Options) (run.Pipeline, error) {
	f := v.Flags()
	fs := flag.NewFlagSet(v.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected arguments: %v", v.Name, fs.Args())
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	return f.Pipeline(o), nil
}
