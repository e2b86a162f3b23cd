package main

import (
	"runtime/debug"
)

// version is the command's version: the module version it was built at
// (go install …@v1.2.0), else the VCS revision of its checkout (12 hex
// digits, "-dirty" with uncommitted changes), else "devel". It is printed
// by --version, and recorded in each run report and as the created_by of
// each Parquet file.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(info)
}

// versionOf is version for the build info.
func versionOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	rev = rev[:min(len(rev), 12)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}
