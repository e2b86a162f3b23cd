package didomi

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/transforms"
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
	// f declares a (nullable) column.
	f = hiveparquet.Column
	// unique declares a column of (nearly) distinct values, written
	// without a Parquet dictionary.
	unique = hiveparquet.UniqueColumn
)

// listOf is a LIST whose element is named "element" (hiveparquet.ListOf).
var listOf = hiveparquet.ListOf

// consentsType models Didomi's consent status object: purposes (with their
// preference values), vendors, channels and the TCF consent string. Keys the
// API documents as deprecated or that Didomi adds later are kept, as JSON, in
// the extra fields, so nothing is lost.
func consentsType() arrow.DataType {
	purpose := arrow.StructOf(
		f("id", str),
		f("enabled", boolT),
		f("enabled_li", boolT),
		f("metadata", str),
		arrow.Field{Name: "values", Type: arrow.MapOf(str, str), Nullable: true},
		f("extra", str),
	)
	channel := arrow.StructOf(f("id", str), f("enabled", boolT), f("metadata", str), f("extra", str))
	vendors := arrow.StructOf(
		f("enabled", listOf(str)),
		f("disabled", listOf(str)),
		f("enabled_li", listOf(str)),
		f("disabled_li", listOf(str)),
		f("extra", str),
	)
	return arrow.StructOf(
		f("purposes", listOf(purpose)),
		f("vendors", vendors),
		f("channels", listOf(channel)),
		f("tcfcs", str),
		f("extra", str),
	)
}

// UsersSchema is the schema of didomi_users: one row per exported line.
func UsersSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		unique("id", str),
		f("organization_id", str),
		unique("organization_user_id", str),
		f("version", i64),
		unique("created_at", tsUTC),
		unique("updated_at", tsUTC),
		f("country", str),
		f("last_seen_country", str),
		f("metadata", str),
		f("consents", consentsType()),
		f("event_count", i32),
		f("extra", str),
		f("source_file", str),
		unique("source_line", i64),
	}, nil)
}

// EventsSchema is the schema of didomi_events: one row per element of a
// line's events array.
func EventsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		unique("id", str),
		f("user_id", str),
		f("organization_id", str),
		unique("created_at", tsUTC),
		unique("updated_at", tsUTC),
		f("status", str),
		f("regulation", str),
		f("metadata", str),
		f("user", arrow.StructOf(
			f("id", str), f("organization_user_id", str), f("metadata", str),
			f("country", str), f("last_seen_country", str), f("extra", str))),
		f("consents", consentsType()),
		f("proofs_id", listOf(str)),
		f("delegate", arrow.StructOf(f("id", str), f("name", str), f("metadata", str), f("extra", str))),
		f("extra", str),
		f("source_file", str),
		unique("source_line", i64),
		f("event_index", i32),
	}, nil)
}

// ProofsSchema is the schema of didomi_proofs: one row per proof file of a
// partition's proof archive.
func ProofsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		f("proof_id", str),
		f("file_name", str),
		f("size_bytes", i64),
		f("sha256", str),
		f("content_type", str),
		f("tar_modified_at", tsUTC),
		f("object_path", str),
		f("source_file", str),
		f("source_part", str),
		f("source_offset", i64),
	}, nil)
}

// ProofFilesSchema describes didomi_proof_files, a folder of raw files (not
// Parquet): the schema only documents it.
func ProofFilesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{f("proof_file", arrow.BinaryTypes.Binary)}, nil)
}

// ProofCheckSchema is the schema of didomi_proof_check: one row per problem
// between the events' proof references and the proof archive.
func ProofCheckSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		f("problem", str),
		f("proof_id", str),
		f("event_id", str),
		f("user_id", str),
	}, nil)
}

// Partitions are the partition columns of every Didomi table.
func Partitions() []hiveparquet.PartitionColumn {
	return []hiveparquet.PartitionColumn{{Name: "export_id", Type: "string"}, {Name: "date", Type: "date"}}
}

// Tables returns the tables the Didomi pipeline writes.
func Tables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: UsersTable, Doc: "One row per Didomi user record (one exported line).", Schema: UsersSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		{Name: EventsTable, Doc: "One row per consent event of a user record.", Schema: EventsSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		transforms.EventRejectTable(RejectsTable, Partitions()),
	}
}

// ProofTables returns the Parquet tables of the proof step (what DDL covers).
func ProofTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: ProofsTable, Doc: "One row per proof file of a partition's proof archive (proofs.tar.gz.NN); the file itself is at object_path (didomi_proof_files/export_id=ID/date=D/PROOF_ID).", Schema: ProofsSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
		{Name: ProofCheckTable, Doc: "One row per missing proof (referenced by an event, not in the archive) or orphan proof (in the archive, referenced by no event).", Schema: ProofCheckSchema(), Partitions: Partitions(), Mode: hiveparquet.Overwrite},
	}
}

// ProofFiles is the folder of raw proof files (hiveparquet.Files mode):
// committed like a table, but not Parquet, so it has no DDL.
func ProofFiles() hiveparquet.Table {
	return hiveparquet.Table{Name: ProofFilesTable, Doc: "The proof files themselves, bytes unchanged, named by proof ID (raw files, not Parquet).", Schema: ProofFilesSchema(), Partitions: Partitions(), Mode: hiveparquet.Files}
}

// AllTables returns every table the pipeline commits: Tables, ProofTables
// and the proof files.
func AllTables() []hiveparquet.Table {
	return append(append(Tables(), ProofTables()...), ProofFiles())
}
