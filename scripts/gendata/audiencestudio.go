package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/lzop"
)

const audienceStudioUsage = `usage: gendata audiencestudio --out=DIR [flags]
       gendata audiencestudio --sample --out=testdata/audiencestudio/sample

Writes an Audience Studio client folder:
  DIR/uploads/consent-data/YYYY-MM-DD/requests-N.{txt,txt.gz,lzo}  consent request lines
  DIR/uploads/consent-data/YYYY-MM-DD/requests-N.lzo.index          hadoop-lzo block index
  DIR/portability/REQUEST_ID/YYYY-MM-DD/DATA_SOURCE/BK_OR_KUID/KUID feed records (JSON lines)
  DIR/portability/REQUEST_ID/YYYY-MM-DD/_SUCCESS                    (absent for the last request)
  DIR/EXPECTED.json                                                 per-file truth: lines, rows, rejects
The lzop files are LZO-compressed by Debian's lzop(1) (--lzo=compressed, the
default; apt-get install -y lzop), so readers really decompress LZO; with
--lzo=stored (always for --sample) they hold stored (uncompressed) blocks of
--lzo-block-bytes, a valid lzop stream written without lzop(1). Either way
the output is byte-for-byte deterministic for a given seed and flags (the
lzop header's mtime is the upload day).

flags:
`

type asConfig struct {
	Out          string
	Seed         uint64
	Days         int
	LinesPerFile int
	BlockBytes   int
	Requests     int
	Records      int
	Sample       bool
	LZO          string // "compressed" (lzop(1)) or "stored"
}

// asFile is the generator's truth about one generated file.
type asFile struct {
	Path     string           `json:"path"`
	Format   string           `json:"format"`
	Lines    int64            `json:"lines"`
	Good     int64            `json:"good"`
	Rejects  map[string]int64 `json:"rejects_by_code"`
	Complete bool             `json:"complete"`
	Index    string           `json:"index,omitempty"`
	Blocks   int              `json:"blocks,omitempty"`
}

type asExpected struct {
	Seed        uint64   `json:"seed"`
	Requests    []asFile `json:"requests"`
	Portability []asFile `json:"portability"`
}

func runAudienceStudio(args []string, stdout io.Writer) error {
	cfg := asConfig{}
	fs := flag.NewFlagSet("audiencestudio", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), audienceStudioUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Out, "out", "", "output folder (required)")
	fs.Uint64Var(&cfg.Seed, "seed", 5, "random seed")
	fs.IntVar(&cfg.Days, "days", 2, "upload days")
	fs.IntVar(&cfg.LinesPerFile, "lines", 200, "request lines per file (the three files of a day have 1x, 2x and 3x)")
	fs.IntVar(&cfg.BlockBytes, "lzo-block-bytes", 256<<10, "uncompressed bytes per lzop block")
	fs.IntVar(&cfg.Requests, "requests", 2, "portability requests (the last one has no _SUCCESS)")
	fs.IntVar(&cfg.Records, "records", 20, "feed records per portability file")
	fs.StringVar(&cfg.LZO, "lzo", "compressed", "lzop files: compressed (by lzop(1), 256 KiB blocks) or stored (uncompressed blocks of --lzo-block-bytes; implied by --sample)")
	fs.BoolVar(&cfg.Sample, "sample", false, "the small bundled sample (testdata/audiencestudio/sample)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.Out == "" {
		return errors.New("--out is required")
	}
	if cfg.Sample {
		cfg.Days, cfg.LinesPerFile, cfg.BlockBytes, cfg.Requests, cfg.Records = 2, 60, 4096, 2, 12
		cfg.LZO = "stored"
	}
	if cfg.LZO != "compressed" && cfg.LZO != "stored" {
		return fmt.Errorf("--lzo=%s: want compressed or stored", cfg.LZO)
	}
	if cfg.Days < 1 || cfg.LinesPerFile < 1 || cfg.BlockBytes < 64 || cfg.Requests < 1 || cfg.Records < 1 {
		return errors.New("--days, --lines, --requests, --records must be positive and --lzo-block-bytes >= 64")
	}
	exp, err := generateAudienceStudio(cfg)
	if err != nil {
		return err
	}
	data, _ := json.MarshalIndent(exp, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.Out, "EXPECTED.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audiencestudio: %d request files, %d portability files -> %s\n", len(exp.Requests), len(exp.Portability), cfg.Out)
	return nil
}

func generateAudienceStudio(cfg asConfig) (asExpected, error) {
	exp := asExpected{Seed: cfg.Seed}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa5))
	day0 := 19783 // 2024-03-01 in days since the epoch
	for d := 0; d < cfg.Days; d++ {
		date := dateOf(day0 + d)
		dir := filepath.Join(cfg.Out, "uploads", "consent-data", date)
		for i, format := range []string{"plain", "gzip", "lzop"} {
			if d > 0 && format != "plain" && cfg.Sample {
				continue // the sample's second day is one small plain file
			}
			n := cfg.LinesPerFile * (i + 1)
			content, truth := requestLines(rng, n, int64(day0+d)*86400_000000)
			name := fmt.Sprintf("requests-%d", i+1)
			var data []byte
			switch format {
			case "plain":
				name += ".txt"
				data = content
			case "gzip":
				name += ".txt.gz"
				data = gzipBytes(content)
			case "lzop":
				name += ".lzo"
				var index []int64
				if cfg.LZO == "stored" {
					data, index = storedLzop(content, cfg.BlockBytes)
				} else {
					var err error
					if data, index, err = lzopCompress(content, time.Unix(int64(day0+d)*86400, 0)); err != nil {
						return exp, fmt.Errorf("%s/%s: %w", date, name, err)
					}
				}
				var ib bytes.Buffer
				if err := lzop.WriteIndex(&ib, index); err != nil {
					return exp, err
				}
				if err := writeFile(filepath.Join(dir, name+".index"), ib.Bytes()); err != nil {
					return exp, err
				}
				truth.Index = "uploads/consent-data/" + date + "/" + name + ".index"
				truth.Blocks = len(index)
			}
			if err := writeFile(filepath.Join(dir, name), data); err != nil {
				return exp, err
			}
			truth.Path, truth.Format, truth.Complete = "uploads/consent-data/"+date+"/"+name, format, true
			exp.Requests = append(exp.Requests, truth)
		}
	}
	for r := 0; r < cfg.Requests; r++ {
		req := fmt.Sprintf("REQ-%04d", r+1)
		date := dateOf(day0 + 1 + r)
		complete := r < cfg.Requests-1 || cfg.Requests == 1
		base := filepath.Join(cfg.Out, "portability", req, date)
		bk := hex.EncodeToString(sum256(rng))
		type feed struct{ source, folder, kuid string }
		feeds := []feed{
			{"pixel.gif", base64.URLEncoding.EncodeToString([]byte(bk)), kuidOf(rng)},
			{"event.gif", base64.URLEncoding.EncodeToString([]byte(bk)), kuidOf(rng)},
			{"click", "", ""},
			{"segment.gif", "", ""},
		}
		if r == 0 {
			feeds = append(feeds, feed{"video.gif", "", ""}) // not a documented source: read, with a warning
		}
		for i, fd := range feeds {
			if fd.folder == "" {
				k := kuidOf(rng)
				fd.folder, fd.kuid = k, k
			}
			content, truth := feedLines(rng, fd.source, fd.kuid, cfg.Records, int64(day0+1+r)*86400, r == 0 && i == 0)
			rel := strings.Join([]string{"portability", req, date, fd.source, fd.folder, fd.kuid}, "/")
			data, format := content, "plain"
			if i%2 == 1 {
				data, format = gzipBytes(content), "gzip"
			}
			if err := writeFile(filepath.Join(cfg.Out, filepath.FromSlash(rel)), data); err != nil {
				return exp, err
			}
			truth.Path, truth.Format, truth.Complete = rel, format, complete
			exp.Portability = append(exp.Portability, truth)
		}
		if complete {
			if err := writeFile(filepath.Join(base, "_SUCCESS"), nil); err != nil {
				return exp, err
			}
		}
	}
	sort.Slice(exp.Portability, func(i, j int) bool { return exp.Portability[i].Path < exp.Portability[j].Path })
	return exp, nil
}

func dateOf(days int) string {
	y, m, d := civil(int64(days))
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// civil converts days since 1970-01-01 to a date (Howard Hinnant's algorithm).
func civil(z int64) (int64, int64, int64) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func sum256(rng *rand.Rand) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

const kuidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

func kuidOf(rng *rand.Rand) string {
	b := []byte("L")
	for i := 0; i < 7; i++ {
		b = append(b, kuidAlphabet[rng.IntN(len(kuidAlphabet))])
	}
	return string(b)
}

// badRequestLines are planted request lines, with their reject code.
var badRequestLines = []struct{ line, code string }{
	{"this is not a request line", "field_count"},
	{"tablet^kxcookie^abc123^portability^^^", "bad_id_kind"},
	{"bk^email_sha256^not-a-hash^portability^^^", "bad_hash"},
	{"device^idfa^6D92078A-8246-4BA4-AE5B-76104861E7DC^set^gdpr^{\"dc\":1}^", "missing_timestamp"},
	{"", "empty_line"},
	{"device^kxcookie^abc^portability^global^^12345", "timestamp_out_of_range"},
}

// requestLines returns n request lines; every 25th line (from the 7th) is a
// planted bad one.
func requestLines(rng *rand.Rand, n int, dayMicros int64) ([]byte, asFile) {
	var b bytes.Buffer
	truth := asFile{Rejects: map[string]int64{}}
	flagKeys := []string{"dc", "al", "tg", "cd", "sh", "re"}
	for i := 0; i < n; i++ {
		truth.Lines++
		if i%25 == 6 {
			bad := badRequestLines[rng.IntN(len(badRequestLines))]
			b.WriteString(bad.line)
			b.WriteByte('\n')
			truth.Rejects[bad.code]++
			continue
		}
		truth.Good++
		var idt, dt, idv string
		switch rng.IntN(4) {
		case 0:
			idt, dt, idv = "device", "kxcookie", kuidOf(rng)
		case 1:
			idt, dt, idv = "device", "idfa", strings.ToUpper(uuidOf(rng))
		case 2:
			idt, dt, idv = "device", "aaid", uuidOf(rng)
		default:
			idt, dt, idv = "bk", "email_sha256", hex.EncodeToString(sum256(rng))
		}
		ts := strconv.FormatInt(dayMicros+rng.Int64N(86400_000000), 10)
		if rng.IntN(3) == 0 {
			pr := ""
			if rng.IntN(2) == 0 {
				pr = "global"
			}
			if rng.IntN(2) == 0 {
				ts = ""
			}
			fmt.Fprintf(&b, "%s^%s^%s^portability^%s^^%s\n", idt, dt, idv, pr, ts)
			continue
		}
		var fl []string
		for _, k := range flagKeys {
			fl = append(fl, fmt.Sprintf("%q:%d", k, rng.IntN(2)))
		}
		action := []string{"set", "remove", "portability"}[rng.IntN(3)]
		pr := []string{"gdpr", "ccpa", "global"}[rng.IntN(3)]
		fmt.Fprintf(&b, "%s^%s^%s^%s^%s^{%s}^%s\n", idt, dt, idv, action, pr, strings.Join(fl, ","), ts)
	}
	return b.Bytes(), truth
}

func uuidOf(rng *rand.Rand) string {
	h := hex.EncodeToString(sum256(rng)[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// feedLines returns n JSON feed records of one data source; with bad set,
// two planted bad records are added.
func feedLines(rng *rand.Rand, source, kuid string, n int, daySeconds int64, bad bool) ([]byte, asFile) {
	var b bytes.Buffer
	truth := asFile{Rejects: map[string]int64{}}
	paths := map[string]string{"pixel.gif": "/pixel.gif", "event.gif": "/event.gif", "segment.gif": "/segment.gif", "video.gif": "/video.gif"}
	for i := 0; i < n; i++ {
		truth.Lines++
		truth.Good++
		ts := daySeconds + rng.Int64N(86400)
		ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
		xff := fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(220), rng.IntN(256), rng.IntN(256), rng.IntN(256))
		kpid := uuidOf(rng)
		var rec []string
		kv := func(k, v string) { rec = append(rec, strconv.Quote(k)+":"+strconv.Quote(v)) }
		if source == "click" {
			kv("IP", "127.0.0.1")
			kv("KCT_kxcampaignid", strconv.Itoa(20000000+rng.IntN(1000000)))
			kv("TS", strconv.FormatInt(ts*1000+int64(rng.IntN(1000)), 10))
			kv("KCT_clk", "http://www.example.com/landing.html?dclid=CN"+strconv.Itoa(rng.IntN(1e6)))
			kv("KUID", kuid)
			kv("XFF", xff+", 157.52.69.23, "+ip)
			kv("REF", "https://cdn.example.net/placement320x50.html")
		} else {
			kv("TS", strconv.FormatInt(ts, 10))
			kv("XFF", xff)
			kv("IP", ip)
			kv("KUID", kuid)
			kv("DNT", "-")
			kv("UA", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.137 Safari/537.36")
			kv("REF", "-")
			kv("HOST", "beacon.krxd.net")
			kv("PATH", paths[source])
			kv("QS", fmt.Sprintf("?_kpid=%s&_kcp_s=Example%%20Site&segs=s%d&tech_os=linux", kpid, rng.IntN(1000)))
			kv("RESP", "204")
			kv("RT", strconv.Itoa(20+rng.IntN(80)))
			kv("NEWUSER", strconv.Itoa(rng.IntN(2)))
			kv("NODE", fmt.Sprintf("beacon-n%03d-ash.krxd.net", rng.IntN(100)))
			kv("V", "7")
		}
		b.WriteString("{" + strings.Join(rec, ",") + "}\n")
		if bad && i == n/2 {
			b.WriteString("{\"TS\":\"1518036361\",\"KUID\":\n")
			b.WriteString("{\"TS\":\"1518036361\",\"RESP\":\"two hundred\"}\n")
			truth.Lines += 2
			truth.Rejects["not_json"]++
			truth.Rejects["bad_resp"]++
		}
	}
	return b.Bytes(), truth
}

// gzipBytes compresses data with a fixed header (no name, zero mtime).
func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, 6)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// storedLzop returns an lzop file of stored blocks of blockBytes
// uncompressed bytes (with Adler-32 checksums of the data) and the block
// offsets, as an .lzo.index lists them.
func storedLzop(content []byte, blockBytes int) ([]byte, []int64) {
	const flagAdler32D = 0x1
	out := []byte(lzop.Magic)
	body := []byte{0x10, 0x40, 0x20, 0xa0, 0x09, 0x40, 1, 5} // version 1.040, lib 2.0a, needs 0.940, LZO1X-1 level 5
	body = binary.BigEndian.AppendUint32(body, flagAdler32D)
	body = binary.BigEndian.AppendUint32(body, 0o100644) // mode
	body = binary.BigEndian.AppendUint32(body, 0)        // mtime low
	body = binary.BigEndian.AppendUint32(body, 0)        // mtime high
	body = append(body, 0)                               // no name
	body = binary.BigEndian.AppendUint32(body, adler32.Checksum(body))
	out = append(out, body...)
	var index []int64
	for len(content) > 0 {
		n := min(blockBytes, len(content))
		index = append(index, int64(len(out)))
		out = binary.BigEndian.AppendUint32(out, uint32(n))
		out = binary.BigEndian.AppendUint32(out, uint32(n))
		out = binary.BigEndian.AppendUint32(out, adler32.Checksum(content[:n]))
		out = append(out, content[:n]...)
		content = content[n:]
	}
	return binary.BigEndian.AppendUint32(out, 0), index
}

// lzopCompress compresses content with Debian's lzop(1) (its default level,
// LZO1X-1, 256 KiB blocks) and returns the file and its block offsets. The
// content is handed over as standard input from a temporary file whose
// mtime and mode are fixed, so that the header (which records them, and no
// name for standard input) is the same on every run.
func lzopCompress(content []byte, mtime time.Time) ([]byte, []int64, error) {
	bin, err := exec.LookPath("lzop")
	if err != nil {
		return nil, nil, fmt.Errorf("lzop(1) not found (apt-get install -y lzop), or use --lzo=stored: %w", err)
	}
	tmp, err := os.MkdirTemp("", "gendata-lzop-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "in")
	if err := os.WriteFile(in, content, 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.Chmod(in, 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.Chtimes(in, mtime, mtime); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(in)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var out, stderr bytes.Buffer
	cmd := exec.Command(bin, "-c", "-q")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("lzop: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	index, err := lzop.BuildIndex(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, nil, fmt.Errorf("index of lzop's output: %w", err)
	}
	return out.Bytes(), index, nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}
