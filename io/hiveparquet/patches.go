package hiveparquet

import "github.com/vendorlake/vendorlake/io/hiveparquet/arrowpatch"

// CheckArrowPatches reports whether the sink's reaches into Arrow Go v15
// internals (package arrowpatch) work in this process. The command calls
// it at start-up and every write DoFn in its Setup, so a worker process
// with a broken patch fails before writing anything.
func CheckArrowPatches() error { return arrowpatch.Check() }
