package splittar

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

type file struct {
	name string
	body []byte
}

// archive builds a tar.gz of files.
func archive(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.body)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// split cuts data into parts of size n, served by the returned opener.
func split(data []byte, n int) ([]Part, Opener) {
	m := map[string][]byte{}
	var parts []Part
	for i := 0; len(data) > 0 || i == 0; i++ {
		k := min(n, len(data))
		name := fmt.Sprintf("a/proofs.tar.gz.%02d", i)
		m[name] = data[:k]
		parts = append(parts, Part{Path: name, Rel: name, Size: int64(k)})
		data = data[k:]
	}
	return parts, func(_ context.Context, p string) (io.ReadCloser, error) {
		d, ok := m[p]
		if !ok {
			return nil, fmt.Errorf("open %s: no such file", p)
		}
		return io.NopCloser(bytes.NewReader(d)), nil
	}
}

func body(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func readAll(r *Reader) ([]file, []Entry, error) {
	var fs []file
	var es []Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			return fs, es, nil
		}
		if err != nil {
			return fs, es, err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return fs, es, err
		}
		fs = append(fs, file{e.Header.Name, b})
		es = append(es, e)
	}
}

func TestReader(t *testing.T) {
	files := []file{
		{"a.pdf", body(1, 3000)},
		{"empty.png", nil},
		{strings.Repeat("long", 40) + ".doc", body(2, 700)}, // PAX/GNU long name header
		{"c.gif", body(3, 512)},
		{"d.msg", body(4, 10000)},
	}
	data := archive(t, files)
	var plain bytes.Buffer
	gz, _ := gzip.NewReader(bytes.NewReader(data))
	io.Copy(&plain, gz)
	for _, partSize := range []int{1, 7, 100, 1024, 4096, len(data)} {
		t.Run(fmt.Sprint(partSize), func(t *testing.T) {
			parts, open := split(data, partSize)
			r := NewReader(context.Background(), open, "a/proofs.tar.gz", parts)
			defer r.Close()
			got, es, err := readAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(files) {
				t.Fatalf("%d entries, want %d", len(got), len(files))
			}
			for i := range files {
				if got[i].name != files[i].name || !bytes.Equal(got[i].body, files[i].body) {
					t.Errorf("entry %d: %s (%d bytes), want %s (%d bytes)", i, got[i].name, len(got[i].body), files[i].name, len(files[i].body))
				}
				if es[i].Index != i {
					t.Errorf("entry %d: index %d", i, es[i].Index)
				}
				if es[i].Part < 0 || es[i].Part >= len(parts) {
					t.Errorf("entry %d: part %d of %d", i, es[i].Part, len(parts))
				}
				// The offset points at a tar header block.
				hdr, err := tar.NewReader(bytes.NewReader(plain.Bytes()[es[i].Offset:])).Next()
				if err != nil || hdr.Name != files[i].name {
					t.Errorf("entry %d: offset %d does not start its header: %v %v", i, es[i].Offset, hdr, err)
				}
			}
			if partSize == 1024 && es[len(es)-1].Part == 0 {
				t.Errorf("last entry reported in part 0 of %d", len(parts))
			}
		})
	}
}

func TestReaderBadInput(t *testing.T) {
	data := archive(t, []file{{"a.pdf", body(1, 5000)}, {"b.pdf", body(2, 5000)}})
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0xff
	notTar, _ := func() ([]byte, error) {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		gz.Write(bytes.Repeat([]byte("not a tar header "), 100))
		gz.Close()
		return b.Bytes(), nil
	}()
	cases := []struct {
		name     string
		data     []byte
		mutate   func([]Part) []Part
		wantPart string
	}{
		{"truncated last part", data[:len(data)-20], nil, "proofs.tar.gz.0"},
		{"corrupt gzip", corrupt, nil, "proofs.tar.gz.0"},
		{"not a tar", notTar, nil, "proofs.tar.gz.0"},
		{"missing part", data, func(ps []Part) []Part { return append(ps[:1:1], ps[2:]...) }, "proofs.tar.gz.0"},
		{"part shorter than listed", data, func(ps []Part) []Part { ps[0].Size++; return ps }, "proofs.tar.gz.00"},
		{"not gzip", []byte("plain text, not gzip at all"), nil, "proofs.tar.gz.00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts, open := split(c.data, 1024)
			if c.mutate != nil {
				parts = c.mutate(parts)
			}
			r := NewReader(context.Background(), open, "a/proofs.tar.gz", parts)
			defer r.Close()
			_, _, err := readAll(r)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "archive a/proofs.tar.gz") || !strings.Contains(err.Error(), c.wantPart) {
				t.Errorf("error does not name the archive and part: %v", err)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	p := func(names ...string) []Part {
		var ps []Part
		for _, n := range names {
			ps = append(ps, Part{Rel: n})
		}
		return ps
	}
	cases := []struct {
		name    string
		parts   []Part
		want    []string // prefix:count
		wantErr string
	}{
		{"ordered", p("x/proofs.tar.gz.01", "x/proofs.tar.gz.00", "x/proofs.tar.gz.02"), []string{"x/proofs.tar.gz:3"}, ""},
		{"numeric not lexical", p("x/p.tar.gz.100", "x/p.tar.gz.99"), nil, "p.tar.gz.00 is missing"},
		{"gap", p("x/proofs.tar.gz.00", "x/proofs.tar.gz.02"), nil, "x/proofs.tar.gz.01 is missing (found x/proofs.tar.gz.02)"},
		{"no first", p("x/proofs.tar.gz.01"), nil, "x/proofs.tar.gz.00 is missing"},
		{"duplicate", p("x/proofs.tar.gz.00", "x/proofs.tar.gz.000"), nil, "duplicates"},
		{"two archives", p("x/proofs.tar.gz.00", "x/proofs/proofs.tar.gz.00"), []string{"x/proofs.tar.gz:1", "x/proofs/proofs.tar.gz:1"}, ""},
		{"bad name", p("x/proofs.tar.gz.ab"), nil, "does not end in .NN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, err := Groups(c.parts)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range gs {
				got = append(got, fmt.Sprintf("%s:%d", g.Prefix, len(g.Parts)))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// FuzzSplitTar feeds arbitrary bytes, cut into parts at a fuzzed size, to
// the Reader: it must return entries or an error naming the archive, never
// panic; and a valid archive reads the same whatever the part size.
func FuzzSplitTar(f *testing.F) {
	f.Add(archive(f, []file{{"a.pdf", body(1, 3000)}, {"b.png", body(2, 10)}}), uint16(100))
	f.Add(archive(f, []file{{strings.Repeat("x", 200), body(3, 600)}}), uint16(7))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		n := int(size)%2048 + 1
		parts, open := split(data, n)
		r := NewReader(context.Background(), open, "fz", parts)
		got, _, err := readAll(r)
		r.Close()
		if err != nil {
			if !strings.Contains(err.Error(), "archive fz") {
				t.Fatalf("error does not name the archive: %v", err)
			}
			return
		}
		whole, open1 := split(data, len(data)+1)
		r1 := NewReader(context.Background(), open1, "fz", whole)
		want, _, err := readAll(r1)
		if err != nil {
			t.Fatalf("reads in parts of %d but not whole: %v", n, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d entries in parts of %d, %d whole", len(got), n, len(want))
		}
		for i := range got {
			if got[i].name != want[i].name || !bytes.Equal(got[i].body, want[i].body) {
				t.Fatalf("entry %d differs", i)
			}
		}
	})
}

// An archive made by Debian's tar and gzip reads the same whole (one part,
// as an unsplit proofs.tar.gz) and cut by split(1) into numbered parts,
// directory entries and sub-folder names included.
func TestDebianToolsWholeAndSplit(t *testing.T) {
	dir := t.TempDir()
	run := func(script string) {
		t.Helper()
		cmd := exec.Command("sh", "-euc", script)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", script, err, out)
		}
	}
	os.MkdirAll(filepath.Join(dir, "src", "proofs", "sub"), 0o755)
	for i, name := range []string{"proofs/a.pdf", "proofs/sub/b.png", "proofs/c.JPEG"} {
		os.WriteFile(filepath.Join(dir, "src", name), body(i, 3000+i*1000), 0o644)
	}
	run(`tar -C src -cf - proofs | gzip -c > proofs.tar.gz && split -b 1500 -d proofs.tar.gz proofs.tar.gz.`)
	read := func(parts []Part) (names []string, sizes []int64, lastPart int) {
		open := func(_ context.Context, p string) (io.ReadCloser, error) { return os.Open(p) }
		r := NewReader(context.Background(), open, "proofs.tar.gz", parts)
		defer r.Close()
		for {
			e, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, r)
			names = append(names, e.Header.Name)
			sizes = append(sizes, n)
			lastPart = e.Part
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "proofs.tar.gz"))
	wholeNames, wholeSizes, wholePart := read([]Part{{Path: filepath.Join(dir, "proofs.tar.gz"), Rel: "proofs.tar.gz", Size: fi.Size()}})
	paths, _ := filepath.Glob(filepath.Join(dir, "proofs.tar.gz.*"))
	var parts []Part
	for _, p := range paths {
		fi, _ := os.Stat(p)
		parts = append(parts, Part{Path: p, Rel: filepath.Base(p), Size: fi.Size()})
	}
	groups, err := Groups(parts)
	if err != nil || len(groups) != 1 || len(groups[0].Parts) < 3 {
		t.Fatalf("split(1) parts %v: %v %v", parts, groups, err)
	}
	splitNames, splitSizes, splitPart := read(groups[0].Parts)
	if fmt.Sprint(wholeNames) != fmt.Sprint(splitNames) || fmt.Sprint(wholeSizes) != fmt.Sprint(splitSizes) {
		t.Errorf("whole %v %v, split %v %v", wholeNames, wholeSizes, splitNames, splitSizes)
	}
	if !slices.Contains(wholeNames, "proofs/") || !slices.Contains(wholeNames, "proofs/sub/b.png") {
		t.Errorf("entries %v: want tar's directory entries and sub-folder names", wholeNames)
	}
	if wholePart != 0 || splitPart == 0 {
		t.Errorf("part of the last entry: whole %d, split %d", wholePart, splitPart)
	}
}
