package run

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
)

// beamScope marks the context of the beam.Run call of runBeam.
type beamScope struct{}

// beamExit is the panic with which a logger of GuardBeamExits replaces
// Beam's end of the process under runBeam.
type beamExit struct{ msg string }

// GuardBeamExits wraps Beam's logger l (for beam/log.SetLogger) so that
// Beam cannot end the process in the middle of a run: Beam logs a message
// of fatal severity before it calls os.Exit(1) (log.Exitf, e.g. for a runner
// that is not registered) or panics (log.Fatalf), which would skip the run's
// cleanup (its temporary folder, the output's lock). Logged on the context
// of a run's beam.Run call, such a message panics instead, and the run
// recovers it as its error (so it is not logged: the run reports it). Other
// messages go to l.
func GuardBeamExits(l beamlog.Logger) beamlog.Logger { return exitGuard{l} }

type exitGuard struct{ l beamlog.Logger }

func (g exitGuard) Log(ctx context.Context, sev beamlog.Severity, calldepth int, msg string) {
	if sev >= beamlog.SevFatal && ctx.Value(beamScope{}) != nil {
		panic(beamExit{msg})
	}
	g.l.Log(ctx, sev, calldepth+1, msg)
}

// runBeam runs p on runner with beam.Run, and returns Beam's fatal exits
// (see GuardBeamExits) and panics on this goroutine as errors, so that the
// caller's cleanup runs. LOOPBACK workers of a run on a job server are
// served by vendorlake's own pool (see loopbackPool).
func runBeam(ctx context.Context, runner string, p *beam.Pipeline) (err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case beamExit:
			err = fmt.Errorf("beam: %s", strings.TrimSpace(r.msg))
		default:
			err = fmt.Errorf("beam panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return withLoopbackPool(ctx, runner, func() error {
		_, err := beam.Run(context.WithValue(ctx, beamScope{}, true), runner, p)
		return err
	})
}
