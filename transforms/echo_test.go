package transforms

import (
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// echoParser keeps every line that does not start with "bad" as a row
// (line number, text) and rejects the others: the smallest lineparse.Parser,
// for the read step's tests.
type echoParser struct {
	b    *array.RecordBuilder
	rows int64
}

var echoSchema = arrow.NewSchema([]arrow.Field{
	{Name: "line", Type: arrow.PrimitiveTypes.Int64},
	{Name: "text", Type: arrow.BinaryTypes.String},
}, nil)

func newEcho() lineparse.Parser {
	return &echoParser{b: array.NewRecordBuilder(memory.DefaultAllocator, echoSchema)}
}

func (p *echoParser) Parse(line []byte, n int64, rej *lineparse.Rejects) bool {
	if strings.HasPrefix(string(line), "bad") {
		rej.Add(n, "bad", "starts with bad", line)
		return false
	}
	p.b.Field(0).(*array.Int64Builder).Append(n)
	p.b.Field(1).(*array.StringBuilder).Append(string(line))
	p.rows++
	return true
}

func (p *echoParser) Flush(emit func(hiveparquet.Batch)) {
	if p.b.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: "echo", Record: p.b.NewRecord()})
	}
}
func (p *echoParser) Rows() []lineparse.Count { return []lineparse.Count{{Name: "echo", N: p.rows}} }
func (p *echoParser) Release()                { p.b.Release() }
