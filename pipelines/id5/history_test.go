package id5

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
)

// histFile is one generated delivery.
type histFile struct {
	rel  string
	at   time.Time
	data []byte
}

// genHistory generates six days of ID5 deliveries in both layouts: per-partner
// incrementals for partners 20, 45 and 77 (some at exactly an extract's
// time), single-file incrementals whose header reorders partners 45, 109 and
// adds 200 mid-way, full extracts that drop users (opt-outs), two extracts
// of partner 20 at the same instant, an empty extract that empties partner
// 77, bad rows, empty fields, and some gzip files.
func genHistory(seed uint64) []histFile {
	r := rand.New(rand.NewPCG(seed, 7))
	day0 := time.Date(2022, 11, 1, 0, 0, 0, 0, time.UTC)
	users := make([]string, 300)
	for i := range users {
		users[i] = fmt.Sprintf("user-%03d", i)
	}
	version := 0
	puid := func(p int32, u string) string {
		version++
		return fmt.Sprintf("p%d-%s-v%d", p, u, version)
	}
	var files []histFile
	add := func(rel string, at time.Time, lines []string) {
		var b bytes.Buffer
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		data := b.Bytes()
		if len(files)%7 == 3 {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(data)
			w.Close()
			data = z.Bytes()
		}
		files = append(files, histFile{rel: rel, at: at, data: data})
	}
	bad := []string{"", "x|45", `"a|1|b`, "|45|q", "a|45|"}

	for d := 0; d < 6; d++ {
		day := day0.AddDate(0, 0, d)
		// Per-partner incrementals: the first of each day at 00:00:00.
		for _, p := range []int32{20, 45, 77} {
			for k := 0; k < 8; k++ {
				at := day.Add(time.Duration(k*3)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
				if k == 0 {
					at = day
				}
				var lines []string
				for n := 1 + r.IntN(15); n > 0; n-- {
					if r.IntN(30) == 0 {
						lines = append(lines, bad[r.IntN(len(bad))])
						continue
					}
					u := users[r.IntN(len(users))]
					lines = append(lines, fmt.Sprintf("%s|%d|%s", u, p, puid(p, u)))
					if r.IntN(10) == 0 { // the same user again, later in the file
						lines = append(lines, fmt.Sprintf("%s|%d|%s", u, p, puid(p, u)))
					}
				}
				add(fmt.Sprintf("incremental/%d/%s/%s.csv", p, at.Format("20060102"), at.Format("150405")), at, lines)
			}
		}
		// Single-file incrementals: partners reordered, 200 added from day 3.
		for k := 0; k < 10; k++ {
			at := day.Add(time.Duration(k*2)*time.Hour + time.Duration(30+r.IntN(3000))*time.Second)
			partners := []int32{45, 109}
			if d >= 2 {
				partners = append(partners, 200)
			}
			r.Shuffle(len(partners), func(i, j int) { partners[i], partners[j] = partners[j], partners[i] })
			header := "35"
			for _, p := range partners {
				header += fmt.Sprintf("|%d", p)
			}
			lines := []string{header}
			for n := r.IntN(12); n > 0; n-- {
				if r.IntN(30) == 0 {
					lines = append(lines, `"u"|"only-one-field`)
					continue
				}
				u := users[r.IntN(len(users))]
				row := `"` + u + `"`
				for _, p := range partners {
					if r.IntN(10) < 4 {
						row += `|""`
					} else {
						row += `|"` + puid(p, u) + `"`
					}
				}
				lines = append(lines, row)
			}
			add(fmt.Sprintf("incremental/%s/%s.csv", at.Format("20060102"), at.Format("150405")), at, lines)
		}
	}

	// Full extracts: a random 60-80% of users (the rest opted out).
	extract := func(p int32) []string {
		var lines []string
		keep := 60 + r.IntN(20)
		for _, u := range users {
			if r.IntN(100) < keep {
				lines = append(lines, fmt.Sprintf("%s|%d|%s", u, p, puid(p, u)))
			}
		}
		return lines
	}
	at := func(s string) time.Time {
		t, err := ParseExtractTime(s)
		if err != nil {
			panic(err)
		}
		return t
	}
	add("full-extracts/20/20221102120000.csv", at("20221102120000"), extract(20))
	add("full-extracts/20/2022-11-04T00:00:00Z.csv", at("2022-11-04T00:00:00Z"), extract(20))
	add("full-extracts/20/20221104000000.csv", at("20221104000000"), extract(20)) // same instant, greater path: wins
	add("full-extracts/45/20221103_060000.csv", at("20221103_060000"), extract(45))
	single := []string{"35|109|45"}
	for _, u := range users {
		if r.IntN(4) == 0 {
			continue // opted out everywhere
		}
		a, b := `""`, `""`
		if r.IntN(3) > 0 {
			a = `"` + puid(109, u) + `"`
		}
		if r.IntN(3) > 0 {
			b = `"` + puid(45, u) + `"`
		}
		single = append(single, `"`+u+`"|`+a+"|"+b)
	}
	add("full-extracts/20221105T000000Z.csv", at("20221105T000000Z"), single)
	add("full-extracts/77/20221106.csv", at("20221106"), nil) // partner 77: everybody opted out
	sort.SliceStable(files, func(i, j int) bool { return files[i].at.Before(files[j].at) })
	return files
}

// TestCurrentOverHistory compares id5_mapping_current with the reference
// model over a generated history, first in one run, then arriving over
// several scheduled runs (each reading only the new files through the
// ledger), with late files among them.
func TestCurrentOverHistory(t *testing.T) {
	files := genHistory(1)
	if len(files) < 200 {
		t.Fatalf("only %d files generated", len(files))
	}
	// Snappy: Arrow v15's zstd codec builds an encoder per page, which
	// dominates the time of hundreds of tiny files (see the report).
	snappy := func(o *run.Options) { o.Write.Compression = "snappy" }
	write := func(root string, fs []histFile) {
		for _, f := range fs {
			if err := writeFile(filepath.Join(root, filepath.FromSlash(f.rel)), f.data); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("one run", func(t *testing.T) {
		in, out := t.TempDir(), t.TempDir()
		write(in, files)
		rep := execute(t, in, out, false, snappy)
		if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != len(files) {
			t.Fatalf("status %s, %d inputs", rep.Status, len(rep.Inputs))
		}
		checkCurrentTable(t, in, out)
		if n := len(currentRows(t, out)); n < 500 {
			t.Errorf("only %d current rows: the history is too thin to test much", n)
		}
	})

	t.Run("prism", func(t *testing.T) {
		// Prism runs real bundles through the Fn API, encoding every
		// element between stages: checks registration and coders.
		in, out := t.TempDir(), t.TempDir()
		write(in, files)
		rep := execute(t, in, out, false, snappy, func(o *run.Options) { o.Runner = "prism" })
		if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != len(files) {
			t.Fatalf("status %s, %d inputs", rep.Status, len(rep.Inputs))
		}
		checkCurrentTable(t, in, out)
	})

	t.Run("several runs", func(t *testing.T) {
		in, out := t.TempDir(), t.TempDir()
		// Three waves in delivery order; a few early incrementals arrive late.
		var waves [3][]histFile
		for i, f := range files {
			w := i * 3 / len(files)
			if w == 0 && i%17 == 5 && !strings.HasPrefix(f.rel, "full-") {
				w = 2
			}
			waves[w] = append(waves[w], f)
		}
		for i, wave := range waves {
			write(in, wave)
			rep := execute(t, in, out, false, snappy)
			if rep.Status != transforms.StatusCommitted || len(rep.Inputs) != len(wave) {
				t.Fatalf("wave %d: status %s, %d inputs, want %d", i, rep.Status, len(rep.Inputs), len(wave))
			}
			checkCurrentTable(t, in, out)
		}
		if rep := execute(t, in, out, false, snappy); rep.Status != transforms.StatusNothingToDo {
			t.Errorf("after the last wave: %s", rep.Status)
		}
		checkCurrentTable(t, in, out)
	})
}
