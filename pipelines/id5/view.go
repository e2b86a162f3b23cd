package id5

import (
	"strings"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// Views are the ID5 pipeline's views, declared by `vendorlake ddl`.
func Views() []hiveparquet.View { return []hiveparquet.View{CurrentView()} }

// CurrentView is id5_mapping_current: the latest row per (partner, UID)
// over id5_mapping_base and the id5_mapping_updates rows delivered after
// the base (after both cutoffs of id5_mapping_base_state, see base.go),
// ordered like CurrentMapping: delivery time, then source file, then line.
// Its rows are CurrentMapping's after every commit of the pipeline.
func CurrentView() hiveparquet.View {
	return hiveparquet.View{Name: CurrentTable,
		Doc:   "One row per (UID, partner): the partner UID in force now, and the row it came from (id5_mapping_base plus the incremental rows delivered after it).",
		Query: currentViewQuery}
}

// currentViewQuery writes the view's SELECT over the tables declared.
func currentViewQuery(ident func(string) string, declared func(string) bool) string {
	const cols = "uid, partner_uid, source_gvlid, updated_at, source_file, source_line, partner_gvlid"
	var parts []string
	if declared(BaseTable) {
		parts = append(parts, "    SELECT "+cols+" FROM "+ident(BaseTable))
	}
	if declared(UpdatesTable) {
		q := "    SELECT u.uid, u.partner_uid, u.source_gvlid, u.delivered_at AS updated_at, u.source_file, u.source_line, u.partner_gvlid\n" +
			"    FROM " + ident(UpdatesTable) + " u"
		if declared(BaseStateTable) {
			q += "\n    LEFT JOIN " + ident(BaseStateTable) + " e ON e.partner_gvlid = u.partner_gvlid" +
				"\n    LEFT JOIN " + ident(BaseStateTable) + " h ON h.partner_gvlid = 0" +
				"\n    WHERE (e.cutoff IS NULL OR u.delivered_at > e.cutoff) AND (h.cutoff IS NULL OR u.delivered_at > h.cutoff)"
		}
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		return ""
	}
	return "SELECT " + cols + "\nFROM (\n  SELECT r.*, row_number() OVER (PARTITION BY partner_gvlid, uid ORDER BY updated_at DESC, source_file DESC, source_line DESC) AS rn\n  FROM (\n" +
		strings.Join(parts, "\n    UNION ALL\n") + "\n  ) r\n) w\nWHERE rn = 1"
}
