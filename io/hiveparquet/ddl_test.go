package hiveparquet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
)

func TestTablesWithData(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	table := func(name string) Table { return Table{Name: name, Schema: schema} }
	tables := []Table{table("full"), table("success_only"), table("missing"), table("tmp_only"), table("hidden_part"), table("not_parquet"), table("flat")}
	lake := t.TempDir()
	for _, f := range []string{
		"full/date=2024-01-01/part-0.parquet",
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
	got, err := TablesWithData(context.Background(), lakefs.Local{}, lake, tables)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range got {
		names = append(names, tb.Name)
	}
	if want := []string{"full", "flat"}; !reflect.DeepEqual(names, want) {
		t.Errorf("tables with data = %v, want %v", names, want)
	}

	_, err = TablesWithData(context.Background(), failingList{}, lake, tables)
	if err == nil || !errors.Is(err, errDenied) {
		t.Errorf("a lake that cannot be listed: err = %v, want %v", err, errDenied)
	}
}

var errDenied = errors.New("access denied")

// failingList is a lake whose listing is refused (an Athena user without
// read access to the bucket, say).
type failingList struct{ lakefs.Local }

func (failingList) List(context.Context, string) ([]lakefs.FileInfo, error) { return nil, errDenied }
