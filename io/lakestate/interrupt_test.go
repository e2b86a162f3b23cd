package lakestate

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// cancelFS is a local store that, like S3's client, fails every call whose
// context is done, and cancels the run's context at its first rename (a
// signal in the middle of a commit) of a table file.
type cancelFS struct {
	lakefs.Local
	cancel func()
}

func (f cancelFS) Rename(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := f.Local.Rename(ctx, src, dst)
	if strings.HasSuffix(dst, ".parquet") {
		f.cancel()
	}
	return err
}

func (f cancelFS) Delete(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.Local.Delete(ctx, p)
}

func (f cancelFS) DeleteAll(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.Local.DeleteAll(ctx, p)
}

// TestApplyInterrupted: a context done before Apply records the log changes
// nothing; one cancelled once the log is recorded (at the first move) does
// not cut the commit, which is finished.
func TestApplyInterrupted(t *testing.T) {
	for _, before := range []bool{true, false} {
		out := t.TempDir()
		runID := "r1"
		tmp := TempDir(out, "p", runID)
		var log CommitLog
		log.RunID, log.Pipeline, log.Output, log.Tables = runID, "p", out, []string{"t"}
		for _, name := range []string{"a", "b", "c"} {
			from := lakefs.Join(tmp, name)
			if err := lakefs.WriteFile(context.Background(), lakefs.Local{}, from, []byte(name)); err != nil {
				t.Fatal(err)
			}
			log.Moves = append(log.Moves, Move{From: from, To: lakefs.Join(out, "t", "k=v", name+".parquet"), Table: "t"})
		}
		ctx, cancel := context.WithCancel(context.Background())
		if before {
			cancel()
		}
		err := Apply(ctx, cancelFS{cancel: cancel}, &log)
		cancel()
		moved := 0
		for _, m := range log.Moves {
			if _, err := os.Stat(m.To); err == nil {
				moved++
			}
		}
		_, logErr := os.Stat(CommitLogPath(out, "p", runID))
		if before {
			if !errors.Is(err, context.Canceled) || moved != 0 || !os.IsNotExist(logErr) {
				t.Errorf("cancelled before: err %v, %d files moved, log %v; want context.Canceled, nothing moved, no log", err, moved, logErr)
			}
			continue
		}
		if _, tmpErr := os.Stat(tmp); err != nil || moved != len(log.Moves) || !os.IsNotExist(logErr) || !os.IsNotExist(tmpErr) {
			t.Errorf("cancelled at the first move: err %v, %d of %d files moved, log %v, temporary folder %v; want the commit finished", err, moved, len(log.Moves), logErr, tmpErr)
		}
	}
}
