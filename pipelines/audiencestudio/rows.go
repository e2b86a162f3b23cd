package audiencestudio

import (
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// requestParser turns consent request lines into audiencestudio_requests
// rows (lineparse.Parser). Its pos argument is the line's decompressed
// byte offset (see RequestsSchema), not a line number.
//
// The columns are hiveparquet column buffers, not Arrow builders: a request
// line is ten values, and the builders' reserve check, indirect call and
// bitmap update per value were a third of the parser's time.
type requestParser struct {
	file, partition string
	schema          *arrow.Schema // RequestsSchema, made once
	n               int64
	rows            int // rows since the last Flush

	idKind, idType, idValue, action, pr, flagsRaw hiveparquet.StringBuf
	flagsValid                                    hiveparquet.Validity
	flagVals                                      [len(FlagNames)]hiveparquet.FixedBuf[int32]
	at                                            hiveparquet.FixedBuf[int64]
	srcFile                                       hiveparquet.StringBuf
	srcOff                                        hiveparquet.FixedBuf[int64]

	flagBuf [maxFlags]flagOf[[]byte] // parseFlags' result, reused
}

// requestsSchema is the schema of every request parser's batches, made
// once (an *arrow.Schema is immutable; see the Didomi parser's).
var requestsSchema = RequestsSchema()

func newRequestParser(file, partition string) *requestParser {
	return &requestParser{file: file, partition: partition, schema: requestsSchema}
}

// Parse implements lineparse.Parser.
func (p *requestParser) Parse(line []byte, pos int64, rej *lineparse.Rejects) bool {
	r, bad := cutRequestLine(line)
	if bad != nil {
		rej.Add(pos, bad.Code, bad.Reason, line)
		return false
	}
	p.idKind.AddString(r.kind)
	p.idType.Add(r.idType)
	p.idValue.Add(r.idValue)
	p.action.Add(r.action)
	addBytesOrNull(&p.pr, r.pr)
	addBytesOrNull(&p.flagsRaw, r.flags)
	flags, ok := p.flagBuf[:0], false
	if len(r.flags) > 0 {
		flags, ok = parseFlags(r.flags, flags)
	}
	// A null struct has a null in every field, as Arrow's StructBuilder makes it.
	p.flagsValid.Add(ok)
	var vals [len(FlagNames)]int32
	var given [len(FlagNames)]bool
	if ok {
		for _, fl := range flags {
			for i, name := range FlagNames {
				if string(fl.key) == name {
					vals[i], given[i] = fl.val, true
				}
			}
		}
	}
	for i := range p.flagVals {
		if given[i] {
			p.flagVals[i].Add(vals[i])
		} else {
			p.flagVals[i].Null()
		}
	}
	if r.atValid {
		p.at.Add(r.at)
	} else {
		p.at.Null()
	}
	p.srcFile.AddString(p.file)
	p.srcOff.Add(pos)
	p.rows++
	p.n++
	return true
}

// addBytesOrNull adds b, or null when b is empty.
func addBytesOrNull(c *hiveparquet.StringBuf, b []byte) {
	if len(b) > 0 {
		c.Add(b)
	} else {
		c.Null()
	}
}

// Flush implements lineparse.Parser.
func (p *requestParser) Flush(emit func(hiveparquet.Batch)) {
	if p.rows == 0 {
		return
	}
	schema := p.schema
	typ := func(name string) arrow.DataType {
		f, _ := schema.FieldsByName(name)
		return f[0].Type
	}
	flagsT := typ("flags").(*arrow.StructType)
	flagCols := make([]arrow.ArrayData, len(p.flagVals))
	for i := range p.flagVals {
		flagCols[i] = p.flagVals[i].Finish(flagsT.Field(i).Type)
	}
	// In RequestsSchema's order.
	cols := []arrow.ArrayData{
		p.idKind.Finish(typ("id_kind")),
		p.idType.Finish(typ("id_type")),
		p.idValue.Finish(typ("id_value")),
		p.action.Finish(typ("action")),
		p.pr.Finish(typ("policy_regime")),
		p.flagsRaw.Finish(typ("flags_raw")),
		hiveparquet.StructData(flagsT, &p.flagsValid, flagCols...),
		p.at.Finish(typ("requested_at")),
		p.srcFile.Finish(typ("source_file")),
		p.srcOff.Finish(typ("source_offset")),
	}
	rows := p.rows
	p.rows = 0
	emit(hiveparquet.Batch{Table: RequestsTable, Partition: p.partition, Record: hiveparquet.RecordFromData(schema, cols, rows)})
}

// Rows implements lineparse.Parser.
func (p *requestParser) Rows() []lineparse.Count {
	return []lineparse.Count{{Name: RequestsTable, N: p.n}}
}

// Release implements lineparse.Parser. The column buffers are Go
// memory: nothing to release.
func (p *requestParser) Release() {}

// feedFile is what a portability file's path says about its records.
type feedFile struct {
	DataSource string   // {data_source} folder
	BK         BKFolder // {bk} folder(s)
	KUIDFile   string   // {kuid} file name
}

// feedParser turns portability feed records into
// audiencestudio_portability_events rows (lineparse.Parser).
type feedParser struct {
	file, partition string
	meta            feedFile
	jp              fastjson.Parser
	b               *array.RecordBuilder
	n               int64

	ts                                                   *array.TimestampBuilder
	xff, ip, kuid, dnt, ua, ref, host, path, qs, node, v *array.StringBuilder
	extra, bk, bkRaw, kuidPath, kuidFile, srcFile        *array.StringBuilder
	xffChain                                             *array.ListBuilder
	xffItems                                             *array.StringBuilder
	qp, kct                                              *array.MapBuilder
	resp, rt                                             *array.Int32Builder
	newUser                                              *array.BooleanBuilder
	srcLine                                              *array.Int64Builder
}

func newFeedParser(file, partition string, meta feedFile) *feedParser {
	b := array.NewRecordBuilder(memory.DefaultAllocator, PortabilityEventsSchema())
	p := &feedParser{file: file, partition: partition, meta: meta, b: b}
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	p.ts = b.Field(0).(*array.TimestampBuilder)
	p.xff = s(1)
	p.xffChain = b.Field(2).(*array.ListBuilder)
	p.xffItems = p.xffChain.ValueBuilder().(*array.StringBuilder)
	p.ip, p.kuid, p.dnt, p.ua, p.ref, p.host, p.path, p.qs = s(3), s(4), s(5), s(6), s(7), s(8), s(9), s(10)
	p.qp = b.Field(11).(*array.MapBuilder)
	p.resp = b.Field(12).(*array.Int32Builder)
	p.rt = b.Field(13).(*array.Int32Builder)
	p.newUser = b.Field(14).(*array.BooleanBuilder)
	p.node, p.v = s(15), s(16)
	p.kct = b.Field(17).(*array.MapBuilder)
	p.extra, p.bk, p.bkRaw, p.kuidPath, p.kuidFile, p.srcFile = s(18), s(19), s(20), s(21), s(22), s(23)
	p.srcLine = b.Field(24).(*array.Int64Builder)
	return p
}

// Parse implements lineparse.Parser.
func (p *feedParser) Parse(line []byte, lineNo int64, rej *lineparse.Rejects) bool {
	r, bad := ParseFeedRecord(&p.jp, line, p.meta.DataSource)
	if bad != nil {
		rej.Add(lineNo, bad.Code, bad.Reason, line)
		return false
	}
	p.ts.Append(arrowTS(r.TS))
	appendNullString(p.xff, r.XFF)
	if r.XFFChain != nil {
		p.xffChain.Append(true)
		for _, h := range r.XFFChain {
			p.xffItems.Append(h)
		}
	} else {
		p.xffChain.AppendNull()
	}
	appendNullString(p.ip, r.IP)
	appendNullString(p.kuid, r.KUID)
	appendNullString(p.dnt, r.DNT)
	appendNullString(p.ua, r.UserAgent)
	appendNullString(p.ref, r.Referrer)
	appendNullString(p.host, r.Host)
	appendNullString(p.path, r.Path)
	appendNullString(p.qs, r.QueryString)
	appendParams(p.qp, r.QueryParams, r.QueryString.Valid)
	appendNullInt32(p.resp, r.Resp)
	appendNullInt32(p.rt, r.RT)
	if r.NewUser.Valid {
		p.newUser.Append(r.NewUser.Bool)
	} else {
		p.newUser.AppendNull()
	}
	appendNullString(p.node, r.Node)
	appendNullString(p.v, r.V)
	appendParams(p.kct, r.KCT, r.KCT != nil)
	appendNullString(p.extra, r.Extra)
	appendNonEmpty(p.bk, p.meta.BK.BridgeKey)
	appendNonEmpty(p.bkRaw, p.meta.BK.Raw)
	if p.meta.BK.DeviceLevel {
		p.kuidPath.Append(p.meta.BK.Raw)
	} else {
		p.kuidPath.AppendNull()
	}
	appendNonEmpty(p.kuidFile, p.meta.KUIDFile)
	p.srcFile.Append(p.file)
	p.srcLine.Append(lineNo)
	p.n++
	return true
}

// Flush implements lineparse.Parser.
func (p *feedParser) Flush(emit func(hiveparquet.Batch)) {
	if p.srcFile.Len() > 0 {
		emit(hiveparquet.Batch{Table: PortabilityTable, Partition: p.partition, Record: p.b.NewRecord()})
	}
}

// Rows implements lineparse.Parser.
func (p *feedParser) Rows() []lineparse.Count {
	return []lineparse.Count{{Name: PortabilityTable, N: p.n}}
}

// Release implements lineparse.Parser.
func (p *feedParser) Release() { p.b.Release() }

// arrowTS converts Unix microseconds to an Arrow timestamp value.
func arrowTS(us int64) arrow.Timestamp { return arrow.Timestamp(us) }

func appendNullString(b *array.StringBuilder, s NullString) {
	if s.Valid {
		b.Append(s.String)
	} else {
		b.AppendNull()
	}
}

func appendNonEmpty(b *array.StringBuilder, s string) {
	if s != "" {
		b.Append(s)
	} else {
		b.AppendNull()
	}
}

func appendNullInt32(b *array.Int32Builder, v NullInt32) {
	if v.Valid {
		b.Append(v.Int32)
	} else {
		b.AppendNull()
	}
}

// appendParams appends a MAP<string,string> value; valid false is a null map.
func appendParams(b *array.MapBuilder, ps []Param, valid bool) {
	if !valid {
		b.AppendNull()
		return
	}
	b.Append(true)
	kb := b.KeyBuilder().(*array.StringBuilder)
	vb := b.ItemBuilder().(*array.StringBuilder)
	for _, prm := range ps {
		kb.Append(prm.Key)
		if prm.Null {
			vb.AppendNull()
		} else {
			vb.Append(prm.Value)
		}
	}
}
