package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type id5Config struct {
	Out          string
	Seed         uint64
	Start        time.Time
	Days         int
	Partners     []int32
	SourceGVLID  int32
	Users        int
	PerDay       int // per-partner incrementals per partner and day
	SinglePerDay int
	BadLines     bool
	GzipEvery    int
	Sample       bool
	Clean        bool
	Quiet        bool
}

const id5Usage = `usage: gendata id5 --out=DIR [flags]
       gendata id5 --sample --out=testdata/id5/sample

Writes an ID5 Partner Graph bucket with both delivery methods side by side:
  DIR/incremental/PARTNER_GVLID/YYYYMMDD/HHMMSS.csv   per-partner incrementals (UID|GVLID|PARTNER_UID)
  DIR/incremental/YYYYMMDD/HHMMSS.csv                 single-file incrementals (header SOURCE|P1|P2..., quoted rows;
                                                      partner order changes from file to file)
  DIR/full-extracts/PARTNER_GVLID/DATETIME.csv        per-partner full extracts (some users opted out)
  DIR/full-extracts/DATETIME.csv                      a single-file full extract
and, with --bad-lines, a few bad rows and one extract whose name cannot be dated
(full-extracts/PARTNER/latest.csv). Every --gzip-every-th file is gzip (still named .csv:
readers sniff the content). Output is byte-for-byte deterministic for a given seed and flags.

flags:
`

func parseID5Flags(args []string, stderr io.Writer) (*id5Config, error) {
	cfg := &id5Config{}
	fs := flag.NewFlagSet("id5", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), id5Usage)
		fs.PrintDefaults()
	}
	var start, partners string
	var source int
	fs.StringVar(&cfg.Out, "out", "", "output root directory (the bucket root; required)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.StringVar(&start, "start", "2024-03-01", "first delivery day, YYYY-MM-DD")
	fs.IntVar(&cfg.Days, "days", 3, "delivery days")
	fs.StringVar(&partners, "partners", "45,109", "comma-separated match partner GVLIDs")
	fs.IntVar(&source, "source-gvlid", 35, "GVLID of the UIDs (the single-file header's first column)")
	fs.IntVar(&cfg.Users, "users", 60, "number of distinct UIDs")
	fs.IntVar(&cfg.PerDay, "per-day", 4, "per-partner incrementals per partner and day")
	fs.IntVar(&cfg.SinglePerDay, "single-per-day", 3, "single-file incrementals per day")
	fs.BoolVar(&cfg.BadLines, "bad-lines", false, "plant a few bad rows and an undatable extract name")
	fs.IntVar(&cfg.GzipEvery, "gzip-every", 5, "gzip every n-th file (0: none)")
	fs.BoolVar(&cfg.Sample, "sample", false, "make the small committed sample (fixes the other flags)")
	fs.BoolVar(&cfg.Clean, "clean", false, "remove incremental/ and full-extracts/ under --out first (implied by --sample)")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.Sample {
		start, partners, source = "2024-03-01", "45,109", 35
		cfg.Seed, cfg.Days, cfg.Users, cfg.PerDay, cfg.SinglePerDay, cfg.GzipEvery = 1, 3, 40, 3, 2, 5
		cfg.BadLines, cfg.Clean = true, true
	}
	if cfg.Out == "" {
		return nil, errors.New("--out is required")
	}
	t, err := time.Parse("2006-01-02", start)
	if err != nil {
		return nil, fmt.Errorf("--start: %w", err)
	}
	cfg.Start = t
	for _, p := range strings.Split(partners, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--partners: %q is not a GVLID", p)
		}
		cfg.Partners = append(cfg.Partners, int32(n))
	}
	if len(cfg.Partners) == 0 || source <= 0 || cfg.Days <= 0 || cfg.Users <= 0 || cfg.PerDay <= 0 || cfg.SinglePerDay < 0 || cfg.GzipEvery < 0 {
		return nil, errors.New("--partners, --source-gvlid, --days, --users, --per-day must be positive")
	}
	cfg.SourceGVLID = int32(source)
	return cfg, nil
}

func runID5(args []string, stdout io.Writer) error {
	cfg, err := parseID5Flags(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	files := generateID5(cfg)
	if cfg.Clean {
		for _, d := range []string{"incremental", "full-extracts"} {
			if err := os.RemoveAll(filepath.Join(cfg.Out, d)); err != nil {
				return err
			}
		}
	}
	var total int64
	for _, f := range files {
		p := filepath.Join(cfg.Out, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
		total += int64(len(f.data))
	}
	if !cfg.Quiet {
		fmt.Fprintf(stdout, "gendata id5: %d files, %d bytes under %s\n", len(files), total, cfg.Out)
	}
	return nil
}

// id5File is one generated object.
type id5File struct {
	rel  string
	data []byte
}

// generateID5 builds the bucket in memory, in a fixed order, from one seeded
// random source: the same flags always give the same bytes.
func generateID5(cfg *id5Config) []id5File {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x1d5))
	users := make([]string, cfg.Users)
	for i := range users {
		// UUID-shaped UIDs, derived from the random source.
		users[i] = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1))
	}
	partnerUID := func() string { return strconv.FormatUint(100000000000000000+r.Uint64()%900000000000000000, 10) }
	var files []id5File
	add := func(rel string, lines []string) {
		var b bytes.Buffer
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		data := b.Bytes()
		if cfg.GzipEvery > 0 && len(files)%cfg.GzipEvery == cfg.GzipEvery-1 {
			var z bytes.Buffer
			w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // zero header time: deterministic
			w.Write(data)
			w.Close()
			data = z.Bytes()
		}
		files = append(files, id5File{rel: rel, data: data})
	}
	badPlanted := 0
	plantBad := func(lines []string, bad string) []string {
		if !cfg.BadLines || badPlanted >= 3 {
			return lines
		}
		badPlanted++
		i := r.IntN(len(lines) + 1)
		return append(lines[:i], append([]string{bad}, lines[i:]...)...)
	}

	for d := 0; d < cfg.Days; d++ {
		day := cfg.Start.AddDate(0, 0, d)
		// Per-partner incrementals, evenly spread over the day.
		for _, p := range cfg.Partners {
			for k := 0; k < cfg.PerDay; k++ {
				at := day.Add(time.Duration(k*24/cfg.PerDay)*time.Hour + time.Duration(r.IntN(1800))*time.Second)
				var lines []string
				for n := 2 + r.IntN(6); n > 0; n-- {
					lines = append(lines, fmt.Sprintf("%s|%d|%s", users[r.IntN(len(users))], p, partnerUID()))
				}
				if d == 0 && k == 1 && p == cfg.Partners[0] {
					lines = plantBad(lines, fmt.Sprintf("%s|%d", users[0], p)) // field_count
				}
				if d == 1 && k == 2 && p == cfg.Partners[0] {
					lines = plantBad(lines, fmt.Sprintf("%s|%d|%s", users[1], p+1, partnerUID())) // gvlid_mismatch
				}
				add(fmt.Sprintf("incremental/%d/%s/%s.csv", p, at.Format("20060102"), at.Format("150405")), lines)
			}
		}
		// Single-file incrementals; the partner order changes from file to file.
		for k := 0; k < cfg.SinglePerDay; k++ {
			at := day.Add(time.Duration(k*24/max(cfg.SinglePerDay, 1))*time.Hour + time.Duration(1800+r.IntN(1800))*time.Second)
			partners := append([]int32(nil), cfg.Partners...)
			r.Shuffle(len(partners), func(i, j int) { partners[i], partners[j] = partners[j], partners[i] })
			header := strconv.Itoa(int(cfg.SourceGVLID))
			for _, p := range partners {
				header += "|" + strconv.Itoa(int(p))
			}
			var lines []string
			for n := 2 + r.IntN(5); n > 0; n-- {
				row := `"` + users[r.IntN(len(users))] + `"`
				for range partners {
					if r.IntN(3) == 0 {
						row += `|""` // no update for that partner
					} else {
						row += `|"` + partnerUID() + `"`
					}
				}
				lines = append(lines, row)
			}
			if d == 2 && k == 0 {
				lines = plantBad(lines, `""`+strings.Repeat(`|"1"`, len(partners))) // empty_uid
			}
			add(fmt.Sprintf("incremental/%s/%s.csv", at.Format("20060102"), at.Format("150405")), append([]string{header}, lines...))
		}
		// A per-partner full extract of the first partner at the start of
		// day 2, a single-file extract of every partner at noon of the last
		// day: about a fifth of the users opted out of each.
		if d == 1 || (d > 1 && d == cfg.Days-1) {
			if d == 1 {
				p := cfg.Partners[0]
				var lines []string
				for _, u := range users {
					if r.IntN(5) > 0 {
						lines = append(lines, fmt.Sprintf("%s|%d|%s", u, p, partnerUID()))
					}
				}
				add(fmt.Sprintf("full-extracts/%d/%s.csv", p, day.Format("20060102T150405Z")), lines)
			} else {
				at := day.Add(12 * time.Hour)
				header := strconv.Itoa(int(cfg.SourceGVLID))
				for i := len(cfg.Partners) - 1; i >= 0; i-- {
					header += "|" + strconv.Itoa(int(cfg.Partners[i]))
				}
				lines := []string{header}
				for _, u := range users {
					if r.IntN(5) == 0 {
						continue
					}
					row := `"` + u + `"`
					for range cfg.Partners {
						if r.IntN(6) == 0 {
							row += `|""`
						} else {
							row += `|"` + partnerUID() + `"`
						}
					}
					lines = append(lines, row)
				}
				add(fmt.Sprintf("full-extracts/%s.csv", at.Format("20060102_150405")), lines)
			}
		}
	}
	if cfg.BadLines {
		// An extract whose name cannot be dated: skipped whole, with the reason in the report.
		p := cfg.Partners[len(cfg.Partners)-1]
		add(fmt.Sprintf("full-extracts/%d/latest.csv", p), []string{fmt.Sprintf("%s|%d|%s", users[0], p, partnerUID())})
	}
	return files
}
