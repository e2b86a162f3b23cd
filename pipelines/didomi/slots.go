package didomi

import "github.com/valyala/fastjson"

// The keys of each type of object of a Didomi export line, and the one
// visitor that sorts an object's members into them (lineVals.object).

// slots maps the keys of one type of JSON object to the fields of its
// values: slot returns the field of key k, nil for a key the tables do not
// model (it goes to the object's extra JSON).
type slots interface {
	slot(k []byte) **fastjson.Value
}

// object visits the members of the JSON object v, the one object visitor
// of the walk: the first value of each modelled key goes to its field
// (s.slot), every other member to the object's extra JSON, returned.
func (l *lineVals) object(v *fastjson.Value, s slots) span {
	o, _ := v.Object()
	l.beginExtra()
	o.Visit(func(k []byte, x *fastjson.Value) {
		if dst := s.slot(k); dst != nil {
			first(dst, x)
		} else {
			l.addExtra(k, x)
		}
	})
	return l.endExtra()
}

func (uv *userVals) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &uv.id
	case "organization_id":
		return &uv.orgID
	case "organization_user_id":
		return &uv.orgUserID
	case "version":
		return &uv.version
	case "created_at":
		return &uv.createdAt
	case "updated_at":
		return &uv.updatedAt
	case "metadata":
		return &uv.metadata
	case "country":
		return &uv.country
	case "last_seen_country":
		return &uv.lastSeen
	case "consents":
		return &uv.consents
	}
	return nil
}

func (ev *eventVals) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &ev.id
	case "organization_id":
		return &ev.orgID
	case "created_at":
		return &ev.createdAt
	case "updated_at":
		return &ev.updatedAt
	case "metadata":
		return &ev.metadata
	case "status":
		return &ev.status
	case "regulation":
		return &ev.regulation
	case "user":
		return &ev.user
	case "consents":
		return &ev.consents
	case "proofs_id":
		return &ev.proofs
	case "delegate":
		return &ev.delegate
	}
	return nil
}

// eventUser is an event's user object, whose values eventVals keeps.
type eventUser eventVals

func (ev *eventUser) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &ev.uID
	case "organization_user_id":
		return &ev.uOrgUserID
	case "metadata":
		return &ev.uMetadata
	case "country":
		return &ev.uCountry
	case "last_seen_country":
		return &ev.uLastSeen
	}
	return nil
}

// eventDelegate is an event's delegate object, whose values eventVals
// keeps.
type eventDelegate eventVals

func (ev *eventDelegate) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &ev.dID
	case "name":
		return &ev.dName
	case "metadata":
		return &ev.dMetadata
	}
	return nil
}

func (cv *consentVals) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "purposes":
		return &cv.purposes
	case "vendors":
		return &cv.vendors
	case "channels":
		return &cv.channels
	case "tcfcs":
		return &cv.tcfcs
	}
	return nil
}

// consentVendors is a consents' vendors object, whose lists consentVals
// keeps.
type consentVendors consentVals

func (cv *consentVendors) slot(k []byte) **fastjson.Value {
	for i, key := range vendorKeys {
		if string(k) == key {
			return &cv.vendorLists[i]
		}
	}
	return nil
}

func (pv *purposeVals) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &pv.id
	case "enabled":
		return &pv.enabled
	case "enabled_li":
		return &pv.enabledLI
	case "metadata":
		return &pv.metadata
	case "values":
		return &pv.values
	}
	return nil
}

func (cv *channelVals) slot(k []byte) **fastjson.Value {
	switch string(k) {
	case "id":
		return &cv.id
	case "enabled":
		return &cv.enabled
	case "metadata":
		return &cv.metadata
	}
	return nil
}
