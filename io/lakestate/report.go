package lakestate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// A run report is any JSON value (the runner's transforms.RunReport); this
// package only stores it, indented, at ReportPath.

// WriteReport stores report as the report of run runID under output.
func WriteReport(ctx context.Context, fsys lakefs.FS, output, runID string, report any) error {
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	return lakefs.WriteFile(ctx, fsys, ReportPath(output, runID), data)
}

// ReportWrite returns the side write that stores report as the report of
// run runID as part of its commit.
func ReportWrite(output, runID string, report any) (SideWrite, error) {
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return SideWrite{}, err
	}
	return SideWrite{Path: ReportPath(output, runID), Data: data}, nil
}

// ReadReport reads the report of run runID under output into report (a
// pointer).
func ReadReport(ctx context.Context, fsys lakefs.FS, output, runID string, report any) error {
	data, err := lakefs.ReadFile(ctx, fsys, ReportPath(output, runID))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, report); err != nil {
		return fmt.Errorf("read run report: %w", err)
	}
	return nil
}
