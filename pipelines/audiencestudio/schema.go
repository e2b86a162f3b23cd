package audiencestudio

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Table names.
const (
	RequestsTable           = "audiencestudio_requests"
	RequestsRejectsTable    = "audiencestudio_rejects"
	PortabilityTable        = "audiencestudio_portability_events"
	PortabilityRejectsTable = "audiencestudio_portability_rejects"
)

var (
	str   = arrow.BinaryTypes.String
	i64   = arrow.PrimitiveTypes.Int64
	i32   = arrow.PrimitiveTypes.Int32
	boolT = arrow.FixedWidthTypes.Boolean
	tsUTC = hiveparquet.TimestampUTC()
	// column declares a (nullable) column.
	column = hiveparquet.Column
	// noDictionary declares a column of (nearly) distinct values, written
	// without a Parquet dictionary.
	noDictionary = hiveparquet.NoDictionaryColumn
)

// RequestsSchema is the schema of audiencestudio_requests: one row per
// consent request line.
//
// Lineage: source_offset is the byte offset of the line's first byte in the
// file's decompressed content (0-based). It is used instead of a line number
// because an indexed lzop file is read in splits, and a split cannot know how
// many lines the splits before it hold without decompressing them; the offset
// is the same whether the file is read whole or in any number of splits.
func RequestsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		column("id_kind", str),
		column("id_type", str),
		noDictionary("id_value", str),
		column("action", str),
		column("policy_regime", str),
		column("flags_raw", str),
		// flags is null when flags_raw is null or cannot be parsed.
		column("flags", FlagsType()),
		noDictionary("requested_at", tsUTC),
		column("source_file", str),
		noDictionary("source_offset", i64),
	}, nil)
}

// FlagNames are the documented consent flags, the fields of the flags
// column, in their order.
var FlagNames = [...]string{FlagDataCollection, FlagAnalytics, FlagTargeting, FlagCrossDevice, FlagDataSharing, FlagReidentification}

// FlagsType is the type of the flags column: a struct of the six documented
// flags (1 consent given, 0 refused), each null when the line does not give
// it. A query on one flag (flags.tg = 1) reads that flag's column only;
// keys outside the six are kept in flags_raw.
func FlagsType() arrow.DataType {
	fields := make([]arrow.Field, len(FlagNames))
	for i, n := range FlagNames {
		fields[i] = column(n, i32)
	}
	return arrow.StructOf(fields...)
}

// PortabilityEventsSchema is the schema of audiencestudio_portability_events:
// one row per feed record (one JSON line of a portability file).
//
// From the path .../DATA_SOURCE/{bk}/{kuid} (see ParseBKFolder): bk_raw is
// {bk} exactly as in the path (its folders joined with '/'); bridge_key is
// {bk} decoded from Base64 when it is a bridge key that decodes to text
// (null for device-level requests and undecodable keys); kuid_path is {bk}
// when it equals the kuid (a device-level request), else null; kuid_file is
// the file name {kuid}.
func PortabilityEventsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		noDictionary("ts", tsUTC),
		column("xff", str),
		column("xff_chain", hiveparquet.ListOf(str)),
		column("ip", str),
		column("kuid", str),
		column("dnt", str),
		column("user_agent", str),
		column("referrer", str),
		column("host", str),
		column("path", str),
		noDictionary("query_string", str),
		column("query_params", arrow.MapOf(str, str)),
		column("resp", i32),
		column("rt", i32),
		column("new_user", boolT),
		column("node", str),
		column("v", str),
		column("kct", arrow.MapOf(str, str)),
		column("extra", str),
		column("bridge_key", str),
		column("bk_raw", str),
		column("kuid_path", str),
		column("kuid_file", str),
		column("source_file", str),
		noDictionary("source_line", i64),
	}, nil)
}

// RequestsPartitions are the partition columns of the request tables.
func RequestsPartitions() []hiveparquet.PartitionColumn {
	return []hiveparquet.PartitionColumn{{Name: "upload_date", Type: "date"}}
}

// PortabilityPartitions are the partition columns of the portability tables.
func PortabilityPartitions() []hiveparquet.PartitionColumn {
	return []hiveparquet.PartitionColumn{{Name: "request_id", Type: "string", PerDelivery: true}, {Name: "date", Type: "date"}, {Name: "data_source", Type: "string"}}
}

// RequestsTables returns the tables the requests pipeline writes.
func RequestsTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: RequestsTable, Doc: "One row per consent request line (uploads/consent-data/YYYY-MM-DD/*). flags holds the six documented consent flags (flags.tg = 1: consent to targeting), each null when the line does not give it; other keys stay in flags_raw.", Schema: RequestsSchema(), Partitions: RequestsPartitions(), Mode: hiveparquet.Overwrite},
		RequestsRejects(),
	}
}

// RequestsRejects is the audiencestudio_requests_rejects table.
func RequestsRejects() hiveparquet.Table {
	t := lineparse.RejectTable(RequestsRejectsTable, RequestsPartitions())
	t.Doc = "One row per rejected consent request line; source_line holds the line's decompressed byte offset (as source_offset in audiencestudio_requests)."
	return t
}

// PortabilityRejects is the audiencestudio_portability_rejects table.
func PortabilityRejects() hiveparquet.Table {
	return lineparse.RejectTable(PortabilityRejectsTable, PortabilityPartitions())
}

// PortabilityTables returns the tables the portability pipeline writes.
func PortabilityTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: PortabilityTable, Doc: "One row per data portability feed record.", Schema: PortabilityEventsSchema(), Partitions: PortabilityPartitions(), Mode: hiveparquet.Overwrite},
		PortabilityRejects(),
	}
}
