// Package hiveparquet is vendorlake's Hive-partitioned Parquet sink: Beam
// transforms that write Arrow record batches into per-partition Parquet files
// in a temporary area, and the plan that publishes them (Plan: the moves
// and deletes of a commit log) as TABLE/key=value/... with dynamic
// partition overwrite or idempotent append. The commit step that decides
// what a run publishes and applies the plan is package commit
// (transforms/commit); the DDL and views that declare the tables are here.
//
// It takes Arrow schemas and batches of rows; it knows nothing of any vendor.
package hiveparquet

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// Mode says how a commit replaces what earlier runs wrote.
type Mode string

const (
	// Overwrite replaces every partition that the run claims (dynamic
	// partition overwrite): files of earlier runs in it are removed.
	Overwrite Mode = "overwrite"
	// IdempotentAppend replaces, inside each partition, only the files that
	// earlier runs wrote from the same input (source); rows of other inputs
	// stay. Reprocessing an input replaces its rows, never duplicates them.
	IdempotentAppend Mode = "idempotent-append"
	// Files is for raw-file tables (e.g. documents copied as they are, not
	// Parquet): each file keeps its FileDesc.Name, and a claim replaces
	// every file of the partition folder, whatever its name.
	Files Mode = "files"
)

// PartitionColumn is one Hive partition column.
type PartitionColumn struct {
	// Name is the lower snake_case column name used in the folder names.
	Name string
	// Type is the SQL type of the column: "string", "date" or "int".
	Type string
	// PerDelivery marks a column that takes a new value with (almost) every
	// delivery, such as a request id: too many values to enumerate, so
	// Athena's DDL registers its partitions instead of projecting them.
	PerDelivery bool
}

// Table describes one output table: the single source of truth from which
// the writers, the DDL and the docs derive.
type Table struct {
	// Name is the table folder under the output root, e.g. "didomi_users".
	Name string
	// Doc is a one-line description of a row.
	Doc string
	// Schema is the Arrow schema of the data columns (partition columns are
	// not repeated inside the files).
	Schema *arrow.Schema
	// Partitions are the Hive partition columns, outermost first.
	Partitions []PartitionColumn
	// Mode is the commit mode.
	Mode Mode
	// Rejects marks a table of rejected input rows. When a run's commit is
	// refused (reject gate, extract guard), the run's files of such tables
	// are kept as evidence outside the tables (see RejectsDir in
	// io/lakestate) instead of being deleted with the temporary area.
	Rejects bool
}

// Spec returns the serialisable part of t that the commit step needs.
func (t Table) Spec() TableSpec {
	keys := make([]string, len(t.Partitions))
	for i, p := range t.Partitions {
		keys[i] = p.Name
	}
	return TableSpec{Name: t.Name, PartitionKeys: keys, Mode: t.Mode, Rejects: t.Rejects}
}

// TableSpec is the serialisable description of a table used by the commit.
type TableSpec struct {
	Name          string   `json:"name"`
	PartitionKeys []string `json:"partition_keys"`
	Mode          Mode     `json:"mode"`
	Rejects       bool     `json:"rejects,omitempty"`
}

// DefaultPartitionValue is Hive's name for a null or empty partition value.
const DefaultPartitionValue = "__HIVE_DEFAULT_PARTITION__"

// PartitionPath returns the Hive partition folder "k1=v1/k2=v2" for the
// given keys and values, escaping values the way Hive does (%XX for
// characters that are unsafe in paths).
func PartitionPath(keys []string, values ...string) (string, error) {
	if len(keys) != len(values) {
		return "", fmt.Errorf("partition path: %d keys but %d values", len(keys), len(values))
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(k)
		b.WriteByte('=')
		v := values[i]
		if v == "" {
			b.WriteString(DefaultPartitionValue)
			continue
		}
		escapeValue(&b, v)
	}
	return b.String(), nil
}

// escapeValue follows Hive's FileUtils.escapePathName.
func escapeValue(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			fmt.Fprintf(b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

// ParsePartitionPath splits "k1=v1/k2=v2" into keys and unescaped values.
func ParsePartitionPath(p string) (keys, values []string, err error) {
	if p == "" {
		return nil, nil, nil
	}
	for _, seg := range strings.Split(p, "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("partition path %q: segment %q is not key=value", p, seg)
		}
		uv, err := url.PathUnescape(v)
		if err != nil {
			return nil, nil, fmt.Errorf("partition path %q: %w", p, err)
		}
		keys = append(keys, k)
		values = append(values, uv)
	}
	return keys, values, nil
}
