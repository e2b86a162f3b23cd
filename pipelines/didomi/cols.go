package didomi

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// Column buffers of the Didomi tables: the parser appends each line's rows
// to them (appends.go) and Flush makes records of them. They are made of
// the generic buffers of hiveparquet (colbuf.go), which wrap plain Go
// slices into Arrow arrays without copying.

// purposeCols are the columns of a purposes element.
type purposeCols struct {
	valid              hiveparquet.Validity
	id                 hiveparquet.StringBuf
	enabled, enabledLI hiveparquet.BoolBuf
	metadata           hiveparquet.StringBuf
	values             hiveparquet.MapBuf
	extra              hiveparquet.StringBuf
}

// vendorsCols are the columns of consents.vendors.
type vendorsCols struct {
	valid hiveparquet.Validity
	lists [4]hiveparquet.StringListBuf // vendorKeys
	extra hiveparquet.StringBuf
}

func (c *vendorsCols) Null() {
	c.valid.Add(false)
	for i := range c.lists {
		c.lists[i].Null()
	}
	c.extra.Null()
}

// channelCols are the columns of a channels element.
type channelCols struct {
	valid    hiveparquet.Validity
	id       hiveparquet.StringBuf
	enabled  hiveparquet.BoolBuf
	metadata hiveparquet.StringBuf
	extra    hiveparquet.StringBuf
}

// consentsCols are the columns of a consents struct (consentsType).
type consentsCols struct {
	valid    hiveparquet.Validity
	purposes hiveparquet.ListBuf
	purpose  purposeCols
	vendors  vendorsCols
	channels hiveparquet.ListBuf
	channel  channelCols
	tcfcs    hiveparquet.StringBuf
	extra    hiveparquet.StringBuf
}

// null adds a null consents: like StructBuilder.AppendNull, a null in every
// field too.
func (c *consentsCols) Null() {
	c.valid.Add(false)
	c.purposes.Null()
	c.vendors.Null()
	c.channels.Null()
	c.tcfcs.Null()
	c.extra.Null()
}

func (c *consentsCols) Finish(t arrow.DataType) arrow.ArrayData {
	st := t.(*arrow.StructType)
	purposesT := st.Field(0).Type.(*arrow.ListType)
	purposeT := purposesT.Elem().(*arrow.StructType)
	vendorsT := st.Field(1).Type.(*arrow.StructType)
	channelsT := st.Field(2).Type.(*arrow.ListType)
	channelT := channelsT.Elem().(*arrow.StructType)

	p := &c.purpose
	purpose := hiveparquet.StructData(purposeT, &p.valid,
		p.id.Finish(purposeT.Field(0).Type),
		p.enabled.Finish(),
		p.enabledLI.Finish(),
		p.metadata.Finish(purposeT.Field(3).Type),
		p.values.Finish(purposeT.Field(4).Type.(*arrow.MapType)),
		p.extra.Finish(purposeT.Field(5).Type))
	v := &c.vendors
	vendors := hiveparquet.StructData(vendorsT, &v.valid,
		v.lists[0].Finish(vendorsT.Field(0).Type),
		v.lists[1].Finish(vendorsT.Field(1).Type),
		v.lists[2].Finish(vendorsT.Field(2).Type),
		v.lists[3].Finish(vendorsT.Field(3).Type),
		v.extra.Finish(vendorsT.Field(4).Type))
	ch := &c.channel
	channel := hiveparquet.StructData(channelT, &ch.valid,
		ch.id.Finish(channelT.Field(0).Type),
		ch.enabled.Finish(),
		ch.metadata.Finish(channelT.Field(2).Type),
		ch.extra.Finish(channelT.Field(3).Type))
	return hiveparquet.StructData(st, &c.valid,
		c.purposes.Finish(purposesT, purpose),
		vendors,
		c.channels.Finish(channelsT, channel),
		c.tcfcs.Finish(st.Field(3).Type),
		c.extra.Finish(st.Field(4).Type))
}

// usersCols are the columns of didomi_users (UsersSchema).
type usersCols struct {
	rows                        int
	id, orgID, orgUserID        hiveparquet.StringBuf
	version                     hiveparquet.FixedBuf[int64]
	createdAt, updatedAt        hiveparquet.FixedBuf[int64]
	country, lastSeen, metadata hiveparquet.StringBuf
	consents                    consentsCols
	eventCount                  hiveparquet.FixedBuf[int32]
	extra, sourceFile           hiveparquet.StringBuf
	sourceLine                  hiveparquet.FixedBuf[int64]
}

// record returns the rows added since the last call as a record of schema.
func (c *usersCols) record(schema *arrow.Schema) arrow.Record {
	ft := func(i int) arrow.DataType { return schema.Field(i).Type }
	cols := []arrow.ArrayData{
		c.id.Finish(ft(0)),
		c.orgID.Finish(ft(1)),
		c.orgUserID.Finish(ft(2)),
		c.version.Finish(ft(3)),
		c.createdAt.Finish(ft(4)),
		c.updatedAt.Finish(ft(5)),
		c.country.Finish(ft(6)),
		c.lastSeen.Finish(ft(7)),
		c.metadata.Finish(ft(8)),
		c.consents.Finish(ft(9)),
		c.eventCount.Finish(ft(10)),
		c.extra.Finish(ft(11)),
		c.sourceFile.Finish(ft(12)),
		c.sourceLine.Finish(ft(13)),
	}
	rows := c.rows
	c.rows = 0
	return hiveparquet.RecordFromData(schema, cols, rows)
}

// eventUserCols are the columns of didomi_events.user.
type eventUserCols struct {
	valid                                             hiveparquet.Validity
	id, orgUserID, metadata, country, lastSeen, extra hiveparquet.StringBuf
}

func (c *eventUserCols) Null() {
	c.valid.Add(false)
	c.id.Null()
	c.orgUserID.Null()
	c.metadata.Null()
	c.country.Null()
	c.lastSeen.Null()
	c.extra.Null()
}

// delegateCols are the columns of didomi_events.delegate.
type delegateCols struct {
	valid                     hiveparquet.Validity
	id, name, metadata, extra hiveparquet.StringBuf
}

func (c *delegateCols) Null() {
	c.valid.Add(false)
	c.id.Null()
	c.name.Null()
	c.metadata.Null()
	c.extra.Null()
}

// eventsCols are the columns of didomi_events (EventsSchema).
type eventsCols struct {
	rows                         int
	id, userID, orgID            hiveparquet.StringBuf
	createdAt, updatedAt         hiveparquet.FixedBuf[int64]
	status, regulation, metadata hiveparquet.StringBuf
	user                         eventUserCols
	consents                     consentsCols
	proofs                       hiveparquet.StringListBuf
	delegate                     delegateCols
	extra, sourceFile            hiveparquet.StringBuf
	sourceLine                   hiveparquet.FixedBuf[int64]
	eventIndex                   hiveparquet.FixedBuf[int32]
}

// record returns the rows added since the last call as a record of schema.
func (c *eventsCols) record(schema *arrow.Schema) arrow.Record {
	ft := func(i int) arrow.DataType { return schema.Field(i).Type }
	userT := ft(8).(*arrow.StructType)
	delegateT := ft(11).(*arrow.StructType)
	u, d := &c.user, &c.delegate
	cols := []arrow.ArrayData{
		c.id.Finish(ft(0)),
		c.userID.Finish(ft(1)),
		c.orgID.Finish(ft(2)),
		c.createdAt.Finish(ft(3)),
		c.updatedAt.Finish(ft(4)),
		c.status.Finish(ft(5)),
		c.regulation.Finish(ft(6)),
		c.metadata.Finish(ft(7)),
		hiveparquet.StructData(userT, &u.valid,
			u.id.Finish(userT.Field(0).Type),
			u.orgUserID.Finish(userT.Field(1).Type),
			u.metadata.Finish(userT.Field(2).Type),
			u.country.Finish(userT.Field(3).Type),
			u.lastSeen.Finish(userT.Field(4).Type),
			u.extra.Finish(userT.Field(5).Type)),
		c.consents.Finish(ft(9)),
		c.proofs.Finish(ft(10)),
		hiveparquet.StructData(delegateT, &d.valid,
			d.id.Finish(delegateT.Field(0).Type),
			d.name.Finish(delegateT.Field(1).Type),
			d.metadata.Finish(delegateT.Field(2).Type),
			d.extra.Finish(delegateT.Field(3).Type)),
		c.extra.Finish(ft(12)),
		c.sourceFile.Finish(ft(13)),
		c.sourceLine.Finish(ft(14)),
		c.eventIndex.Finish(ft(15)),
	}
	rows := c.rows
	c.rows = 0
	return hiveparquet.RecordFromData(schema, cols, rows)
}
