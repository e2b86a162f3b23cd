package run

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms"
)

// Bounds of the examples an error or a warning names.
const (
	maxPathsSeen = 5
	maxValues    = 10
)

// judge decides, for every pipeline alike, what a plan means beyond what
// it selects (plan.Found):
//
//   - no file under the input matches the vendor's layout (a mistyped or
//     too deep --input, another vendor's folder, an empty S3 prefix): an
//     error wrapping ErrNothingMatched naming the layout and a few paths
//     seen;
//   - a filter by value (--export-id, --request-id, --partner) matches
//     nothing: an error wrapping ErrNothingMatched naming the values found;
//   - the date range matches nothing: normal before the day's drop, so a
//     warning, returned to be added to the plan's Skipped.
//
// A pipeline that reads no vendor input (Found.Layout empty) is only
// checked for an input holding no file at all.
func judge(ctx context.Context, fsys lakefs.FS, input string, plan transforms.Plan) ([]transforms.Skipped, error) {
	found := plan.Found
	if found.Layout == "" {
		if len(plan.Units) > 0 || len(plan.Skipped) > 0 {
			return nil, nil
		}
		files, err := fsys.List(ctx, input)
		if err != nil {
			return nil, fmt.Errorf("discover %s: %w", input, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: no file under %s: check --input", ErrNothingMatched, input)
		}
		return nil, nil
	}
	if found.Units == 0 {
		return nil, layoutError(ctx, fsys, input, found.Layout)
	}
	var misses []string
	var warnings []transforms.Skipped
	for _, f := range found.Filters {
		switch {
		case f.Matched:
		case f.Dates:
			seen := "no date found"
			if n := len(f.Values); n > 0 {
				seen = fmt.Sprintf("dates found: %s to %s", f.Values[0], f.Values[n-1])
			}
			warnings = append(warnings, transforms.Skipped{What: f.Flag, Warning: true,
				Reason: fmt.Sprintf("nothing under the input is dated in this range yet (%s)", seen)})
		default:
			misses = append(misses, fmt.Sprintf("%s matches nothing under %s; %s found: %s", f.Flag, input, f.Of, some(f.Values, maxValues)))
		}
	}
	if len(misses) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNothingMatched, strings.Join(misses, "; "))
	}
	return warnings, nil
}

// layoutError is the error of an input where no file matches layout: it
// names the layout and up to maxPathsSeen of the files found instead.
func layoutError(ctx context.Context, fsys lakefs.FS, input, layout string) error {
	files, err := fsys.List(ctx, input)
	if err != nil {
		return fmt.Errorf("discover %s: %w", input, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no file under %s (want the layout %s): check --input", ErrNothingMatched, input, layout)
	}
	rels := make([]string, 0, len(files))
	for _, f := range files {
		if rel, ok := lakefs.Rel(input, f.Path); ok {
			rels = append(rels, strings.ToValidUTF8(rel, "\uFFFD"))
		}
	}
	slices.Sort(rels)
	return fmt.Errorf("%w: no file under %s matches the layout %s; found %d files: %s",
		ErrNothingMatched, input, layout, len(files), some(rels, maxPathsSeen))
}

// some lists up to n of values, saying how many more there are.
func some(values []string, n int) string {
	if len(values) == 0 {
		return "none"
	}
	if len(values) <= n {
		return strings.Join(values, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(values[:n], ", "), len(values)-n)
}
