package didomi

// The keys of each type of object of a Didomi export line: which field of
// the scratch each modelled key's value goes to, and how the walk reads a
// value that is itself an object or array of the model (nest).

// nest is how the walk (lineVals.field) reads the value of a modelled key
// when it is of the kind the tables model: an object or array sorted into
// the scratch as it is read. Any other value is read as it is, and the
// checks reject it.
type nest uint8

const (
	nestNone     nest = iota
	nestUser          // the record's user object
	nestEvents        // the record's events array
	nestConsents      // a consents object
	nestEvUser        // an event's user object
	nestDelegate      // an event's delegate object
	nestPurposes      // consents.purposes
	nestChannels      // consents.channels
	nestVendors       // consents.vendors
	nestList          // a list of strings (proofs_id, the vendor lists)
	nestPrefs         // a purpose's values object
)

// slots maps the keys of one type of JSON object to the fields of its
// values: slot returns the field of key k and how its value is read, nil
// for a key the tables do not model (it goes to the object's extra JSON).
type slots interface {
	slot(k []byte) (*jval, nest)
}

func (uv *userVals) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &uv.id, nestNone
	case "organization_id":
		return &uv.orgID, nestNone
	case "organization_user_id":
		return &uv.orgUserID, nestNone
	case "version":
		return &uv.version, nestNone
	case "created_at":
		return &uv.createdAt, nestNone
	case "updated_at":
		return &uv.updatedAt, nestNone
	case "metadata":
		return &uv.metadata, nestNone
	case "country":
		return &uv.country, nestNone
	case "last_seen_country":
		return &uv.lastSeen, nestNone
	case "consents":
		return &uv.consents, nestConsents
	}
	return nil, nestNone
}

func (ev *eventVals) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &ev.id, nestNone
	case "organization_id":
		return &ev.orgID, nestNone
	case "created_at":
		return &ev.createdAt, nestNone
	case "updated_at":
		return &ev.updatedAt, nestNone
	case "metadata":
		return &ev.metadata, nestNone
	case "status":
		return &ev.status, nestNone
	case "regulation":
		return &ev.regulation, nestNone
	case "user":
		return &ev.user, nestEvUser
	case "consents":
		return &ev.consents, nestConsents
	case "proofs_id":
		return &ev.proofs, nestList
	case "delegate":
		return &ev.delegate, nestDelegate
	}
	return nil, nestNone
}

// eventUser is an event's user object, whose values eventVals keeps.
type eventUser eventVals

func (ev *eventUser) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &ev.uID, nestNone
	case "organization_user_id":
		return &ev.uOrgUserID, nestNone
	case "metadata":
		return &ev.uMetadata, nestNone
	case "country":
		return &ev.uCountry, nestNone
	case "last_seen_country":
		return &ev.uLastSeen, nestNone
	}
	return nil, nestNone
}

// eventDelegate is an event's delegate object, whose values eventVals
// keeps.
type eventDelegate eventVals

func (ev *eventDelegate) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &ev.dID, nestNone
	case "name":
		return &ev.dName, nestNone
	case "metadata":
		return &ev.dMetadata, nestNone
	}
	return nil, nestNone
}

func (cv *consentVals) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "purposes":
		return &cv.purposes, nestPurposes
	case "vendors":
		return &cv.vendors, nestVendors
	case "channels":
		return &cv.channels, nestChannels
	case "tcfcs":
		return &cv.tcfcs, nestNone
	}
	return nil, nestNone
}

// consentVendors is a consents' vendors object, whose lists consentVals
// keeps.
type consentVendors consentVals

func (cv *consentVendors) slot(k []byte) (*jval, nest) {
	for i, key := range vendorKeys {
		if string(k) == key {
			return &cv.vendorLists[i], nestList
		}
	}
	return nil, nestNone
}

func (pv *purposeVals) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &pv.id, nestNone
	case "enabled":
		return &pv.enabled, nestNone
	case "enabled_li":
		return &pv.enabledLI, nestNone
	case "metadata":
		return &pv.metadata, nestNone
	case "values":
		return &pv.values, nestPrefs
	}
	return nil, nestNone
}

func (cv *channelVals) slot(k []byte) (*jval, nest) {
	switch string(k) {
	case "id":
		return &cv.id, nestNone
	case "enabled":
		return &cv.enabled, nestNone
	case "metadata":
		return &cv.metadata, nestNone
	}
	return nil, nestNone
}
