package lakefs

import "io"

// Aborter is implemented by writers that can abandon what they wrote: an
// S3 upload aborted this way leaves no object behind.
type Aborter interface {
	Abort(cause error) error
}

// Abort abandons w (a writer from FS.Create) after a failure on the writing
// side: the file does not appear where the store can avoid it (S3); local
// files are closed and left for the caller's cleanup. It returns cause.
func Abort(w io.WriteCloser, cause error) error {
	if a, ok := w.(Aborter); ok {
		a.Abort(cause)
		return cause
	}
	w.Close()
	return cause
}
