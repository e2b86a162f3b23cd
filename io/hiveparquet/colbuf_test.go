package hiveparquet

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// bufCase is a column buffer and the Arrow builder of its type.
type bufCase struct {
	name string
	// fill adds value i of a chunk to the buffer and to the builder.
	fill   func(i int)
	finish func() arrow.ArrayData // the buffer's Finish
	build  func() arrow.Array     // the builder's NewArray
}

// TestColumnBuffersMatchBuilders fills each column buffer and the Arrow
// builder of the same type with the same values, nulls included, over
// three chunks (the buffers are made anew after each Finish), and checks
// that the arrays are equal.
func TestColumnBuffersMatchBuilders(t *testing.T) {
	mem := memory.NewGoAllocator()
	strListT := ListOf(arrow.BinaryTypes.String).(*arrow.ListType)
	mapT := arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)
	structT := arrow.StructOf(
		arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})
	var tests []bufCase

	var sb StringBuf
	sbb := array.NewStringBuilder(mem)
	tests = append(tests, bufCase{"string", func(i int) {
		switch i % 4 {
		case 0:
			sb.Add([]byte("abc"))
			sbb.Append("abc")
		case 1:
			sb.Null()
			sbb.AppendNull()
		case 2:
			sb.AddString("é")
			sbb.Append("é")
		default:
			sb.AddOrNull(nil)
			sbb.AppendNull()
			sb.AddOrNull([]byte{})
			sbb.Append("")
		}
	}, func() arrow.ArrayData { return sb.Finish(arrow.BinaryTypes.String) }, func() arrow.Array { return sbb.NewArray() }})

	var i64 FixedBuf[int64]
	i64b := array.NewInt64Builder(mem)
	var i32 FixedBuf[int32]
	i32b := array.NewInt32Builder(mem)
	var bb BoolBuf
	bbb := array.NewBooleanBuilder(mem)
	tests = append(tests,
		bufCase{"int64", func(i int) {
			if i%3 == 1 {
				i64.Null()
				i64b.AppendNull()
				return
			}
			i64.Add(int64(i) << 40)
			i64b.Append(int64(i) << 40)
		}, func() arrow.ArrayData { return i64.Finish(arrow.PrimitiveTypes.Int64) }, func() arrow.Array { return i64b.NewArray() }},
		bufCase{"int32", func(i int) {
			if i%5 == 0 {
				i32.Null()
				i32b.AppendNull()
				return
			}
			i32.Add(int32(-i))
			i32b.Append(int32(-i))
		}, func() arrow.ArrayData { return i32.Finish(arrow.PrimitiveTypes.Int32) }, func() arrow.Array { return i32b.NewArray() }},
		bufCase{"bool", func(i int) {
			if i%7 == 3 {
				bb.Null()
				bbb.AppendNull()
				return
			}
			bb.Add(i%2 == 0)
			bbb.Append(i%2 == 0)
		}, func() arrow.ArrayData { return bb.Finish() }, func() arrow.Array { return bbb.NewArray() }})

	var sl StringListBuf
	slb := array.NewListBuilderWithField(mem, strListT.ElemField())
	slv := slb.ValueBuilder().(*array.StringBuilder)
	var mb MapBuf
	mbb := array.NewMapBuilderWithType(mem, mapT)
	var stv Validity
	var sts StringBuf
	var stb BoolBuf
	stbb := array.NewStructBuilder(mem, structT)
	tests = append(tests,
		bufCase{"list<string>", func(i int) {
			if i%4 == 2 {
				sl.Null()
				slb.AppendNull()
				return
			}
			slb.Append(true)
			for j := 0; j < i%3; j++ {
				if j == 1 {
					sl.Elem().Null()
					slv.AppendNull()
					continue
				}
				sl.Elem().Add([]byte("v"))
				slv.Append("v")
			}
			sl.End()
		}, func() arrow.ArrayData { return sl.Finish(strListT) }, func() arrow.Array { return slb.NewArray() }},
		bufCase{"map<string,string>", func(i int) {
			if i%4 == 1 {
				mb.Null()
				mbb.AppendNull()
				return
			}
			mbb.Append(true)
			for j := 0; j < i%3; j++ {
				mb.Add([]byte{'k', byte('0' + j)})
				mbb.KeyBuilder().(*array.StringBuilder).Append(string([]byte{'k', byte('0' + j)}))
				if j == 1 {
					mb.Items().Null()
					mbb.ItemBuilder().(*array.StringBuilder).AppendNull()
					continue
				}
				mb.Items().Add([]byte("x"))
				mbb.ItemBuilder().(*array.StringBuilder).Append("x")
			}
			mb.End()
		}, func() arrow.ArrayData { return mb.Finish(mapT) }, func() arrow.Array { return mbb.NewArray() }},
		bufCase{"struct", func(i int) {
			if i%3 == 0 {
				// A null struct: a null in every field too, as
				// StructBuilder.AppendNull makes it.
				stv.Add(false)
				sts.Null()
				stb.Null()
				stbb.AppendNull()
				return
			}
			stv.Add(true)
			sts.Add([]byte("s"))
			stb.Add(true)
			stbb.Append(true)
			stbb.FieldBuilder(0).(*array.StringBuilder).Append("s")
			stbb.FieldBuilder(1).(*array.BooleanBuilder).Append(true)
		}, func() arrow.ArrayData {
			return StructData(structT, &stv, sts.Finish(arrow.BinaryTypes.String), stb.Finish())
		}, func() arrow.Array { return stbb.NewArray() }},
	)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for chunk, n := range []int{0, 37, 11} {
				for i := 0; i < n; i++ {
					tt.fill(i)
				}
				d := tt.finish()
				got := array.MakeFromData(d)
				d.Release()
				want := tt.build()
				if !array.Equal(got, want) || got.NullN() != want.NullN() {
					t.Errorf("chunk %d:\n got %v\nwant %v", chunk, got, want)
				}
				got.Release()
				want.Release()
			}
		})
	}
}

// TestRecordFromData checks that a record made of finished buffers has the
// schema, the rows and the columns it was given.
func TestRecordFromData(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{Column("s", arrow.BinaryTypes.String), Column("n", arrow.PrimitiveTypes.Int64)}, nil)
	var s StringBuf
	var n FixedBuf[int64]
	s.AddString("a")
	n.Add(1)
	s.Null()
	n.Null()
	rec := RecordFromData(schema, []arrow.ArrayData{s.Finish(schema.Field(0).Type), n.Finish(schema.Field(1).Type)}, 2)
	defer rec.Release()
	if rec.NumRows() != 2 || !rec.Schema().Equal(schema) {
		t.Fatalf("record %v", rec)
	}
	if got := rec.Column(0).(*array.String).Value(0); got != "a" || !rec.Column(0).IsNull(1) {
		t.Errorf("column s = %v", rec.Column(0))
	}
	if got := rec.Column(1).(*array.Int64).Value(0); got != 1 || !rec.Column(1).IsNull(1) {
		t.Errorf("column n = %v", rec.Column(1))
	}
}
