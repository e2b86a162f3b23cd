package run

import (
	"errors"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakestate"
)

// ErrLocked is returned (wrapped) when another run holds the output's lock
// (see lakestate.AcquireLock).
var ErrLocked = lakestate.ErrLocked

// ErrNothingMatched is returned (wrapped, with what was expected and what
// was found) when nothing under the input matches the vendor's layout, or
// when a filter (--export-id, --request-id, --partner) selects nothing: the
// command exits 6.
var ErrNothingMatched = errors.New("nothing matched")

// ErrWaitExpired is returned (wrapped, naming the units) when
// --wait-for-success expired with units still incomplete; the complete
// units were committed all the same. The command exits 7.
var ErrWaitExpired = errors.New("--wait-for-success expired")

// pipelineError shortens the error of a failed Beam job to its cause: the
// direct runner puts a dump of the execution plan before the DoFn's error
// ("...\n\tcaused by:\nDoFn[...] failed:\nERROR"). The result is one line
// and still unwraps to err.
func pipelineError(err error) error {
	msg := err.Error()
	const causedBy = "\n\tcaused by:\n"
	i := strings.LastIndex(msg, causedBy)
	if i < 0 {
		return err
	}
	cause := msg[i+len(causedBy):]
	if j := strings.Index(cause, "] failed:\n"); strings.HasPrefix(cause, "DoFn[") && j >= 0 {
		cause = cause[j+len("] failed:\n"):]
	}
	return &shortError{msg: strings.Join(strings.Fields(cause), " "), err: err}
}

type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }
