package lineparse

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestParseSlotsBoundConcurrentParses checks that no more than the slot
// count of parses run at once, and that a waiting caller gives up when its
// context ends.
func TestParseSlotsBoundConcurrentParses(t *testing.T) {
	ctx := context.Background()
	n := cap(parseSlots)
	var releases []func()
	for i := 0; i < n; i++ {
		r, err := AcquireParseSlot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := AcquireParseSlot(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slot %d of %d: err = %v, want to wait until the deadline", n+1, n, err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := AcquireParseSlot(ctx)
		if err == nil {
			r()
		}
		got <- err
	}()
	releases[0]()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a released slot was not handed to the waiting caller")
	}
	for _, r := range releases[1:] {
		r()
	}
}
