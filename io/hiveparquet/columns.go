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

// dictionaryKey is the Arrow field metadata key with which a schema turns
// Parquet dictionary encoding off for one top-level column.
const dictionaryKey = "vendorlake.parquet.dictionary"

// NoDictionary marks a column whose values are (nearly) all distinct, such as
// ids, offsets and microsecond timestamps: it is written without a
// dictionary. Dictionary encoding is on for every other column; on a
// unique column it only costs time: every value is hashed into a
// dictionary that grows to the page limit, is compressed and written, and
// then the writer falls back to plain encoding anyway.
func NoDictionary(f arrow.Field) arrow.Field {
	md := map[string]string{dictionaryKey: "false"}
	for i, k := range f.Metadata.Keys() {
		md[k] = f.Metadata.Values()[i]
	}
	f.Metadata = arrow.MetadataFrom(md)
	return f
}

// noDictionary lists the top-level columns of schema marked NoDictionary.
func noDictionary(schema *arrow.Schema) []string {
	var cols []string
	for _, f := range schema.Fields() {
		if v, ok := f.Metadata.GetValue(dictionaryKey); ok && v == "false" {
			cols = append(cols, f.Name)
		}
	}
	return cols
}

// NoDictionaryColumn is NoDictionary(Column(name, t)): a nullable column of
// (nearly) distinct values, written without a dictionary.
func NoDictionaryColumn(name string, t arrow.DataType) arrow.Field {
	return NoDictionary(Column(name, t))
}
