package run_test

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/pipelines/audiencestudio"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
	"github.com/vendorlake/vendorlake/pipelines/id5"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/commit"
)

var batchType = reflect.TypeOf(hiveparquet.Batch{})

// writerFn is the name of the sink's DoFn (hiveparquet.Write), the only
// transform allowed to consume record batches.
var writerFn = batchType.PkgPath() + ".writeFn"

// graphOptions are the options of a run with every optional branch of the
// graph on (progress counters included).
func graphOptions() run.Options {
	return run.Options{Input: "/vendor/in", Output: "/lake/out", Runner: "prism", RunID: "20260101T000000Z-abcdef",
		MaxRejectRatio: 0.01, MaxAttachmentRejectRatio: 0.01, Progress: io.Discard}
}

// allPipelines returns every pipeline that run.Execute can run, built as
// the command builds them with its default flags (Didomi with proofs), and
// ID5's chained rebuild; their plans hold no discovered State.
func allPipelines(o run.Options) map[string]run.Pipeline {
	ps := map[string]run.Pipeline{}
	for _, p := range []run.Pipeline{
		didomi.Pipeline{Selection: didomi.Selection{Proofs: true}},
		audiencestudio.RequestsPipeline{Selection: audiencestudio.RequestsSelection{SplitBytes: audiencestudio.DefaultSplitBytes}},
		audiencestudio.PortabilityPipeline{},
		id5.Pipeline{SourceGVLID: 1, MaxExtractShrink: id5.DefaultMaxExtractShrink},
	} {
		for p != nil {
			ps[p.Name()] = p
			c, ok := p.(run.Chained)
			if !ok {
				break
			}
			p = c.Then(o)
		}
	}
	return ps
}

// TestBatchesStayInTheirStage builds the Beam graph of every pipeline and
// checks the rule of the sink: a PCollection of record batches is consumed
// only by a hiveparquet.Write step, as its main input, so that it is fused
// with the transform that produced it. A Flatten, (Co)GroupByKey,
// Reshuffle, Combine or side input on batches is a stage boundary on
// portable runners (prism, Flink), where every batch would be encoded and
// held between stages.
func TestBatchesStayInTheirStage(t *testing.T) {
	o := graphOptions()
	for name, p := range allPipelines(o) {
		t.Run(name, func(t *testing.T) {
			pl, s := beam.NewPipelineWithRoot()
			files := []transforms.InputFile{{Path: "/vendor/in/x", Rel: "x", Size: 1}}
			cfg := commit.Config{Pipeline: p.Name(), Runner: o.Runner, Input: o.Input, Output: o.Output, RunID: o.RunID, ExpectedFiles: len(files)}
			if err := run.BuildGraph(s, p, o, cfg, transforms.Plan{Files: files}); err != nil {
				t.Fatal(err)
			}
			edges, _, err := pl.Build()
			if err != nil {
				t.Fatalf("build the graph: %v", err)
			}
			problems, writers := checkBatchEdges(edges)
			for _, pr := range problems {
				t.Error(pr)
			}
			// Didomi with proofs writes the read's batches and the proof
			// check's rows, each with its own write step; ID5's rebuild its
			// base and the base's state.
			want := 1
			if name == didomi.Name || name == id5.CurrentName {
				want = 2
			}
			if writers != want {
				t.Errorf("%d write steps consume record batches, want %d", writers, want)
			}
		})
	}
}

// checkBatchEdges returns a description of every edge that consumes a
// batch-typed PCollection other than as the main input of the sink's
// writer, and the number of writer edges.
func checkBatchEdges(edges []*graph.MultiEdge) (problems []string, writers int) {
	for _, e := range edges {
		for i, in := range e.Input {
			if !holdsBatches(in.From.Type()) {
				continue
			}
			switch {
			case e.Op == graph.ParDo && e.DoFn != nil && e.DoFn.Name() == writerFn && i == 0 && in.Kind == graph.Main:
				writers++
			default:
				kind := string(e.Op)
				if in.Kind != graph.Main {
					kind = fmt.Sprintf("%s side input (%s)", e.Op, in.Kind)
				}
				problems = append(problems, fmt.Sprintf("%s %q in scope %s consumes batches (%v): only %s may, as its main input",
					kind, e.Name(), scopePath(e.Scope()), in.From.Type(), writerFn))
			}
		}
	}
	return problems, writers
}

// holdsBatches reports whether elements of type t contain a hiveparquet.Batch
// (itself, in a KV or CoGBK, or inside a slice, map, pointer or struct).
func holdsBatches(t typex.FullType) bool {
	if containsType(t.Type(), batchType, map[reflect.Type]bool{}) {
		return true
	}
	for _, c := range t.Components() {
		if holdsBatches(c) {
			return true
		}
	}
	return false
}

func containsType(t, want reflect.Type, seen map[reflect.Type]bool) bool {
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	if t == want {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		return containsType(t.Elem(), want, seen)
	case reflect.Map:
		return containsType(t.Key(), want, seen) || containsType(t.Elem(), want, seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if containsType(t.Field(i).Type, want, seen) {
				return true
			}
		}
	}
	return false
}

func scopePath(s *graph.Scope) string {
	var labels []string
	for ; s != nil; s = s.Parent {
		if s.Label != "" {
			labels = append([]string{s.Label}, labels...)
		}
	}
	return strings.Join(labels, "/")
}

// TestCheckBatchEdges checks the checker on graphs with a known answer: a
// Flatten, a GroupByKey and a side input on batches are reported; a batch
// PCollection written directly, and Flattens of FileDescs, are not.
func TestCheckBatchEdges(t *testing.T) {
	o := graphOptions()
	batches := func(s beam.Scope) beam.PCollection {
		return beam.ParDo(s, func(_ []byte, emit func(hiveparquet.Batch)) {}, beam.Impulse(s))
	}
	write := func(s beam.Scope, b beam.PCollection) beam.PCollection {
		return hiveparquet.Write(s, nil, o.Output, "p", o.RunID, o.FS, o.Write, b)
	}
	tests := []struct {
		name  string
		build func(s beam.Scope)
		want  []string // substrings of the problems, in order
	}{
		{"two writes, descriptors flattened", func(s beam.Scope) {
			beam.Flatten(s, write(s, batches(s)), write(s, batches(s)))
		}, nil},
		{"flatten before the write", func(s beam.Scope) {
			write(s, beam.Flatten(s, batches(s), batches(s)))
		}, []string{"Flatten", "Flatten"}},
		{"group by key", func(s beam.Scope) {
			write(s, batches(s))
			beam.GroupByKey(s, beam.AddFixedKey(s, batches(s)))
		}, []string{"ParDo", "CoGBK"}},
		{"side input", func(s beam.Scope) {
			b := batches(s)
			write(s, b)
			beam.ParDo0(s, func(_ []byte, _ func(*hiveparquet.Batch) bool) {}, beam.Impulse(s), beam.SideInput{Input: b})
		}, []string{"side input (Iter)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, s := beam.NewPipelineWithRoot()
			tc.build(s)
			edges, _, err := pl.Build()
			if err != nil {
				t.Fatal(err)
			}
			problems, _ := checkBatchEdges(edges)
			if len(problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d matching %q", problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, problems[i], w)
				}
			}
		})
	}
}
