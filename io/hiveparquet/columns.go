package hiveparquet

import "github.com/apache/arrow/go/v15/arrow"

// Column is a nullable column: every vendor field may be absent or null.
func Column(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

// ListOf is a LIST whose element is named "element", as the Parquet
// spec's three-level list and Athena/Spark expect.
func ListOf(t arrow.DataType) arrow.DataType {
	return arrow.ListOfField(arrow.Field{Name: "element", Type: t, Nullable: true})
}

// TimestampUTC is the timestamp type of every table: Parquet
// TIMESTAMP(MICROS, isAdjustedToUTC=true), never INT96.
func TimestampUTC() arrow.DataType {
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
}
