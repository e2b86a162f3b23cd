package didomi

import (
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Column buffers of the Didomi tables.
//
// The parser appends a few hundred values per line, and the generic Arrow
// builders cost a reserve check, an indirect call and a bitmap update per
// value: about a third of the parser's time once the second walk of the
// JSON tree was gone (issue 10). These buffers are plain Go slices; a flush
// wraps them, without copying, into Arrow arrays of the same types, values,
// validity and layout as the builders made (the golden rows of
// TestParseGolden were first checked against a builder-based parser with
// array.RecordEqual). The slices then belong to
// the arrays; the first value of the next chunk allocates new ones, sized
// like the last ones (the next chunk is likely the same size), so a parser
// that has seen its last chunk allocates nothing more.

// capFor is the capacity of a new slice for a chunk like one that needed n.
func capFor(n int) int { return n + n/8 }

// validity is the validity of a column's values. Most values of most
// columns are valid, so it counts values and notes the positions of the
// nulls; finish makes the bitmap.
type validity struct {
	n     int
	nulls []int32 // positions of the null values
}

func (v *validity) add(ok bool) {
	if !ok {
		v.nulls = append(v.nulls, int32(v.n))
	}
	v.n++
}

// finish returns the validity bitmap (bit set: valid) and starts anew.
func (v *validity) finish() (buf *memory.Buffer, n, nulls int) {
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

// strCol is a string column.
type strCol struct {
	valid    validity
	offsets  offsets
	data     []byte
	dataHint int // capacity of the next data
}

func (c *strCol) add(b []byte) {
	if c.data == nil {
		c.data = make([]byte, 0, max(c.dataHint, len(b)))
	}
	c.data = append(c.data, b...)
	c.offsets.next(len(c.data))
	c.valid.add(true)
}

func (c *strCol) addString(s string) {
	if c.data == nil {
		c.data = make([]byte, 0, max(c.dataHint, len(s)))
	}
	c.data = append(c.data, s...)
	c.offsets.next(len(c.data))
	c.valid.add(true)
}

// addOrNull adds b, or a null when b is nil.
func (c *strCol) addOrNull(b []byte) {
	if b == nil {
		c.null()
		return
	}
	c.add(b)
}

func (c *strCol) null() {
	c.offsets.next(len(c.data))
	c.valid.add(false)
}

func (c *strCol) finish(t arrow.DataType) arrow.ArrayData {
	offs := c.offsets.finish()
	bits, n, nulls := c.valid.finish()
	d := newData(t, n, []*memory.Buffer{bits, offs, memory.NewBufferBytes(c.data)}, nil, nulls)
	c.data, c.dataHint = nil, capFor(len(c.data))
	return d
}

// fixedCol is a column of 32- or 64-bit integers (or timestamps).
type fixedCol[T int32 | int64] struct {
	valid validity
	vals  []T
	hint  int // capacity of the next vals
}

func (c *fixedCol[T]) add(x T) {
	if c.vals == nil {
		c.vals = make([]T, 0, max(c.hint, 1))
	}
	c.vals = append(c.vals, x)
	c.valid.add(true)
}

func (c *fixedCol[T]) null() {
	if c.vals == nil {
		c.vals = make([]T, 0, max(c.hint, 1))
	}
	c.vals = append(c.vals, 0)
	c.valid.add(false)
}

func (c *fixedCol[T]) finish(t arrow.DataType) arrow.ArrayData {
	var raw []byte
	if len(c.vals) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&c.vals[0])), len(c.vals)*int(unsafe.Sizeof(c.vals[0])))
	}
	bits, n, nulls := c.valid.finish()
	d := newData(t, n, []*memory.Buffer{bits, memory.NewBufferBytes(raw)}, nil, nulls)
	c.vals, c.hint = nil, capFor(len(c.vals))
	return d
}

// boolCol is a boolean column.
type boolCol struct {
	valid validity
	vals  bitmap
}

func (c *boolCol) add(x bool) {
	c.vals.add(x)
	c.valid.add(true)
}

func (c *boolCol) null() {
	c.vals.add(false)
	c.valid.add(false)
}

func (c *boolCol) finish() arrow.ArrayData {
	vals := c.vals.finish()
	bits, n, nulls := c.valid.finish()
	return newData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{bits, vals}, nil, nulls)
}

// listCol is the offsets and validity of a list (or map) column; its
// elements are in the column of its element type.
type listCol struct {
	valid   validity
	offsets offsets
}

// add ends a list whose elements end at element end.
func (c *listCol) add(end int) {
	c.offsets.next(end)
	c.valid.add(true)
}

func (c *listCol) null() {
	c.offsets.next(c.offsets.last())
	c.valid.add(false)
}

func (c *listCol) finish(t arrow.DataType, elems arrow.ArrayData) arrow.ArrayData {
	offs := c.offsets.finish()
	bits, n, nulls := c.valid.finish()
	return newData(t, n, []*memory.Buffer{bits, offs}, []arrow.ArrayData{elems}, nulls)
}

// structData makes the data of a struct column from its validity and its
// fields' data.
func structData(t arrow.DataType, v *validity, fields ...arrow.ArrayData) arrow.ArrayData {
	bits, n, nulls := v.finish()
	return newData(t, n, []*memory.Buffer{bits}, fields, nulls)
}

// strListCol is a list<string> column.
type strListCol struct {
	list listCol
	elem strCol
}

func (c *strListCol) null() { c.list.null() }

// end ends a list of the elements added since the last end or null.
func (c *strListCol) end() { c.list.add(c.elem.valid.n) }

func (c *strListCol) finish(t arrow.DataType) arrow.ArrayData {
	return c.list.finish(t, c.elem.finish(t.(*arrow.ListType).Elem()))
}

// mapCol is a map<string, string> column.
type mapCol struct {
	list        listCol
	entries     validity // every entry is valid
	keys, items strCol
}

func (c *mapCol) null() { c.list.null() }

// add adds an entry with key key; the caller then adds its item to items.
func (c *mapCol) add(key []byte) { c.keys.add(key); c.entries.add(true) }

// end ends a map of the entries added since the last end or null.
func (c *mapCol) end() { c.list.add(c.keys.valid.n) }

func (c *mapCol) finish(t *arrow.MapType) arrow.ArrayData {
	entries := structData(t.Elem(), &c.entries, c.keys.finish(t.KeyType()), c.items.finish(t.ItemType()))
	return c.list.finish(t, entries)
}

// purposeCols are the columns of a purposes element.
type purposeCols struct {
	valid              validity
	id                 strCol
	enabled, enabledLI boolCol
	metadata           strCol
	values             mapCol
	extra              strCol
}

// vendorsCols are the columns of consents.vendors.
type vendorsCols struct {
	valid validity
	lists [4]strListCol // vendorKeys
	extra strCol
}

func (c *vendorsCols) null() {
	c.valid.add(false)
	for i := range c.lists {
		c.lists[i].null()
	}
	c.extra.null()
}

// channelCols are the columns of a channels element.
type channelCols struct {
	valid    validity
	id       strCol
	enabled  boolCol
	metadata strCol
	extra    strCol
}

// consentsCols are the columns of a consents struct (consentsType).
type consentsCols struct {
	valid    validity
	purposes listCol
	purpose  purposeCols
	vendors  vendorsCols
	channels listCol
	channel  channelCols
	tcfcs    strCol
	extra    strCol
}

// null adds a null consents: like StructBuilder.AppendNull, a null in every
// field too.
func (c *consentsCols) null() {
	c.valid.add(false)
	c.purposes.null()
	c.vendors.null()
	c.channels.null()
	c.tcfcs.null()
	c.extra.null()
}

func (c *consentsCols) finish(t arrow.DataType) arrow.ArrayData {
	st := t.(*arrow.StructType)
	purposesT := st.Field(0).Type.(*arrow.ListType)
	purposeT := purposesT.Elem().(*arrow.StructType)
	vendorsT := st.Field(1).Type.(*arrow.StructType)
	channelsT := st.Field(2).Type.(*arrow.ListType)
	channelT := channelsT.Elem().(*arrow.StructType)

	p := &c.purpose
	purpose := structData(purposeT, &p.valid,
		p.id.finish(purposeT.Field(0).Type),
		p.enabled.finish(),
		p.enabledLI.finish(),
		p.metadata.finish(purposeT.Field(3).Type),
		p.values.finish(purposeT.Field(4).Type.(*arrow.MapType)),
		p.extra.finish(purposeT.Field(5).Type))
	v := &c.vendors
	vendors := structData(vendorsT, &v.valid,
		v.lists[0].finish(vendorsT.Field(0).Type),
		v.lists[1].finish(vendorsT.Field(1).Type),
		v.lists[2].finish(vendorsT.Field(2).Type),
		v.lists[3].finish(vendorsT.Field(3).Type),
		v.extra.finish(vendorsT.Field(4).Type))
	ch := &c.channel
	channel := structData(channelT, &ch.valid,
		ch.id.finish(channelT.Field(0).Type),
		ch.enabled.finish(),
		ch.metadata.finish(channelT.Field(2).Type),
		ch.extra.finish(channelT.Field(3).Type))
	return structData(st, &c.valid,
		c.purposes.finish(purposesT, purpose),
		vendors,
		c.channels.finish(channelsT, channel),
		c.tcfcs.finish(st.Field(3).Type),
		c.extra.finish(st.Field(4).Type))
}

// usersCols are the columns of didomi_users (UsersSchema).
type usersCols struct {
	rows                        int
	id, orgID, orgUserID        strCol
	version                     fixedCol[int64]
	createdAt, updatedAt        fixedCol[int64]
	country, lastSeen, metadata strCol
	consents                    consentsCols
	eventCount                  fixedCol[int32]
	extra, sourceFile           strCol
	sourceLine                  fixedCol[int64]
}

// record returns the rows added since the last call as a record of schema.
func (c *usersCols) record(schema *arrow.Schema) arrow.Record {
	ft := func(i int) arrow.DataType { return schema.Field(i).Type }
	cols := []arrow.ArrayData{
		c.id.finish(ft(0)),
		c.orgID.finish(ft(1)),
		c.orgUserID.finish(ft(2)),
		c.version.finish(ft(3)),
		c.createdAt.finish(ft(4)),
		c.updatedAt.finish(ft(5)),
		c.country.finish(ft(6)),
		c.lastSeen.finish(ft(7)),
		c.metadata.finish(ft(8)),
		c.consents.finish(ft(9)),
		c.eventCount.finish(ft(10)),
		c.extra.finish(ft(11)),
		c.sourceFile.finish(ft(12)),
		c.sourceLine.finish(ft(13)),
	}
	rows := c.rows
	c.rows = 0
	return newRecord(schema, cols, rows)
}

// eventUserCols are the columns of didomi_events.user.
type eventUserCols struct {
	valid                                             validity
	id, orgUserID, metadata, country, lastSeen, extra strCol
}

func (c *eventUserCols) null() {
	c.valid.add(false)
	c.id.null()
	c.orgUserID.null()
	c.metadata.null()
	c.country.null()
	c.lastSeen.null()
	c.extra.null()
}

// delegateCols are the columns of didomi_events.delegate.
type delegateCols struct {
	valid                     validity
	id, name, metadata, extra strCol
}

func (c *delegateCols) null() {
	c.valid.add(false)
	c.id.null()
	c.name.null()
	c.metadata.null()
	c.extra.null()
}

// eventsCols are the columns of didomi_events (EventsSchema).
type eventsCols struct {
	rows                         int
	id, userID, orgID            strCol
	createdAt, updatedAt         fixedCol[int64]
	status, regulation, metadata strCol
	user                         eventUserCols
	consents                     consentsCols
	proofs                       strListCol
	delegate                     delegateCols
	extra, sourceFile            strCol
	sourceLine                   fixedCol[int64]
	eventIndex                   fixedCol[int32]
}

// record returns the rows added since the last call as a record of schema.
func (c *eventsCols) record(schema *arrow.Schema) arrow.Record {
	ft := func(i int) arrow.DataType { return schema.Field(i).Type }
	userT := ft(8).(*arrow.StructType)
	delegateT := ft(11).(*arrow.StructType)
	u, d := &c.user, &c.delegate
	cols := []arrow.ArrayData{
		c.id.finish(ft(0)),
		c.userID.finish(ft(1)),
		c.orgID.finish(ft(2)),
		c.createdAt.finish(ft(3)),
		c.updatedAt.finish(ft(4)),
		c.status.finish(ft(5)),
		c.regulation.finish(ft(6)),
		c.metadata.finish(ft(7)),
		structData(userT, &u.valid,
			u.id.finish(userT.Field(0).Type),
			u.orgUserID.finish(userT.Field(1).Type),
			u.metadata.finish(userT.Field(2).Type),
			u.country.finish(userT.Field(3).Type),
			u.lastSeen.finish(userT.Field(4).Type),
			u.extra.finish(userT.Field(5).Type)),
		c.consents.finish(ft(9)),
		c.proofs.finish(ft(10)),
		structData(delegateT, &d.valid,
			d.id.finish(delegateT.Field(0).Type),
			d.name.finish(delegateT.Field(1).Type),
			d.metadata.finish(delegateT.Field(2).Type),
			d.extra.finish(delegateT.Field(3).Type)),
		c.extra.finish(ft(12)),
		c.sourceFile.finish(ft(13)),
		c.sourceLine.finish(ft(14)),
		c.eventIndex.finish(ft(15)),
	}
	rows := c.rows
	c.rows = 0
	return newRecord(schema, cols, rows)
}

// newRecord makes a record of the columns' data (and releases the data).
func newRecord(schema *arrow.Schema, cols []arrow.ArrayData, rows int) arrow.Record {
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
