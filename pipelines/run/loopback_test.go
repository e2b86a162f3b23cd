package run

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestLoopbackPoolStopsPromptly: a runner that keeps its connection to the
// pool open after the job, not answering the server's GOAWAY (Flink's
// TaskManagers held the end of every run for 1.0 s so), does not hold up
// the end of the run.
func TestLoopbackPoolStopsPromptly(t *testing.T) {
	pool, err := startLoopbackPool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// An HTTP/2 client that says hello and then reads without answering.
	conn, err := net.Dial("tcp", pool.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.ReadFrame(); err != nil { // the server's SETTINGS: it is up
		t.Fatal(err)
	}
	go io.Copy(io.Discard, conn)
	start := time.Now()
	pool.Stop()
	if d := time.Since(start); d > stopGrace+time.Second {
		t.Errorf("Stop took %v with a silent client connected, want about %v", d, stopGrace)
	}
}
