package hiveparquet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

func TestScanLake(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	table := func(name string) Table {
		return Table{Name: name, Schema: schema, Partitions: []PartitionColumn{{Name: "date", Type: "date"}}}
	}
	tables := []Table{table("full"), table("success_only"), table("missing"), table("tmp_only"), table("hidden_part"), table("not_parquet"), table("flat")}
	lake := t.TempDir()
	for _, f := range []string{
		"full/date=2024-01-01/part-0.parquet",
		"full/date=2024-01-01/part-1.parquet",
		"full/date=2023-12-31/part-0.parquet",
		"full/stray/part-0.parquet",
		"full/_SUCCESS",
		"success_only/_SUCCESS",
		"tmp_only/_temporary/part-0.parquet",
		"hidden_part/.date=2024-01-01/part-0.parquet",
		"not_parquet/date=2024-01-01/PROOF.pdf",
		"flat/part-0.parquet",
		inLake(lakefs.Join(lakestate.TempDir(inLakeRoot, "p", "run"), "missing/part-0.parquet")),
	} {
		p := filepath.Join(lake, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := ScanLake(context.Background(), lakefs.Local{}, lake, tables)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][][]string{"full": {{"2023-12-31"}, {"2024-01-01"}}, "flat": nil}; !reflect.DeepEqual(found, want) {
		t.Errorf("partitions found = %v, want %v (the stray folder names none)", found, want)
	}
	var names []string
	for _, tb := range got {
		names = append(names, tb.Name)
	}
	if want := []string{"full", "flat"}; !reflect.DeepEqual(names, want) {
		t.Errorf("tables with data = %v, want %v", names, want)
	}

	_, _, err = ScanLake(context.Background(), failingList{}, lake, tables)
	if err == nil || !errors.Is(err, errDenied) {
		t.Errorf("a lake that cannot be listed: err = %v, want %v", err, errDenied)
	}
}

var errDenied = errors.New("access denied")

// failingList is a lake whose listing is refused (an Athena user without
// read access to the bucket, say).
type failingList struct{ lakefs.Local }

func (failingList) List(context.Context, string) ([]lakefs.FileInfo, error) { return nil, errDenied }

// TestAthenaPartitions: projection only where an unfiltered query can
// enumerate every partition, registered partitions elsewhere.
func TestAthenaPartitions(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	id := PartitionColumn{Name: "export_id", Type: "string"}
	date := PartitionColumn{Name: "date", Type: "date"}
	req := PartitionColumn{Name: "request_id", Type: "string", PerDelivery: true}
	partner := PartitionColumn{Name: "partner_gvlid", Type: "int"}
	for _, c := range []struct {
		name  string
		parts []PartitionColumn
		found [][]string // nil: the lake was not listed
		start string     // --date-range-start
		want  []string   // in the script
		not   []string   // not in the script
	}{
		{"ids and dates project", []PartitionColumn{id, date}, [][]string{{"exp-web", "2024-03-02"}, {"exp-app", "2024-03-01"}}, "",
			[]string{"'projection.export_id.type'='enum'", "'projection.export_id.values'='exp-app,exp-web'", "'projection.date.range'='2024-03-01,NOW'", "`date` date", "ALTER TABLE `t` SET TBLPROPERTIES (\n  'projection.enabled'='true',"},
			[]string{"injected", "ADD IF NOT EXISTS"}},
		{"a later --date-range-start moves back to the data", []PartitionColumn{date}, [][]string{{"2020-01-01"}}, "2023-01-01",
			[]string{"'projection.date.range'='2020-01-01,NOW'"}, nil},
		{"an earlier --date-range-start stays", []PartitionColumn{date}, [][]string{{"2020-01-01"}}, "2019-01-01",
			[]string{"'projection.date.range'='2019-01-01,NOW'"}, nil},
		{"dates before the first run project", []PartitionColumn{date}, nil, "",
			[]string{"'projection.date.range'='2015-01-01,NOW'"}, nil},
		{"request ids register", []PartitionColumn{req, date}, [][]string{{"REQ-1", "2024-03-01"}},
			"", []string{"'projection.enabled'='false'", "ALTER TABLE `t` ADD IF NOT EXISTS\n  PARTITION (`request_id`='REQ-1', `date`='2024-03-01') LOCATION 's3://b/l/t/request_id=REQ-1/date=2024-03-01/'\n;", "MSCK REPAIR TABLE"},
			[]string{"'projection.enabled'='true'", "injected"}},
		{"integers register", []PartitionColumn{partner}, [][]string{{"45"}, {"109"}}, "",
			[]string{"PARTITION (`partner_gvlid`=45)", "PARTITION (`partner_gvlid`=109)", "`partner_gvlid` int"}, []string{"'projection.enabled'='true'", "integer"}},
		{"ids not listed register nothing yet", []PartitionColumn{id, date}, nil, "",
			[]string{"none is known yet", "'projection.enabled'='false'"}, []string{"ADD IF NOT EXISTS"}},
		{"an escaped id registers", []PartitionColumn{id}, [][]string{{"a/b"}, {"c"}}, "",
			[]string{"PARTITION (`export_id`='a/b') LOCATION 's3://b/l/t/export_id=a%2Fb/'"}, []string{"'projection.enabled'='true'"}},
		{"a quote is escaped", []PartitionColumn{id}, [][]string{{"it's"}}, "",
			[]string{`PARTITION (` + "`export_id`" + `='it\'s') LOCATION 's3://b/l/t/export_id=it%27s/'`}, nil},
		{"a future date registers", []PartitionColumn{date}, [][]string{{"2999-01-01"}}, "",
			[]string{"PARTITION (`date`='2999-01-01')"}, []string{"'projection.enabled'='true'"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := Table{Name: "t", Doc: "A row.", Schema: schema, Partitions: c.parts}
			o := DDLOptions{Dialect: Athena, Location: "s3://b/l", DateRangeStart: c.start}
			if c.found != nil {
				o.Found = map[string][][]string{"t": c.found}
			}
			got, err := DDL([]Table{tb}, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in\n%s", w, got)
				}
			}
			for _, w := range c.not {
				if strings.Contains(got, w) {
					t.Errorf("do not want %q in\n%s", w, got)
				}
			}
		})
	}
}

// TestDDLMakesLocalLocationsAbsolute: a relative lake becomes an absolute
// URI (file://lake/x would name a host "lake").
func TestDDLMakesLocalLocationsAbsolute(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	abs, err := filepath.Abs("lake")
	if err != nil {
		t.Fatal(err)
	}
	for dialect, want := range map[string]string{Athena: "'file://" + abs + "/t/'", Spark: "'file://" + abs + "/t'", Trino: "'local://" + abs + "/t'", DuckDB: "'" + abs + "/t/**/*.parquet'"} {
		got, err := DDL([]Table{{Name: "t", Schema: schema}}, DDLOptions{Dialect: dialect, Location: "lake"})
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("%s: want %s in\n%s (%v)", dialect, want, got, err)
		}
	}
	got, _ := DDL([]Table{{Name: "t", Schema: schema}}, DDLOptions{Dialect: Athena, Location: "s3://b/l/"})
	if !strings.Contains(got, "LOCATION 's3://b/l/t/'") {
		t.Errorf("s3 location changed:\n%s", got)
	}
}
