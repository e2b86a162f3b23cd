package hiveparquet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// athenaPlan is how Athena learns a table's partitions.
type athenaPlan struct {
	// project is set when partition projection covers every partition.
	project bool
	// enums are the values of each string partition column (projection).
	enums map[string][]string
	// from is the first date of the date projections.
	from string
	// why says, in the script, how the partitions are found and what to run
	// after new ones arrive.
	why string
}

// registerBatch is how many partitions one ALTER TABLE ADD PARTITION names.
const registerBatch = 100

// planAthena decides between partition projection and registered
// partitions for t. Projection is per table (with it on, Athena ignores
// registered partitions), and an unfiltered query must work: so dates are
// projected over a range, and a string column only as an enum of the values
// found in the lake. A table is projected when every partition column is a
// date or such a string, every value found can be projected (no value that
// Hive escapes in folder names, no comma, no null partition) and, for
// strings, the lake was listed. Otherwise its partitions are registered:
// columns with a new value per delivery (PerDelivery: Audience Studio's
// request_id), integer columns (Trino's enum projection takes only strings,
// and an integer range probes every number in it), and tables not listed.
func planAthena(t Table, o DDLOptions) athenaPlan {
	found, listed := o.Found[t.Name]
	p := athenaPlan{project: true, enums: map[string][]string{}, from: o.DateRangeStart}
	var names []string
	for i, c := range t.Partitions {
		switch {
		case c.Type == "date":
			for _, v := range found {
				if !projectableDate(v[i]) {
					p.project = false
				} else if p.from == "" || v[i] < p.from {
					p.from = v[i]
				}
			}
		case c.Type == "string" && !c.PerDelivery && listed:
			seen := map[string]bool{}
			for _, v := range found {
				if !projectableString(v[i]) {
					p.project = false
				}
				if !seen[v[i]] {
					seen[v[i]] = true
					p.enums[c.Name] = append(p.enums[c.Name], v[i])
				}
			}
			sort.Strings(p.enums[c.Name])
			if len(p.enums[c.Name]) == 0 {
				p.project = false
			}
			names = append(names, c.Name)
		default:
			p.project = false
		}
	}
	if p.from == "" {
		p.from = "2015-01-01"
	}
	switch {
	case p.project && len(names) > 0:
		p.why = fmt.Sprintf("Partitions are projected: dates from %s to today, %s as found in the lake. A new %s value needs this script again (its ALTER TABLE SET TBLPROPERTIES updates the table); new dates need nothing.",
			p.from, strings.Join(names, ", "), strings.Join(names, " or "))
	case p.project:
		p.why = fmt.Sprintf("Partitions are projected: dates from %s to today. New dates need nothing.", p.from)
	case !listed:
		p.why = "Partitions are registered, and none is known yet (the lake was not listed): after the first run, run `vendorlake ddl` and this script again, or MSCK REPAIR TABLE."
	default:
		p.why = "Partitions are registered (one value per delivery, or values projection cannot enumerate): after new partitions arrive, run `vendorlake ddl` and this script again (ADD IF NOT EXISTS), or MSCK REPAIR TABLE."
	}
	return p
}

// projectableDate reports whether a folder's date can be projected: a
// yyyy-MM-dd date that is not in the future (the range ends at NOW).
func projectableDate(v string) bool {
	d, err := time.Parse(time.DateOnly, v)
	return err == nil && d.Format(time.DateOnly) == v && !d.After(time.Now().UTC())
}

// projectableString reports whether an enum projection finds the folder of
// v: Athena puts the value into the location template as it is, so a value
// that Hive escapes in folder names, or that the comma-separated values
// list would split, must be registered instead.
func projectableString(v string) bool {
	if v == "" || v == DefaultPartitionValue || strings.ContainsAny(v, ",") {
		return false
	}
	var b strings.Builder
	escapeValue(&b, v)
	return b.String() == v && !strings.ContainsAny(v, "\\ \t")
}

// hiveString quotes s as a Hive (Athena DDL, Spark SQL) string literal.
func hiveString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func athenaDDL(b *strings.Builder, t Table, o DDLOptions) error {
	name := qualified(o, t.Name)
	fmt.Fprintf(b, "-- %s\n", t.Doc)
	var plan athenaPlan
	if len(t.Partitions) > 0 {
		plan = planAthena(t, o)
		fmt.Fprintf(b, "-- %s\n", plan.why)
	}
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s ", name)
	if err := columns(b, t, nil); err != nil {
		return err
	}
	if len(t.Partitions) > 0 {
		var parts []string
		for _, p := range t.Partitions {
			parts = append(parts, fmt.Sprintf("`%s` %s", p.Name, partitionHiveType(p)))
		}
		fmt.Fprintf(b, "PARTITIONED BY (%s)\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(b, "STORED AS PARQUET\nLOCATION '%s/'\n", location(o, t))
	props := [][2]string{{"parquet.compression", "ZSTD"}}
	var update [][2]string // what a rerun changes on an existing table
	if len(t.Partitions) > 0 && plan.project {
		props = append(props, [2]string{"projection.enabled", "true"})
		update = append(update, [2]string{"projection.enabled", "true"})
		tmpl := location(o, t)
		for _, p := range t.Partitions {
			tmpl += "/" + p.Name + "=${" + p.Name + "}"
			key := "projection." + p.Name
			switch p.Type {
			case "date":
				props = append(props,
					[2]string{key + ".type", "date"},
					[2]string{key + ".format", "yyyy-MM-dd"},
					[2]string{key + ".range", plan.from + ",NOW"},
					[2]string{key + ".interval", "1"},
					[2]string{key + ".interval.unit", "DAYS"})
				update = append(update, [2]string{key + ".range", plan.from + ",NOW"})
			default:
				values := [2]string{key + ".values", strings.Join(plan.enums[p.Name], ",")}
				props = append(props, [2]string{key + ".type", "enum"}, values)
				update = append(update, values)
			}
		}
		props = append(props, [2]string{"storage.location.template", tmpl + "/"})
	} else if len(t.Partitions) > 0 {
		// A table that an older vendorlake declared with projection stops
		// projecting when this script runs again.
		update = append(update, [2]string{"projection.enabled", "false"})
	}
	b.WriteString("TBLPROPERTIES (\n")
	writeProps(b, props)
	b.WriteString(");\n")
	if len(update) > 0 {
		fmt.Fprintf(b, "ALTER TABLE %s SET TBLPROPERTIES (\n", name)
		writeProps(b, update)
		b.WriteString(");\n")
	}
	if len(t.Partitions) > 0 && !plan.project {
		return athenaRegister(b, t, o, name)
	}
	return nil
}

func writeProps(b *strings.Builder, props [][2]string) {
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %s=%s%s\n", hiveString(p[0]), hiveString(p[1]), sep)
	}
}

// athenaRegister writes ALTER TABLE ADD IF NOT EXISTS PARTITION statements
// for every partition found, registerBatch at a time.
func athenaRegister(b *strings.Builder, t Table, o DDLOptions, name string) error {
	found := o.Found[t.Name]
	keys := t.Spec().PartitionKeys
	for i := 0; i < len(found); i += registerBatch {
		end := min(i+registerBatch, len(found))
		fmt.Fprintf(b, "ALTER TABLE %s ADD IF NOT EXISTS\n", name)
		for _, values := range found[i:end] {
			folder, err := PartitionPath(keys, values...)
			if err != nil {
				return err
			}
			var spec []string
			for k, v := range values {
				lit := hiveString(v)
				if _, err := strconv.Atoi(v); err == nil && t.Partitions[k].Type == "int" {
					lit = v
				}
				spec = append(spec, fmt.Sprintf("`%s`=%s", keys[k], lit))
			}
			fmt.Fprintf(b, "  PARTITION (%s) LOCATION '%s/%s/'\n", strings.Join(spec, ", "), location(o, t), folder)
		}
		b.WriteString(";\n")
	}
	return nil
}
