package id5

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestCompactMinFilesFlag: the flag's 0 never compacts (a negative
// Pipeline.CompactMinFiles), its default is DefaultCompactMinFiles, and a
// negative value is a usage error.
func TestCompactMinFilesFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
		err  string
	}{
		{args: nil, want: DefaultCompactMinFiles},
		{args: []string{"--compact-min-files=0"}, want: -1},
		{args: []string{"--compact-min-files=3"}, want: 3},
		{args: []string{"--compact-min-files=-2"}, err: "--compact-min-files=-2"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			f := &flags{}
			fs := flag.NewFlagSet("id5", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.Register(fs)
			if err := fs.Parse(append([]string{"--source-gvlid=35"}, c.args...)); err != nil {
				t.Fatal(err)
			}
			err := f.Validate()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Validate: %v, want an error naming %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Pipeline(nil).(Pipeline).CompactMinFiles; got != c.want {
				t.Errorf("CompactMinFiles %d, want %d", got, c.want)
			}
		})
	}
}
