package transforms

import (
	"slices"
	"strings"
)

// Found is what a pipeline's discovery saw under the input besides what it
// selected. The run judges a plan that selects nothing with it: nothing
// matching Layout, or a Filter that matches nothing, is a mistake (exit 6);
// a date range without a partition is normal (the day's drop is not there
// yet) and only warned about.
type Found struct {
	// Layout is the input layout the pipeline reads, relative to the input
	// root, e.g. "export-id=ID/date=YYYY-MM-DD/…/*.json.gz". Empty: the
	// pipeline reads no vendor input and its plan is not judged.
	Layout string
	// Units counts the units under the input that match Layout, selected
	// or not.
	Units int
	// Filters are the run's selections, with the values found for them.
	Filters []Filter
}

// Filter is one selection of a run (a value flag such as --export-id, or
// the date range --from/--to) and what the input holds for it.
type Filter struct {
	// Flag is the selection as given, e.g. "--export-id=nope" or
	// "--from=2024-03-01 --to=2024-03-31".
	Flag string
	// Of names the values, e.g. "export-ids" or "dates".
	Of string
	// Values are the distinct values found under the input, sorted
	// (numbers in numeric order).
	Values []string
	// Matched reports whether any unit of the input matched the selection.
	Matched bool
	// Dates marks the date range, which may match nothing: a warning, not
	// a mistake.
	Dates bool
}

// ValueFilter returns the Filter of a selection by value: flag=value among
// the values found (a set; they are sorted here).
func ValueFilter(flag, value, of string, found map[string]bool) Filter {
	return Filter{Flag: flag + "=" + value, Of: of, Values: sortedKeys(found), Matched: found[value]}
}

// DateFilter returns the Filter of the date range [from, to] (either may
// be empty) among the dates found (a set), which matched unless matched is
// false.
func DateFilter(from, to string, found map[string]bool, matched bool) Filter {
	var flags []string
	if from != "" {
		flags = append(flags, "--from="+from)
	}
	if to != "" {
		flags = append(flags, "--to="+to)
	}
	return Filter{Flag: strings.Join(flags, " "), Of: "dates", Values: sortedKeys(found), Matched: matched, Dates: true}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Numbers (ID5 partner GVLIDs) in numeric order, the rest as text.
	slices.SortFunc(keys, func(a, b string) int {
		if isNumber(a) && isNumber(b) && len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return keys
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
