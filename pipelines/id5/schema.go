package id5

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Table names.
const (
	// UpdatesTable holds every incremental row as delivered.
	UpdatesTable = "id5_mapping_updates"
	// ExtractsTable holds every full-extract row as delivered.
	ExtractsTable = "id5_full_extracts"
	// ExtractPartnersTable has one row per (full extract, partner it
	// covers), rows or not: an extract without any row for a partner still
	// empties that partner, and only this table remembers it.
	ExtractPartnersTable = "id5_extract_partners"
	// RejectsTable holds the rejected lines of every ID5 file.
	RejectsTable = "id5_rejects"
	// CurrentTable is the mapping in force: a view over BaseTable,
	// BaseStateTable and UpdatesTable (see CurrentView), no table.
	CurrentTable = "id5_mapping_current"
	// BaseTable is the mapping in force when the base was last rebuilt
	// (see base.go).
	BaseTable = "id5_mapping_base"
	// BaseStateTable says which incremental rows are the delta over the
	// base: the base's extract of each partner and its horizon.
	BaseStateTable = "id5_mapping_base_state"
)

var (
	str   = arrow.BinaryTypes.String
	i64   = arrow.PrimitiveTypes.Int64
	i32   = arrow.PrimitiveTypes.Int32
	tsUTC = hiveparquet.TimestampUTC()
	// column declares a (nullable) column.
	column = hiveparquet.Column
	// noDictionary declares a column of (nearly) distinct values, written
	// without a Parquet dictionary.
	noDictionary = hiveparquet.NoDictionaryColumn
)

// Column positions shared by UpdatesSchema and ExtractsSchema (the parser
// and the compaction fill and read them by position).
const (
	colUID = iota
	colSourceGVLID
	colPartnerGVLID
	colPartnerUID
	colAt
	colDelivery
	colSourceFile
	colSourceLine
)

// rowSchema is the schema of the rows of one delivered file; timeCol names
// the time the path gives it (delivered_at or extracted_at).
func rowSchema(timeCol string) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		noDictionary("uid", str),
		column("source_gvlid", i32),
		column("partner_gvlid", i32),
		noDictionary("partner_uid", str),
		column(timeCol, tsUTC),
		column("delivery", str),
		column("source_file", str),
		noDictionary("source_line", i64),
	}, nil)
}

// UpdatesSchema is the schema of id5_mapping_updates: one row per (UID,
// partner) mapping of an incremental file; delivered_at is the time its path
// names.
func UpdatesSchema() *arrow.Schema { return rowSchema("delivered_at") }

// ExtractsSchema is the schema of id5_full_extracts: one row per (UID,
// partner) mapping of a full extract; extracted_at is the time its name gives.
func ExtractsSchema() *arrow.Schema { return rowSchema("extracted_at") }

// ExtractPartnersSchema is the schema of id5_extract_partners.
func ExtractPartnersSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		column("partner_gvlid", i32),
		column("source_gvlid", i32),
		column("extracted_at", tsUTC),
		column("delivery", str),
		column("source_file", str),
		column("rows", i64),
	}, nil)
}

// CurrentSchema is the schema of id5_mapping_base and of the columns of the
// view id5_mapping_current (partner_gvlid is the base's partition column,
// not repeated inside the files).
func CurrentSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		noDictionary("uid", str),
		noDictionary("partner_uid", str),
		column("source_gvlid", i32),
		column("updated_at", tsUTC),
		column("source_file", str),
		noDictionary("source_line", i64),
	}, nil)
}

// BaseStateSchema is the schema of id5_mapping_base_state, partitioned by
// partner_gvlid: in partner P's partition, the time of the base's full
// extract of P and its file; in partition 0, the base's horizon (the
// latest delivered_at of its incremental rows) and no file. built_at is
// when the base was built (the age rule's start).
func BaseStateSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		column("cutoff", tsUTC),
		column("source_file", str),
		column("built_at", tsUTC),
	}, nil)
}

// Partition columns.
var (
	datePartitions        = []hiveparquet.PartitionColumn{{Name: "date", Type: "date"}}
	extractDatePartitions = []hiveparquet.PartitionColumn{{Name: "extract_date", Type: "date"}}
	partnerPartitions     = []hiveparquet.PartitionColumn{{Name: "partner_gvlid", Type: "int"}}
)

// IngestTables are the tables the ingest stage (Pipeline) writes. Every one
// is idempotent-append by input file: reprocessing a file replaces its rows.
func IngestTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: UpdatesTable, Doc: "One row per (UID, partner) mapping of an incremental file, as delivered: one file per pushed file, until a rebuild of the base rewrites the closed days into a few files sorted by (partner_gvlid, uid).",
			Schema: UpdatesSchema(), Partitions: datePartitions, Mode: hiveparquet.IdempotentAppend},
		{Name: ExtractsTable, Doc: "One row per (UID, partner) mapping of a full extract, as delivered.",
			Schema: ExtractsSchema(), Partitions: extractDatePartitions, Mode: hiveparquet.IdempotentAppend},
		{Name: ExtractPartnersTable, Doc: "One row per full extract and partner it covers, with its number of rows.",
			Schema: ExtractPartnersSchema(), Partitions: extractDatePartitions, Mode: hiveparquet.IdempotentAppend},
		Rejects(),
	}
}

// Rejects is the id5_rejects table, idempotent-append by input file like
// the tables it holds the rejects of.
func Rejects() hiveparquet.Table {
	t := lineparse.RejectTable(RejectsTable, datePartitions)
	t.Mode = hiveparquet.IdempotentAppend
	return t
}

// CurrentTables are the tables the compaction stage (Current) writes, both
// rewritten whole by each rebuild of the base, in one commit.
func CurrentTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: BaseTable, Doc: "One row per (UID, partner): the partner UID in force when the base was last rebuilt, and the row it came from (query id5_mapping_current).",
			Schema: CurrentSchema(), Partitions: partnerPartitions, Mode: hiveparquet.Overwrite},
		{Name: BaseStateTable, Doc: "The base's full extract per partner and, in partner_gvlid=0, its horizon: id5_mapping_updates rows delivered after both are the delta over the base.",
			Schema: BaseStateSchema(), Partitions: partnerPartitions, Mode: hiveparquet.Overwrite},
	}
}

// Tables returns every table of the ID5 pipeline.
func Tables() []hiveparquet.Table { return append(IngestTables(), CurrentTables()...) }

// datePartition returns "date=YYYY-MM-DD"-style partition paths.
func datePartition(cols []hiveparquet.PartitionColumn, day string) string {
	p, _ := hiveparquet.PartitionPath([]string{cols[0].Name}, day)
	return p
}
