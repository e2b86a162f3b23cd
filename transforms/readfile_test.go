package transforms

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// TestReadLinesErrorsNameTheFileOnce: a corrupt compressed file fails with
// its path and its format named once each (not "read X: read X:" or
// "gzip: gzip:").
func TestReadLinesErrorsNameTheFileOnce(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(strings.Repeat("a line\n", 1000)))
	w.Close()
	good := gz.Bytes()
	badSum := bytes.Clone(good)
	badSum[len(badSum)-8] ^= 0xff                              // the CRC-32 of the trailer
	badHeader := append([]byte{0x1f, 0x8b, 0x07}, good[3:]...) // not deflate
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"truncated":    {good[:len(good)/2], "gzip stream is truncated"},
		"bad checksum": {badSum, "gzip: invalid checksum"},
		"bad header":   {badHeader, "gzip: invalid header"},
	} {
		p := filepath.Join(t.TempDir(), "users.json.gz")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		f := InputFile{Path: p, Rel: "users.json.gz", Size: int64(len(c.data))}
		_, err := ReadLines(context.Background(), lakefs.Local{}, f, lineparse.RejectTable("rej", nil), lineparse.Options{}, nil, newEcho, func(hiveparquet.Batch) {})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || strings.Count(msg, p) != 1 || strings.Count(msg, "gzip") != 1 {
			t.Errorf("%s: error %q, want %q with the path and gzip named once", name, msg, c.want)
		}
	}
}
