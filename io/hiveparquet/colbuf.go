package hiveparquet

import (
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Column buffers: a parser's fast path to Arrow columns.
//
// A parser appends a few hundred values per line, and the generic Arrow
// builders cost a reserve check, an indirect call and a bitmap update per
// value (about a third of the Didomi parser's time). These buffers are
// plain Go slices; Finish wraps them, without copying, into Arrow array
// data of the same types, values, validity and layout as the builders make.
// The slices then belong to the arrays; the first value of the next chunk
// allocates new ones, sized like the last ones (the next chunk is likely the
// same size), so a parser that has seen its last chunk allocates nothing
// more. The zero value of every buffer is empty and ready to use; a buffer
// serves one goroutine.
//
// A struct column is its fields' buffers plus a Validity (StructData); a
// null struct adds a null to every field too, as Arrow's StructBuilder does.
// RecordFromData makes a record of the finished columns.

// capFor is the capacity of a new slice for a chunk like one that needed n.
func capFor(n int) int { return n + n/8 }

// Validity is the validity of a column's values (or of a struct column).
// Most values of most columns are valid, so it counts values and notes the
// positions of the nulls; the bitmap is made when the column is finished.
type Validity struct {
	n     int
	nulls []int32 // positions of the null values
}

// Add adds the validity of the next value: ok false for a null.
func (v *Validity) Add(ok bool) {
	if !ok {
		v.nulls = append(v.nulls, int32(v.n))
	}
	v.n++
}

// Len is the number of values added since the column was last finished.
func (v *Validity) Len() int { return v.n }

// finish returns the validity bitmap (bit set: valid) and starts anew.
func (v *Validity) finish() (buf *memory.Buffer, n, nulls int) {
	bits := make([]byte, (v.n+7)/8)
	for i := range bits {
		bits[i] = 0xff
	}
	for _, i := range v.nulls {
		bits[i>>3] &^= 1 << uint(i&7)
	}
	n, nulls = v.n, len(v.nulls)
	v.n, v.nulls = 0, v.nulls[:0]
	return memory.NewBufferBytes(bits), n, nulls
}

// bitmap is a column of booleans, as the bitmap Arrow stores them in.
type bitmap struct {
	bits []byte
	n    int
	hint int // capacity of the next bits
}

func (b *bitmap) add(x bool) {
	if b.n&7 == 0 {
		if b.bits == nil {
			b.bits = make([]byte, 0, b.hint)
		}
		b.bits = append(b.bits, 0)
	}
	if x {
		b.bits[b.n>>3] |= 1 << uint(b.n&7)
	}
	b.n++
}

// finish returns the bitmap and starts anew.
func (b *bitmap) finish() *memory.Buffer {
	buf := memory.NewBufferBytes(b.bits)
	*b = bitmap{hint: capFor(len(b.bits))}
	return buf
}

// newData makes the array data of a column and releases its children (the
// data retains them).
func newData(t arrow.DataType, n int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.ArrayData {
	d := array.NewData(t, n, bufs, children, nulls, 0)
	for _, c := range children {
		c.Release()
	}
	return d
}

// offsets are the offsets of a variable-size column: 0, then the end of
// each value.
type offsets struct {
	offs []int32
	hint int // capacity of the next offs
}

// next appends the end of a value.
func (o *offsets) next(end int) {
	if o.offs == nil {
		o.offs = append(make([]int32, 0, max(o.hint, 1)), 0)
	}
	o.offs = append(o.offs, int32(end))
}

// last is the end of the last value (0 when there is none).
func (o *offsets) last() int {
	if len(o.offs) == 0 {
		return 0
	}
	return int(o.offs[len(o.offs)-1])
}

// finish returns the offsets as a buffer and starts anew.
func (o *offsets) finish() *memory.Buffer {
	if o.offs == nil {
		o.offs = []int32{0}
	}
	buf := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(o.offs))
	*o = offsets{hint: capFor(len(o.offs))}
	return buf
}

// StringBuf is a string column (arrow.BinaryTypes.String).
type StringBuf struct {
	valid    Validity
	offsets  offsets
	data     []byte
	dataHint int // capacity of the next data
}

// Add adds the string b (which the caller may reuse afterwards).
func (c *StringBuf) Add(b []byte) {
	if c.data == nil {
		c.data = make([]byte, 0, max(c.dataHint, len(b)))
	}
	c.data = append(c.data, b...)
	c.offsets.next(len(c.data))
	c.valid.Add(true)
}

// AddString adds the string s.
func (c *StringBuf) AddString(s string) {
	if c.data == nil {
		c.data = make([]byte, 0, max(c.dataHint, len(s)))
	}
	c.data = append(c.data, s...)
	c.offsets.next(len(c.data))
	c.valid.Add(true)
}

// AddOrNull adds b, or a null when b is nil.
func (c *StringBuf) AddOrNull(b []byte) {
	if b == nil {
		c.Null()
		return
	}
	c.Add(b)
}

// Null adds a null.
func (c *StringBuf) Null() {
	c.offsets.next(len(c.data))
	c.valid.Add(false)
}

// Len is the number of values added since the last Finish.
func (c *StringBuf) Len() int { return c.valid.n }

// Finish returns the values added as array data of type t (a string type)
// and starts anew.
func (c *StringBuf) Finish(t arrow.DataType) arrow.ArrayData {
	offs := c.offsets.finish()
	bits, n, nulls := c.valid.finish()
	d := newData(t, n, []*memory.Buffer{bits, offs, memory.NewBufferBytes(c.data)}, nil, nulls)
	c.data, c.dataHint = nil, capFor(len(c.data))
	return d
}

// FixedBuf is a column of 32- or 64-bit integers (or of types stored as
// such: timestamps, dates).
type FixedBuf[T int32 | int64] struct {
	valid Validity
	vals  []T
	hint  int // capacity of the next vals
}

// Add adds the value x.
func (c *FixedBuf[T]) Add(x T) {
	if c.vals == nil {
		c.vals = make([]T, 0, max(c.hint, 1))
	}
	c.vals = append(c.vals, x)
	c.valid.Add(true)
}

// Null adds a null.
func (c *FixedBuf[T]) Null() {
	if c.vals == nil {
		c.vals = make([]T, 0, max(c.hint, 1))
	}
	c.vals = append(c.vals, 0)
	c.valid.Add(false)
}

// Finish returns the values added as array data of type t (a type of T's
// width) and starts anew.
func (c *FixedBuf[T]) Finish(t arrow.DataType) arrow.ArrayData {
	var raw []byte
	if len(c.vals) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&c.vals[0])), len(c.vals)*int(unsafe.Sizeof(c.vals[0])))
	}
	bits, n, nulls := c.valid.finish()
	d := newData(t, n, []*memory.Buffer{bits, memory.NewBufferBytes(raw)}, nil, nulls)
	c.vals, c.hint = nil, capFor(len(c.vals))
	return d
}

// BoolBuf is a boolean column.
type BoolBuf struct {
	valid Validity
	vals  bitmap
}

// Add adds the value x.
func (c *BoolBuf) Add(x bool) {
	c.vals.add(x)
	c.valid.Add(true)
}

// Null adds a null.
func (c *BoolBuf) Null() {
	c.vals.add(false)
	c.valid.Add(false)
}

// Finish returns the values added as boolean array data and starts anew.
func (c *BoolBuf) Finish() arrow.ArrayData {
	vals := c.vals.finish()
	bits, n, nulls := c.valid.finish()
	return newData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{bits, vals}, nil, nulls)
}

// ListBuf is the offsets and validity of a list (or map) column; its
// elements are in the buffer of its element type, which the caller keeps.
type ListBuf struct {
	valid   Validity
	offsets offsets
}

// Add ends a list whose elements end at element end (the element buffer's
// length once the list's elements are added).
func (c *ListBuf) Add(end int) {
	c.offsets.next(end)
	c.valid.Add(true)
}

// Null adds a null list.
func (c *ListBuf) Null() {
	c.offsets.next(c.offsets.last())
	c.valid.Add(false)
}

// Finish returns the lists added as array data of type t, with elems (the
// finished element buffer) as its elements, and starts anew.
func (c *ListBuf) Finish(t arrow.DataType, elems arrow.ArrayData) arrow.ArrayData {
	offs := c.offsets.finish()
	bits, n, nulls := c.valid.finish()
	return newData(t, n, []*memory.Buffer{bits, offs}, []arrow.ArrayData{elems}, nulls)
}

// StructData makes the data of a struct column of type t from its validity
// and its fields' finished data (in t's field order), and starts v anew.
func StructData(t arrow.DataType, v *Validity, fields ...arrow.ArrayData) arrow.ArrayData {
	bits, n, nulls := v.finish()
	return newData(t, n, []*memory.Buffer{bits}, fields, nulls)
}

// StringListBuf is a list<string> column.
type StringListBuf struct {
	list ListBuf
	elem StringBuf
}

// Elem is the buffer of the elements: add a list's elements to it, then
// call End.
func (c *StringListBuf) Elem() *StringBuf { return &c.elem }

// Null adds a null list.
func (c *StringListBuf) Null() { c.list.Null() }

// End ends a list of the elements added since the last End or Null.
func (c *StringListBuf) End() { c.list.Add(c.elem.valid.n) }

// Finish returns the lists added as array data of type t (a list of
// strings) and starts anew.
func (c *StringListBuf) Finish(t arrow.DataType) arrow.ArrayData {
	return c.list.Finish(t, c.elem.Finish(t.(*arrow.ListType).Elem()))
}

// MapBuf is a map<string, string> column.
type MapBuf struct {
	list        ListBuf
	entries     Validity // every entry is valid
	keys, items StringBuf
}

// Null adds a null map.
func (c *MapBuf) Null() { c.list.Null() }

// Add adds an entry with key key; the caller then adds its item to Items.
func (c *MapBuf) Add(key []byte) { c.keys.Add(key); c.entries.Add(true) }

// Items is the buffer of the entries' items.
func (c *MapBuf) Items() *StringBuf { return &c.items }

// End ends a map of the entries added since the last End or Null.
func (c *MapBuf) End() { c.list.Add(c.keys.valid.n) }

// Finish returns the maps added as array data of type t and starts anew.
func (c *MapBuf) Finish(t *arrow.MapType) arrow.ArrayData {
	entries := StructData(t.Elem(), &c.entries, c.keys.Finish(t.KeyType()), c.items.Finish(t.ItemType()))
	return c.list.Finish(t, entries)
}

// RecordFromData makes a record of schema with rows rows from its columns'
// finished data (in schema order), and releases the data.
func RecordFromData(schema *arrow.Schema, cols []arrow.ArrayData, rows int) arrow.Record {
	arrs := make([]arrow.Array, len(cols))
	for i, d := range cols {
		arrs[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecord(schema, arrs, int64(rows))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}
