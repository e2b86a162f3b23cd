package run

import (
	"context"
	"fmt"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// checkInputFound fails a run whose input root holds no file at all: a
// mistyped folder or S3 prefix (S3 cannot tell a missing prefix from an
// empty one) must not pass for "nothing to do". It is called only when
// discovery found nothing, so a busy input is not listed twice.
func checkInputFound(ctx context.Context, fsys lakefs.FS, input string) error {
	files, err := fsys.List(ctx, input)
	if err != nil {
		return fmt.Errorf("discover %s: %w", input, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no input found under %s: check --input", input)
	}
	return nil
}

// commitPending reports whether the commit log of runID is recorded under
// output (or cannot be ruled out): a commit that failed half way is finished
// by the next run from the run's temporary files, which must then be kept.
// The path is hiveparquet's: OUTPUT/_vendorlake/commits/RUN_ID.json.
func commitPending(ctx context.Context, fsys lakefs.FS, output, runID string) bool {
	ok, err := lakefs.Exists(ctx, fsys, lakefs.Join(output, "_vendorlake", "commits", runID+".json"))
	return ok || err != nil
}

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
