package decompress

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestNewReader(t *testing.T) {
	two := append(gz(t, "a\n"), gz(t, "b\n")...)
	full := gz(t, strings.Repeat("line\n", 1000))
	tests := []struct {
		name    string
		in      []byte
		want    string
		kind    Kind
		wantErr string
	}{
		{name: "plain", in: []byte("x\ny\n"), want: "x\ny\n", kind: Plain},
		{name: "empty", in: nil, want: "", kind: Plain},
		{name: "gzip", in: gz(t, "hello\n"), want: "hello\n", kind: Gzip},
		{name: "gzip multistream", in: two, want: "a\nb\n", kind: Gzip},
		{name: "gzip truncated", in: full[:len(full)/2], kind: Gzip, wantErr: "truncated"},
		{name: "gzip corrupt", in: append(append([]byte{}, full[:20]...), bytes.Repeat([]byte{0xff}, 40)...), kind: Gzip, wantErr: "f.gz"},
		{name: "lzop without opener", in: append(append([]byte{}, lzopMagic...), 0, 0), kind: Lzop, wantErr: "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, kind, err := NewReader(bytes.NewReader(tt.in), "f.gz", nil)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(r)
				if err == nil && string(got) != tt.want {
					t.Fatalf("content = %q, want %q", got, tt.want)
				}
			}
			if kind != tt.kind {
				t.Errorf("kind = %s, want %s", kind, tt.kind)
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
