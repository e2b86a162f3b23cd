package didomi

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// Table names.
const (
	UsersTable   = "didomi_users"
	EventsTable  = "didomi_events"
	RejectsTable = "didomi_rejects"
	// ProofsTable indexes the proof files of the proof archives.
	ProofsTable = "didomi_proofs"
	// ProofFilesTable holds the proof files themselves, named by proof ID.
	ProofFilesTable = "didomi_proof_files"
	// ProofCheckTable lists proofs referenced but missing, and orphans.
	ProofCheckTable = "didomi_proof_check"
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

// listOf is a LIST whose element is named "element" (hiveparquet.ListOf).
var listOf = hiveparquet.ListOf

// consentsType models Didomi's consent status object: purposes (with their
// preference values), vendors, channels and the TCF consent string. Keys the
// API documents as deprecated or that Didomi adds later are kept, as JSON, in
// the extra fields, so nothing is lost.
func consentsType() arrow.DataType {
	purpose := arrow.StructOf(
		column("id", str),
		column("enabled", boolT),
		column("enabled_li", boolT),
		column("metadata", str),
		arrow.Field{Name: "values", Type: arrow.MapOf(str, str), Nullable: true},
		column("extra", str),
	)
	channel := arrow.StructOf(column("id", str), column("enabled", boolT), column("metadata", str), column("extra", str))
	vendors := arrow.StructOf(
		column("enabled", listOf(str)),
		column("disabled", listOf(str)),
		column("enabled_li", listOf(str)),
		column("disabled_li", listOf(str)),
		column("extra", str),
	)
	return arrow.StructOf(
		column("purposes", listOf(purpose)),
		column("vendors", vendors),
		column("channels", listOf(channel)),
		column("tcfcs", str),
		column("extra", str),
	)
}

// UsersSchema is the schema of didomi_users: one row per exported line.
func UsersSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		noDictionary("id", str),
		column("organization_id", str),
		noDictionary("organization_user_id", str),
		column("version", i64),
		noDictionary("created_at", tsUTC),
		noDictionary("updated_at", tsUTC),
		column("country", str),
		column("last_seen_country", str),
		column("metadata", str),
		column("consents", consentsType()),
		column("event_count", i32),
		column("extra", str),
		column("source_file", str),
		noDictionary("source_line", i64),
	}, nil)
}

// EventsSchema is the schema of didomi_events: one row per element of a
// line's events array.
func EventsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		noDictionary("id", str),
		column("user_id", str),
		column("organization_id", str),
		noDictionary("created_at", tsUTC),
		noDictionary("updated_at", tsUTC),
		column("status", str),
		column("regulation", str),
		column("metadata", str),
		column("user", arrow.StructOf(
			column("id", str), column("organization_user_id", str), column("metadata", str),
			column("country", str), column("last_seen_country", str), column("extra", str))),
		column("consents", consentsType()),
		column("proofs_id", listOf(str)),
		column("delegate", arrow.StructOf(column("id", str), column("name", str), column("metadata", str), column("extra", str))),
		column("extra", str),
		column("source_file", str),
		noDictionary("source_line", i64),
		column("event_index", i32),
	}, nil)
}

// ProofsSchema is the schema of didomi_proofs: one row per proof file of a
// partition's proof archive.
func ProofsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		column("proof_id", str),
		column("file_name", str),
		column("size_bytes", i64),
		column("sha256", str),
		column("content_type", str),
		column("tar_modified_at", tsUTC),
		column("object_path", str),
		column("source_file", str),
		column("source_part", str),
		column("source_offset", i64),
	}, nil)
}

// ProofFilesSchema describes didomi_proof_files, a folder of raw files (not
// Parquet): the schema only documents it.
func ProofFilesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{column("proof_file", arrow.BinaryTypes.Binary)}, nil)
}

// ProofCheckSchema is the schema of didomi_proof_check: one row per problem
// between the events' proof references and the proof archive.
func ProofCheckSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		column("problem", str),
		column("proof_id", str),
		column("event_id", str),
		column("user_id", str),
	}, nil)
}

// Partitions are the partition columns of every Didomi table.
func Partitions() []hiveparquet.PartitionColumn {
	return []hiveparquet.PartitionColumn{{Name: "export_id", Type: "string"}, {Name: "date", Type: "date"}}
}

// Tables returns every table the Didomi pipeline commits: users, events
// and rejects, the proof tables, and the proof files (a table of raw
// files, hiveparquet.Files, which ddl leaves out).
func Tables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: UsersTable, Doc: "One row per Didomi user record (one exported line).", Schema: UsersSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		{Name: EventsTable, Doc: "One row per consent event of a user record.", Schema: EventsSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		Rejects(),
		{Name: ProofsTable, Doc: "One row per proof file of a partition's proof archive (proofs.tar.gz.NN); the file itself is at object_path (didomi_proof_files/export_id=ID/date=D/PROOF_ID).", Schema: ProofsSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		{Name: ProofCheckTable, Doc: "One row per missing proof (referenced by an event, not in the archive) or orphan proof (in the archive, referenced by no event).", Schema: ProofCheckSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		{Name: ProofFilesTable, Doc: "The proof files themselves, bytes unchanged, named by proof ID (raw files, not Parquet).", Schema: ProofFilesSchema(), Partitions: Partitions(), Mode: hiveparquet.Files},
	}
}

// Rejects is the didomi_rejects table: every reject of a partition (a line,
// an event of a kept line, a proof archive entry) is a row of its schema.
func Rejects() hiveparquet.Table { return lineparse.EventRejectTable(RejectsTable, Partitions()) }
