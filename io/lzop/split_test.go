package lzop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestIndexFixture(t *testing.T) {
	file := readFixture(t, "multiblock.lzo")
	built, err := BuildIndex(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := ReadIndex(bytes.NewReader(readFixture(t, "multiblock.lzo.index")))
	if err != nil {
		t.Fatal(err)
	}
	walked := walkBlocks(file)
	if len(walked) != 3 || !slices.Equal(built, walked) || !slices.Equal(committed, walked) {
		t.Fatalf("BuildIndex = %v, committed = %v, walked = %v", built, committed, walked)
	}
	if err := CheckIndex(built, int64(len(file))); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteIndex(&buf, built); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), readFixture(t, "multiblock.lzo.index")) {
		t.Fatal("WriteIndex output differs from the committed index")
	}
	empty, err := BuildIndex(bytes.NewReader(readFixture(t, "empty.lzo")))
	if err != nil || len(empty) != 0 {
		t.Fatalf("BuildIndex(empty) = %v, %v", empty, err)
	}
	if _, err := BuildIndex(bytes.NewReader(file[:len(file)-10])); !errors.Is(err, ErrTruncated) {
		t.Fatalf("BuildIndex(truncated) error = %v", err)
	}
	if _, err := BuildIndex(bytes.NewReader([]byte("not lzop at all"))); !errors.Is(err, ErrHeader) {
		t.Fatalf("BuildIndex(garbage) error = %v", err)
	}
}

func TestReadIndexErrors(t *testing.T) {
	enc := func(offs ...int64) []byte {
		var b []byte
		for _, o := range offs {
			b = binary.BigEndian.AppendUint64(b, uint64(o))
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want []int64
		err  error
	}{
		{"empty", nil, nil, nil},
		{"ok", enc(50, 300, 9000), []int64{50, 300, 9000}, nil},
		{"trailing bytes", append(enc(50, 300), 1, 2, 3), nil, ErrIndex},
		{"decreasing", enc(50, 300, 200), nil, ErrIndex},
		{"repeated", enc(50, 50), nil, ErrIndex},
		{"zero", enc(0), nil, ErrIndex},
		{"negative", enc(-5), nil, ErrIndex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadIndex(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Fatalf("ReadIndex = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCheckIndex(t *testing.T) {
	tests := []struct {
		name string
		offs []int64
		size int64
		ok   bool
	}{
		{"ok", []int64{50, 100}, 200, true},
		{"none", nil, 40, true},
		{"inside header", []int64{10}, 200, false},
		{"outside file", []int64{50, 500}, 200, false},
		{"no room for block header", []int64{50, 195}, 200, false},
		{"not increasing", []int64{100, 50}, 200, false},
	}
	for _, tt := range tests {
		err := CheckIndex(tt.offs, tt.size)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrIndex)) {
			t.Errorf("%s: CheckIndex = %v", tt.name, err)
		}
	}
}

func TestOpenRange(t *testing.T) {
	content := []byte("aaaa\nbbbb\ncccc\ndddd\n")
	file, idx := storedFile(content, FlagAdler32D, 5, 5, 5, 5)
	size := int64(len(file))
	tests := []struct {
		start, end int64
		want       string // bytes read to the end of the file
		inRange    int64
	}{
		{0, size, string(content), 20},
		{0, idx[0], string(content), 0},
		{0, idx[0] + 1, string(content), 5},
		{idx[0], idx[1], string(content), 5},
		{idx[0] + 1, idx[2], "bbbb\ncccc\ndddd\n", 5},
		{idx[1] + 1, idx[3] + 1, "cccc\ndddd\n", 10},
		{idx[3], size, "dddd\n", 5},
		{idx[3] + 1, size, "", 0},
		{size, size, "", 0},
	}
	for _, tt := range tests {
		z, err := OpenRange(bytes.NewReader(file), size, idx, tt.start, tt.end)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		n, final := z.InRange()
		if string(got) != tt.want || n != tt.inRange || !final {
			t.Errorf("OpenRange(%d, %d) read %q, InRange %d %v; want %q, %d", tt.start, tt.end, got, n, final, tt.want, tt.inRange)
		}
	}
	for _, bad := range []struct {
		start, end int64
		idx        []int64
		err        error
	}{
		{-1, 10, idx, nil},
		{10, 5, idx, nil},
		{0, size + 1, idx, nil},
		{0, size, []int64{idx[0], size + 100}, ErrIndex},
		{0, size, []int64{idx[0] - 1}, ErrIndex},
	} {
		_, err := OpenRange(bytes.NewReader(file), size, bad.idx, bad.start, bad.end)
		if err == nil || (bad.err != nil && !errors.Is(err, bad.err)) {
			t.Errorf("OpenRange(%d, %d, %v) error = %v", bad.start, bad.end, bad.idx, err)
		}
	}
}

// readSplits reads every range with a LineReader and returns all lines in
// split order.
func readSplits(t *testing.T, file []byte, idx []int64, ranges []Range) []string {
	t.Helper()
	var all []string
	for _, r := range ranges {
		lr, err := NewLineReader(bytes.NewReader(file), int64(len(file)), idx, r.Start, r.End)
		if err != nil {
			t.Fatal(err)
		}
		for {
			line, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("range %v: %v", r, err)
			}
			all = append(all, string(line))
		}
	}
	return all
}

// cutRanges turns sorted cut points into ranges covering [0, size).
func cutRanges(size int64, cuts []int64) []Range {
	var out []Range
	prev := int64(0)
	for _, c := range cuts {
		out = append(out, Range{prev, c})
		prev = c
	}
	return append(out, Range{prev, size})
}

// checkSplits asserts that, for 1 to 8 equal splits and for random and
// block-aligned cut points, the splits' lines are the file's lines, in
// order, each exactly once.
func checkSplits(t *testing.T, name string, file, content []byte, idx []int64) {
	t.Helper()
	want := splitLines(content)
	size := int64(len(file))
	check := func(ranges []Range) {
		t.Helper()
		got := readSplits(t, file, idx, ranges)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: ranges %v: got %d lines, want %d (first diff %d)", name, ranges, len(got), len(want), firstDiff(got, want))
		}
	}
	for n := 1; n <= 8; n++ {
		check(SplitRanges(size, n))
	}
	// Cuts on, just before and just after block headers.
	var special []int64
	for _, off := range idx {
		for _, c := range []int64{off - 1, off, off + 1, off + 8} {
			if c > 0 && c < size {
				special = append(special, c)
			}
		}
	}
	rng := rand.New(rand.NewPCG(uint64(len(file)), 1))
	for trial := 0; trial < 20; trial++ {
		var cuts []int64
		for _, c := range special {
			if rng.IntN(3) == 0 {
				cuts = append(cuts, c)
			}
		}
		for k := rng.IntN(4); k > 0 && size > 1; k-- {
			cuts = append(cuts, 1+rng.Int64N(size-1))
		}
		slices.Sort(cuts)
		check(cutRanges(size, slices.Compact(cuts)))
	}
	if size < 400 { // every single cut point of small files
		for c := int64(1); c < size; c++ {
			check(cutRanges(size, []int64{c}))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestSplitLinesSynthetic(t *testing.T) {
	long := strings.Repeat("L", 50)
	tests := []struct {
		name    string
		content string
		sizes   []int
	}{
		{"boundary after newline", "a\nbb\nccc\ndddd\n", []int{2, 3, 4, 5}},
		{"boundary before newline", "a\nbb\nccc\ndddd\n", []int{1, 3, 3, 5}},
		{"boundary inside line", "aaaa\nbbbb\ncccc\n", []int{3, 4, 4}},
		{"line longer than blocks", long + "\nshort\n" + long + long + "\nend\n", []int{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}},
		{"no final newline", "one\ntwo\nthree", []int{4, 4, 4}},
		{"empty lines", "\n\n\nx\n\n", []int{1, 1, 1, 1, 1, 1}},
		{"single block", "only\nlines\nhere\n", nil},
		{"crlf", "a\r\nb\r\n", []int{2, 2, 2}},
		{"empty file", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, idx := storedFile([]byte(tt.content), FlagAdler32D, tt.sizes...)
			checkSplits(t, tt.name, file, []byte(tt.content), idx)
		})
	}
}

func TestSplitLinesRandom(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		content := genLines(seed, 1+rng.IntN(60), rng.IntN(40))
		if rng.IntN(4) == 0 {
			content = content[:len(content)-1] // no final newline
		}
		var sizes []int
		for range 200 {
			sizes = append(sizes, 1+rng.IntN(30))
		}
		file, idx := storedFile(content, FlagAdler32D|FlagCRC32D, sizes...)
		checkSplits(t, fmt.Sprint("seed ", seed), file, content, idx)
	}
}

func TestSplitLinesFixture(t *testing.T) {
	file := readFixture(t, "multiblock.lzo")
	idx, err := ReadIndex(bytes.NewReader(readFixture(t, "multiblock.lzo.index")))
	if err != nil {
		t.Fatal(err)
	}
	checkSplits(t, "multiblock.lzo", file, multiText(), idx)
}

// TestSplitLinesLzop splits files made by lzop at run time, with lines
// longer than lzop's 256 KiB block and a block ending exactly after a
// newline.
func TestSplitLinesLzop(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var content []byte
	content = append(content, genLines(21, 1500, 200)...)
	content = append(content, bytes.Repeat([]byte("x"), 600<<10)...) // spans three blocks
	content = append(content, '\n')
	content = append(content, genLines(22, 2000, 300)...)
	// lzop cuts input every 256 KiB: pad so that a block ends right after
	// a newline.
	pad := (256<<10 - len(content)%(256<<10)) % (256 << 10)
	if pad > 0 {
		content = append(content, bytes.Repeat([]byte("p"), pad-1)...)
		content = append(content, '\n')
	}
	content = append(content, genLines(23, 500, 100)...)
	for _, args := range [][]string{nil, {"-9"}} {
		file := lzopCompress(t, content, args...)
		idx, err := BuildIndex(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) < 6 {
			t.Fatalf("only %d blocks", len(idx))
		}
		checkSplits(t, fmt.Sprint("lzop ", args), file, content, idx)
	}
}

func TestLineReaderMaxLineSize(t *testing.T) {
	content := []byte("short\n" + strings.Repeat("z", 100) + "\nafter\n")
	file, idx := storedFile(content, 0, 10)
	lr, err := NewLineReader(bytes.NewReader(file), int64(len(file)), idx, 0, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	lr.SetMaxLineSize(50)
	if line, err := lr.Next(); err != nil || string(line) != "short" || lr.Offset() != 0 {
		t.Fatalf("Next = %q, %v", line, err)
	}
	if _, err := lr.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("error = %v, want ErrLineTooLong", err)
	}
}

func TestSplitRanges(t *testing.T) {
	for _, size := range []int64{0, 1, 5, 1000, 1 << 40} {
		for n := 0; n <= 9; n++ {
			rs := SplitRanges(size, n)
			if rs[0].Start != 0 || rs[len(rs)-1].End != size {
				t.Fatalf("SplitRanges(%d, %d) = %v", size, n, rs)
			}
			if !sort.SliceIsSorted(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start }) {
				t.Fatalf("not sorted: %v", rs)
			}
			for i := 1; i < len(rs); i++ {
				if rs[i].Start != rs[i-1].End {
					t.Fatalf("gap: %v", rs)
				}
			}
		}
	}
}
