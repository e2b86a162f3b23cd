package transforms

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestOpaqueCoders checks that the types with slice fields that cross stage
// boundaries have custom coders, which Java runners pass through as bytes,
// rather than Beam's row coder, whose Go encoding of a nil slice Beam 2.56's
// and 2.62's Java Spark and Flink runners cannot decode (java.io.EOFException).
func TestOpaqueCoders(t *testing.T) {
	for _, v := range []any{InputFile{}, FileStats{}} {
		// A row coder prints as R[type], a custom one as its name[type].
		if c := beam.NewCoder(typex.New(reflect.TypeOf(v))).String(); strings.HasPrefix(c, "R[") {
			t.Errorf("%T has the row coder %s, want a custom coder", v, c)
		}
	}
}

func TestRowCoderRoundTrip(t *testing.T) {
	files := []InputFile{
		{},
		{Path: "in/a.gz", Rel: "a.gz", Size: 10, ModTime: -1, Partition: "export_id=x/date=2024-01-01", Unit: "u"},
		{Path: "in/\xff\xfe.tar", Rel: "\xff\xfe.tar", Parts: []FilePart{}},
		{Path: "in/p.tar", Rel: "p.tar", SplitStart: 3, SplitEnd: 9, Parts: []FilePart{{Path: "in/p.tar.00", Rel: "p.tar.00", Size: 1}, {Path: "in/p.tar.01"}}},
	}
	for _, f := range files {
		data, err := encodeInputFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeInputFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %#v: got %#v", f, got)
		}
		// The element decoder that Beam's workers use reads what the
		// element encoder wrote, for the registered coder.
		var buf bytes.Buffer
		if err := beam.NewElementEncoder(reflect.TypeOf(f)).Encode(f, &buf); err != nil {
			t.Fatal(err)
		}
		back, err := beam.NewElementDecoder(reflect.TypeOf(f)).Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, f) {
			t.Errorf("element round trip of %#v: got %#v", f, back)
		}
	}
	st := FileStats{Rel: "a", Counts: lineparse.Counts{Rows: []lineparse.Count{{Name: "t", N: 2}}, RejectsByReason: []lineparse.Count{}}, AttachmentTables: []string{"x"}}
	data, err := encodeFileStats(st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeFileStats(data); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("round trip of %#v: got %#v, %v", st, got, err)
	}
	if _, err := decodeInputFile([]byte{0x0b, 0x02}); err == nil {
		t.Error("decoding a truncated row: no error")
	}
}
