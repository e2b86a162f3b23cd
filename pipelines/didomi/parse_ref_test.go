// The reference parser: the validate-then-append implementation that
// parse.go replaced for speed (issue 10), kept verbatim (identifiers prefixed
// with ref) so that TestParseMatchesReference and FuzzParseLine can check that the
// single-walk parser produces the same rows and the same rejects.

package didomi

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
)

var (
	refUserKeys     = refKeySet("id", "organization_id", "organization_user_id", "version", "created_at", "updated_at", "metadata", "country", "last_seen_country", "consents")
	refEventKeys    = refKeySet("id", "organization_id", "created_at", "updated_at", "metadata", "status", "regulation", "user", "consents", "proofs_id", "delegate")
	refEvUserKeys   = refKeySet("id", "organization_user_id", "metadata", "country", "last_seen_country")
	refDelegateKeys = refKeySet("id", "name", "metadata")
	refConsentKeys  = refKeySet("purposes", "vendors", "channels", "tcfcs")
	refPurposeKeys  = refKeySet("id", "enabled", "enabled_li", "metadata", "values")
	refChannelKeys  = refKeySet("id", "enabled", "metadata")
	refVendorKeys   = refKeySet("enabled", "disabled", "enabled_li", "disabled_li")
	refRecordKeys   = refKeySet("user", "events")
)

func refKeySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// refLineError is why a line is rejected.
type refLineError struct{ code, reason string }

func refRejectf(code, format string, args ...any) *refLineError {
	return &refLineError{code: code, reason: fmt.Sprintf(format, args...)}
}

// refParser turns Didomi export lines into didomi_users and didomi_events rows.
// One refParser serves one goroutine; it reuses its JSON refParser and builders.
type refParser struct {
	file, partition string
	p               fastjson.Parser
	users, events   *array.RecordBuilder
	uc, ec          *refConsentsBuilder
	scratch         []byte
	nUsers, nEvents int64
}

func refNewParser(file, partition string) *refParser {
	p := &refParser{
		file: file, partition: partition,
		users:  array.NewRecordBuilder(memory.DefaultAllocator, UsersSchema()),
		events: array.NewRecordBuilder(memory.DefaultAllocator, EventsSchema()),
	}
	p.uc = refNewConsentsBuilder(p.users.Field(9).(*array.StructBuilder))
	p.ec = refNewConsentsBuilder(p.events.Field(9).(*array.StructBuilder))
	return p
}

// Parse implements transforms.LineParser.
func (p *refParser) Parse(line []byte, lineNo int64, rej *transforms.Rejects) bool {
	v, err := p.p.ParseBytes(line)
	if err != nil {
		rej.Add(lineNo, ReasonInvalidJSON, "not valid JSON: "+err.Error(), line)
		return false
	}
	if e := refValidateRecord(v); e != nil {
		rej.Add(lineNo, e.code, e.reason, line)
		return false
	}
	p.appendRecord(v, lineNo)
	return true
}

// Flush implements transforms.LineParser.
func (p *refParser) Flush(emit func(hiveparquet.Batch)) {
	if p.users.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: UsersTable, Partition: p.partition, Record: p.users.NewRecord()})
	}
	if p.events.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: EventsTable, Partition: p.partition, Record: p.events.NewRecord()})
	}
}

// Rows implements transforms.LineParser.
func (p *refParser) Rows() []transforms.Count {
	return []transforms.Count{{Name: UsersTable, N: p.nUsers}, {Name: EventsTable, N: p.nEvents}}
}

// Release implements transforms.LineParser.
func (p *refParser) Release() {
	p.users.Release()
	p.events.Release()
}

// ---- validation: every check that can reject a line runs before any append.

func refValidateRecord(v *fastjson.Value) *refLineError {
	if v.Type() != fastjson.TypeObject {
		return refRejectf(ReasonNotObject, "line is a JSON %s, not an object", v.Type())
	}
	u := v.Get("user")
	if u == nil || u.Type() == fastjson.TypeNull {
		return refRejectf(ReasonMissingUser, "record has no user")
	}
	if u.Type() != fastjson.TypeObject {
		return refRejectf(ReasonUserNotObject, "user is a JSON %s, not an object", u.Type())
	}
	id := u.Get("id")
	if id == nil || id.Type() == fastjson.TypeNull || (id.Type() == fastjson.TypeString && len(id.GetStringBytes()) == 0) {
		return refRejectf(ReasonMissingUserID, "user has no id")
	}
	if e := refValidateUser(u); e != nil {
		return e
	}
	ev := v.Get("events")
	if ev == nil || ev.Type() == fastjson.TypeNull {
		return nil
	}
	if ev.Type() != fastjson.TypeArray {
		return refRejectf(ReasonEventsNotArray, "events is a JSON %s, not an array", ev.Type())
	}
	arr, _ := ev.Array()
	for i, e := range arr {
		if e.Type() != fastjson.TypeObject {
			return refRejectf(ReasonEventNotObject, "events[%d] is a JSON %s, not an object", i, e.Type())
		}
		if le := refValidateEvent(e, fmt.Sprintf("events[%d]", i)); le != nil {
			return le
		}
	}
	return nil
}

func refValidateUser(u *fastjson.Value) *refLineError {
	for _, k := range []string{"id", "organization_id", "organization_user_id", "country", "last_seen_country"} {
		if e := refCheckString(u, "user", k); e != nil {
			return e
		}
	}
	if n := u.Get("version"); n != nil && n.Type() != fastjson.TypeNull {
		if _, ok := refInteger(n); !ok {
			return refRejectf(ReasonWrongType, "user.version: want an integer number, got %s", n)
		}
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if e := refCheckTime(u, "user", k); e != nil {
			return e
		}
	}
	return refValidateConsents(u.Get("consents"), "user.consents")
}

func refValidateEvent(e *fastjson.Value, at string) *refLineError {
	for _, k := range []string{"id", "organization_id", "status", "regulation"} {
		if le := refCheckString(e, at, k); le != nil {
			return le
		}
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if le := refCheckTime(e, at, k); le != nil {
			return le
		}
	}
	if u := e.Get("user"); u != nil && u.Type() != fastjson.TypeNull {
		if u.Type() != fastjson.TypeObject {
			return refRejectf(ReasonWrongType, "%s.user: want an object, got %s", at, u.Type())
		}
		for _, k := range []string{"id", "organization_user_id", "country", "last_seen_country"} {
			if le := refCheckString(u, at+".user", k); le != nil {
				return le
			}
		}
	}
	if d := e.Get("delegate"); d != nil && d.Type() != fastjson.TypeNull {
		if d.Type() != fastjson.TypeObject {
			return refRejectf(ReasonWrongType, "%s.delegate: want an object, got %s", at, d.Type())
		}
		for _, k := range []string{"id", "name"} {
			if le := refCheckString(d, at+".delegate", k); le != nil {
				return le
			}
		}
	}
	if le := refCheckStringList(e.Get("proofs_id"), at+".proofs_id", false); le != nil {
		return le
	}
	return refValidateConsents(e.Get("consents"), at+".consents")
}

func refValidateConsents(c *fastjson.Value, at string) *refLineError {
	if c == nil || c.Type() == fastjson.TypeNull {
		return nil
	}
	if c.Type() != fastjson.TypeObject {
		return refRejectf(ReasonWrongType, "%s: want an object, got %s", at, c.Type())
	}
	if le := refCheckString(c, at, "tcfcs"); le != nil {
		return le
	}
	if ps := c.Get("purposes"); ps != nil && ps.Type() != fastjson.TypeNull {
		if ps.Type() != fastjson.TypeArray {
			return refRejectf(ReasonWrongType, "%s.purposes: want an array, got %s", at, ps.Type())
		}
		arr, _ := ps.Array()
		for i, p := range arr {
			pat := fmt.Sprintf("%s.purposes[%d]", at, i)
			if p.Type() != fastjson.TypeObject {
				return refRejectf(ReasonWrongType, "%s: want an object, got %s", pat, p.Type())
			}
			if le := refCheckString(p, pat, "id"); le != nil {
				return le
			}
			for _, k := range []string{"enabled", "enabled_li"} {
				if le := refCheckBool(p, pat, k); le != nil {
					return le
				}
			}
			if vs := p.Get("values"); vs != nil && vs.Type() != fastjson.TypeNull && vs.Type() != fastjson.TypeObject {
				return refRejectf(ReasonWrongType, "%s.values: want an object, got %s", pat, vs.Type())
			}
		}
	}
	if chs := c.Get("channels"); chs != nil && chs.Type() != fastjson.TypeNull {
		if chs.Type() != fastjson.TypeArray {
			return refRejectf(ReasonWrongType, "%s.channels: want an array, got %s", at, chs.Type())
		}
		arr, _ := chs.Array()
		for i, ch := range arr {
			cat := fmt.Sprintf("%s.channels[%d]", at, i)
			if ch.Type() != fastjson.TypeObject {
				return refRejectf(ReasonWrongType, "%s: want an object, got %s", cat, ch.Type())
			}
			if le := refCheckString(ch, cat, "id"); le != nil {
				return le
			}
			if le := refCheckBool(ch, cat, "enabled"); le != nil {
				return le
			}
		}
	}
	if vs := c.Get("vendors"); vs != nil && vs.Type() != fastjson.TypeNull {
		if vs.Type() != fastjson.TypeObject {
			return refRejectf(ReasonWrongType, "%s.vendors: want an object, got %s", at, vs.Type())
		}
		for _, k := range []string{"enabled", "disabled", "enabled_li", "disabled_li"} {
			// Vendor IDs are strings; IAB vendors may appear as numbers.
			if le := refCheckStringList(vs.Get(k), at+".vendors."+k, true); le != nil {
				return le
			}
		}
	}
	return nil
}

func refCheckString(o *fastjson.Value, at, key string) *refLineError {
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull || v.Type() == fastjson.TypeString {
		return nil
	}
	return refRejectf(ReasonWrongType, "%s.%s: want a string, got %s", at, key, v.Type())
}

func refCheckBool(o *fastjson.Value, at, key string) *refLineError {
	v := o.Get(key)
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeTrue, fastjson.TypeFalse:
		return nil
	}
	return refRejectf(ReasonWrongType, "%s.%s: want a boolean, got %s", at, key, v.Type())
}

func refCheckStringList(v *fastjson.Value, at string, numbersOK bool) *refLineError {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	if v.Type() != fastjson.TypeArray {
		return refRejectf(ReasonWrongType, "%s: want an array, got %s", at, v.Type())
	}
	arr, _ := v.Array()
	for i, x := range arr {
		if x.Type() == fastjson.TypeString || (numbersOK && x.Type() == fastjson.TypeNumber) {
			continue
		}
		return refRejectf(ReasonWrongType, "%s[%d]: want a string, got %s", at, i, x.Type())
	}
	return nil
}

func refCheckTime(o *fastjson.Value, at, key string) *refLineError {
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	if v.Type() != fastjson.TypeString {
		return refRejectf(ReasonWrongType, "%s.%s: want an ISO-8601 string, got %s", at, key, v.Type())
	}
	if _, err := refParseTime(v.GetStringBytes()); err != nil {
		return refRejectf(ReasonBadTimestamp, "%s.%s: %q is not an ISO-8601 timestamp with a time zone", at, key, v.GetStringBytes())
	}
	return nil
}

// refParseTime parses an ISO-8601 timestamp with a zone (Z or an offset) and
// returns it in Unix microseconds (UTC).
func refParseTime(b []byte) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, err
	}
	return t.UnixMicro(), nil
}

// refInteger returns the value of a JSON number that is an refInteger.
func refInteger(v *fastjson.Value) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	if n, err := v.Int64(); err == nil {
		return n, true
	}
	f, err := v.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// ---- appending: the record is known to be valid.

func (p *refParser) appendRecord(v *fastjson.Value, lineNo int64) {
	u := v.Get("user")
	b := p.users
	userID := u.GetStringBytes("id")
	refAppendStr(b.Field(0), u.Get("id"))
	refAppendStr(b.Field(1), u.Get("organization_id"))
	refAppendStr(b.Field(2), u.Get("organization_user_id"))
	if n := u.Get("version"); n != nil && n.Type() != fastjson.TypeNull {
		x, _ := refInteger(n)
		b.Field(3).(*array.Int64Builder).Append(x)
	} else {
		b.Field(3).AppendNull()
	}
	refAppendTime(b.Field(4), u.Get("created_at"))
	refAppendTime(b.Field(5), u.Get("updated_at"))
	refAppendStr(b.Field(6), u.Get("country"))
	refAppendStr(b.Field(7), u.Get("last_seen_country"))
	p.appendJSON(b.Field(8), u.Get("metadata"))
	p.uc.append(p, u.Get("consents"))
	var events []*fastjson.Value
	if ev := v.Get("events"); ev != nil && ev.Type() == fastjson.TypeArray {
		events, _ = ev.Array()
	}
	b.Field(10).(*array.Int32Builder).Append(int32(len(events)))
	// extra: unknown user keys, plus unknown top-level keys under "$record".
	p.scratch = refAppendExtra(p.scratch[:0], u, refUserKeys)
	if rec := refAppendExtra(nil, v, refRecordKeys); rec != nil {
		if p.scratch == nil {
			p.scratch = append(p.scratch, '{')
		} else {
			p.scratch = append(p.scratch[:len(p.scratch)-1], ',')
		}
		p.scratch = append(p.scratch, `"$record":`...)
		p.scratch = append(p.scratch, rec...)
		p.scratch = append(p.scratch, '}')
	}
	refAppendBytesOrNull(b.Field(11), p.scratch)
	b.Field(12).(*array.StringBuilder).Append(p.file)
	b.Field(13).(*array.Int64Builder).Append(lineNo)
	p.nUsers++

	for i, e := range events {
		p.appendEvent(e, userID, lineNo, i)
	}
}

func (p *refParser) appendEvent(e *fastjson.Value, userID []byte, lineNo int64, idx int) {
	b := p.events
	refAppendStr(b.Field(0), e.Get("id"))
	b.Field(1).(*array.StringBuilder).BinaryBuilder.Append(userID)
	refAppendStr(b.Field(2), e.Get("organization_id"))
	refAppendTime(b.Field(3), e.Get("created_at"))
	refAppendTime(b.Field(4), e.Get("updated_at"))
	refAppendStr(b.Field(5), e.Get("status"))
	if r := e.Get("regulation"); r != nil && r.Type() == fastjson.TypeString {
		refAppendStr(b.Field(6), r)
	} else {
		b.Field(6).(*array.StringBuilder).Append(DefaultRegulation)
	}
	p.appendJSON(b.Field(7), e.Get("metadata"))
	us := b.Field(8).(*array.StructBuilder)
	if u := e.Get("user"); u != nil && u.Type() == fastjson.TypeObject {
		us.Append(true)
		refAppendStr(us.FieldBuilder(0), u.Get("id"))
		refAppendStr(us.FieldBuilder(1), u.Get("organization_user_id"))
		p.appendJSON(us.FieldBuilder(2), u.Get("metadata"))
		refAppendStr(us.FieldBuilder(3), u.Get("country"))
		refAppendStr(us.FieldBuilder(4), u.Get("last_seen_country"))
		p.scratch = refAppendExtra(p.scratch[:0], u, refEvUserKeys)
		refAppendBytesOrNull(us.FieldBuilder(5), p.scratch)
	} else {
		us.AppendNull()
	}
	p.ec.append(p, e.Get("consents"))
	refAppendStrList(b.Field(10).(*array.ListBuilder), e.Get("proofs_id"))
	ds := b.Field(11).(*array.StructBuilder)
	if d := e.Get("delegate"); d != nil && d.Type() == fastjson.TypeObject {
		ds.Append(true)
		refAppendStr(ds.FieldBuilder(0), d.Get("id"))
		refAppendStr(ds.FieldBuilder(1), d.Get("name"))
		p.appendJSON(ds.FieldBuilder(2), d.Get("metadata"))
		p.scratch = refAppendExtra(p.scratch[:0], d, refDelegateKeys)
		refAppendBytesOrNull(ds.FieldBuilder(3), p.scratch)
	} else {
		ds.AppendNull()
	}
	p.scratch = refAppendExtra(p.scratch[:0], e, refEventKeys)
	refAppendBytesOrNull(b.Field(12), p.scratch)
	b.Field(13).(*array.StringBuilder).Append(p.file)
	b.Field(14).(*array.Int64Builder).Append(lineNo)
	b.Field(15).(*array.Int32Builder).Append(int32(idx))
	p.nEvents++
}

// refConsentsBuilder appends the consents struct.
type refConsentsBuilder struct {
	s                  *array.StructBuilder
	purposes, channels *array.ListBuilder
	purpose, channel   *array.StructBuilder
	values             *array.MapBuilder
	vendors            *array.StructBuilder
	tcfcs, extra       array.Builder
}

func refNewConsentsBuilder(s *array.StructBuilder) *refConsentsBuilder {
	c := &refConsentsBuilder{s: s}
	c.purposes = s.FieldBuilder(0).(*array.ListBuilder)
	c.purpose = c.purposes.ValueBuilder().(*array.StructBuilder)
	c.values = c.purpose.FieldBuilder(4).(*array.MapBuilder)
	c.vendors = s.FieldBuilder(1).(*array.StructBuilder)
	c.channels = s.FieldBuilder(2).(*array.ListBuilder)
	c.channel = c.channels.ValueBuilder().(*array.StructBuilder)
	c.tcfcs = s.FieldBuilder(3)
	c.extra = s.FieldBuilder(4)
	return c
}

func (c *refConsentsBuilder) append(p *refParser, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeObject {
		c.s.AppendNull()
		return
	}
	c.s.Append(true)
	// purposes
	if ps := v.Get("purposes"); ps != nil && ps.Type() == fastjson.TypeArray {
		c.purposes.Append(true)
		arr, _ := ps.Array()
		for _, pv := range arr {
			c.purpose.Append(true)
			refAppendStr(c.purpose.FieldBuilder(0), pv.Get("id"))
			refAppendBool(c.purpose.FieldBuilder(1), pv.Get("enabled"))
			refAppendBool(c.purpose.FieldBuilder(2), pv.Get("enabled_li"))
			p.appendJSON(c.purpose.FieldBuilder(3), pv.Get("metadata"))
			if vs := pv.Get("values"); vs != nil && vs.Type() == fastjson.TypeObject {
				c.values.Append(true)
				kb := c.values.KeyBuilder().(*array.StringBuilder)
				ib := c.values.ItemBuilder().(*array.StringBuilder)
				o, _ := vs.Object()
				o.Visit(func(k []byte, x *fastjson.Value) {
					kb.BinaryBuilder.Append(k)
					// A preference value is {"value": ...}: keep the
					// value (a string as is, anything else as JSON).
					val := x
					if x.Type() == fastjson.TypeObject {
						if inner := x.Get("value"); inner != nil {
							val = inner
						}
					}
					switch val.Type() {
					case fastjson.TypeString:
						ib.BinaryBuilder.Append(val.GetStringBytes())
					case fastjson.TypeNull:
						ib.AppendNull()
					default:
						p.scratch = val.MarshalTo(p.scratch[:0])
						ib.BinaryBuilder.Append(p.scratch)
					}
				})
			} else {
				c.values.AppendNull()
			}
			p.scratch = refAppendExtra(p.scratch[:0], pv, refPurposeKeys)
			refAppendBytesOrNull(c.purpose.FieldBuilder(5), p.scratch)
		}
	} else {
		c.purposes.AppendNull()
	}
	// vendors
	if vs := v.Get("vendors"); vs != nil && vs.Type() == fastjson.TypeObject {
		c.vendors.Append(true)
		for i, k := range []string{"enabled", "disabled", "enabled_li", "disabled_li"} {
			refAppendStrList(c.vendors.FieldBuilder(i).(*array.ListBuilder), vs.Get(k))
		}
		p.scratch = refAppendExtra(p.scratch[:0], vs, refVendorKeys)
		refAppendBytesOrNull(c.vendors.FieldBuilder(4), p.scratch)
	} else {
		c.vendors.AppendNull()
	}
	// channels
	if chs := v.Get("channels"); chs != nil && chs.Type() == fastjson.TypeArray {
		c.channels.Append(true)
		arr, _ := chs.Array()
		for _, ch := range arr {
			c.channel.Append(true)
			refAppendStr(c.channel.FieldBuilder(0), ch.Get("id"))
			refAppendBool(c.channel.FieldBuilder(1), ch.Get("enabled"))
			p.appendJSON(c.channel.FieldBuilder(2), ch.Get("metadata"))
			p.scratch = refAppendExtra(p.scratch[:0], ch, refChannelKeys)
			refAppendBytesOrNull(c.channel.FieldBuilder(3), p.scratch)
		}
	} else {
		c.channels.AppendNull()
	}
	refAppendStr(c.tcfcs, v.Get("tcfcs"))
	p.scratch = refAppendExtra(p.scratch[:0], v, refConsentKeys)
	refAppendBytesOrNull(c.extra, p.scratch)
}

func refAppendStr(b array.Builder, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeString {
		b.AppendNull()
		return
	}
	b.(*array.StringBuilder).BinaryBuilder.Append(v.GetStringBytes())
}

func refAppendBool(b array.Builder, v *fastjson.Value) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		b.(*array.BooleanBuilder).Append(true)
	case fastjson.TypeFalse:
		b.(*array.BooleanBuilder).Append(false)
	default:
		b.AppendNull()
	}
}

func refAppendTime(b array.Builder, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeString {
		b.AppendNull()
		return
	}
	us, err := refParseTime(v.GetStringBytes())
	if err != nil { // validated before; cannot happen
		b.AppendNull()
		return
	}
	b.(*array.TimestampBuilder).AppendTime(time.UnixMicro(us))
}

func refAppendStrList(lb *array.ListBuilder, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeArray {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	arr, _ := v.Array()
	for _, x := range arr {
		switch x.Type() {
		case fastjson.TypeString:
			vb.BinaryBuilder.Append(x.GetStringBytes())
		case fastjson.TypeNumber:
			vb.Append(x.String())
		default:
			vb.AppendNull()
		}
	}
}

// appendJSON stores a free-form value as JSON text (null stays null).
func (p *refParser) appendJSON(b array.Builder, v *fastjson.Value) {
	if v == nil || v.Type() == fastjson.TypeNull {
		b.AppendNull()
		return
	}
	p.scratch = v.MarshalTo(p.scratch[:0])
	b.(*array.StringBuilder).BinaryBuilder.Append(p.scratch)
}

func refAppendBytesOrNull(b array.Builder, data []byte) {
	if data == nil {
		b.AppendNull()
		return
	}
	b.(*array.StringBuilder).BinaryBuilder.Append(data)
}

// refAppendExtra appends to dst a JSON object of the keys of o that are not
// in known; it returns dst unchanged (nil when dst is nil) when there are
// none.
func refAppendExtra(dst []byte, o *fastjson.Value, known map[string]bool) []byte {
	obj, err := o.Object()
	if err != nil {
		return dst
	}
	start := len(dst)
	n := 0
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if known[string(k)] {
			return
		}
		if n == 0 {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = transforms.AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = v.MarshalTo(dst)
		n++
	})
	if n == 0 {
		if start == 0 {
			return nil
		}
		return dst[:start]
	}
	return append(dst, '}')
}
