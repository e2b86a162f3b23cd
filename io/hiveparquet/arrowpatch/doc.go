// Package arrowpatch holds every place where vendorlake reaches into Apache
// Arrow Go v15's internals, and their one guard (Check): the Parquet
// level-buffer pool and zstd codec registry, replaced by go:linkname for
// speed (levelbuf.go, zstd.go), and the unexported fields of
// pqarrow.FileWriter that the sink's parallel row-group writer uses
// (filewriter.go). The bytes written are Arrow's own in every case. An
// Arrow upgrade must make Check, and so this package's tests and the
// command's start-up, fail rather than let a patch silently stop working.
package arrowpatch
