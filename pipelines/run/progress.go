// Progress of a run: each finished input file leaves a small marker in the
// run's temporary area; the launching process lists them. This works the
// same whether workers are goroutines of this process or hosts of a cluster.

package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/transforms"
)

func init() {
	register.DoFn2x1[context.Context, transforms.FileStats, error](&progressFn{})
	beam.RegisterType(reflect.TypeOf((*progressFn)(nil)).Elem())
}

func progressDir(output, pipeline, runID string) string {
	return lakefs.Join(lakestate.TempDir(output, pipeline, runID), "_progress")
}

// progressFn records finished input files for reportProgress. It writes
// one marker per flush, not per file: at most every progressFlushEvery (the
// first file at once), so what it shows lags by up to that. A marker per
// file cost a third of the CPU of a drop of thousands of small files (a
// create, a write and a rename each). There is no flush in FinishBundle: a
// runner may finish the bundle after the commit removed the run's
// temporary area, and the marker would be left behind in a new one.
type progressFn struct {
	Output   string         `json:"output"`
	Pipeline string         `json:"pipeline"`
	RunID    string         `json:"run_id"`
	FS       lakefs.Options `json:"fs"`

	fs      lakefs.FS
	pending progressMark
	flushed time.Time
}

// progressFlushEvery bounds how stale the progress of one worker can be.
const progressFlushEvery = time.Second

func (fn *progressFn) Setup(ctx context.Context) error {
	var err error
	fn.fs, err = lakefs.New(ctx, fn.Output, fn.FS)
	return err
}

func (fn *progressFn) ProcessElement(ctx context.Context, st transforms.FileStats) error {
	fn.pending.Files++
	fn.pending.Bytes += st.Bytes
	fn.pending.Records += st.RecordsIn
	fn.pending.Last = st.Rel
	if time.Since(fn.flushed) < progressFlushEvery {
		return nil
	}
	return fn.flush(ctx)
}

// flush writes the files counted since the last flush as one marker, named
// by its content (the last file's name makes it unique within a run).
func (fn *progressFn) flush(ctx context.Context) error {
	fn.flushed = time.Now()
	if fn.pending.Files == 0 {
		return nil
	}
	data, err := json.Marshal(fn.pending)
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	if err := lakefs.WriteFile(ctx, fn.fs, lakefs.Join(progressDir(fn.Output, fn.Pipeline, fn.RunID), hex.EncodeToString(h[:12])+".json"), data); err != nil {
		return fmt.Errorf("progress marker: %w", err)
	}
	fn.pending = progressMark{}
	return nil
}

// progressMark counts the input files a worker finished since its previous
// marker.
type progressMark struct {
	Files   int64  `json:"files"`
	Bytes   int64  `json:"bytes"`
	Records int64  `json:"records"`
	Last    string `json:"last"`
}

// reportProgress prints, every interval until stop is closed, how many
// input files are done, bytes and records, the rate and an ETA. On a
// terminal it redraws one line; otherwise it writes log lines.
func reportProgress(ctx context.Context, fsys lakefs.FS, output, pipeline, runID string, files int, totalBytes int64, interval time.Duration, w io.Writer, terminal bool, log *slog.Logger, stop <-chan struct{}) {
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-stop:
			if terminal && last != "" {
				fmt.Fprintln(w)
			}
			return
		case <-tick.C:
		}
		marks, err := fsys.List(ctx, progressDir(output, pipeline, runID))
		if err != nil {
			continue
		}
		var done, records, filesDone int64
		for _, m := range marks {
			raw, err := lakefs.ReadFile(ctx, fsys, m.Path)
			if err != nil {
				continue
			}
			var pm progressMark
			if json.Unmarshal(raw, &pm) == nil {
				done += pm.Bytes
				records += pm.Records
				filesDone += pm.Files
			}
		}
		el := time.Since(start).Seconds()
		rate := float64(done) / el
		eta := "?"
		if rate > 0 && totalBytes > done {
			eta = (time.Duration(float64(totalBytes-done)/rate) * time.Second).Round(time.Second).String()
		} else if totalBytes <= done && filesDone > 0 {
			eta = "committing"
		}
		line := fmt.Sprintf("progress: %d/%d files, %s/%s, %d records, %s/s, ETA %s",
			filesDone, files, human(done), human(totalBytes), records, human(int64(rate)), eta)
		if terminal {
			fmt.Fprintf(w, "\r%-100s", line)
		} else if line != last {
			log.Info("progress", "run_id", runID, "files_done", filesDone, "files", files, "bytes_done", done, "bytes", totalBytes,
				"records", records, "bytes_per_s", int64(rate), "eta", eta)
		}
		last = line
	}
}
