package lakefs

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestCreateExclusiveLocal(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "a", "lock")
	if err := CreateExclusive(ctx, Local{}, p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	err := CreateExclusive(ctx, Local{}, p, []byte("two"))
	if !errors.Is(err, ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	if b, _ := ReadFile(ctx, Local{}, p); string(b) != "one" {
		t.Fatalf("content %q", b)
	}
}

func TestCreateExclusiveS3(t *testing.T) {
	s, bucket := newTestS3(t, s3TestOptions(t), nil)
	ctx := context.Background()
	p := "s3://" + bucket + "/_vendorlake/lock"
	if err := CreateExclusive(ctx, s, p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := CreateExclusive(ctx, s, p, []byte("two")); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	if b, _ := ReadFile(ctx, s, p); string(b) != "one" {
		t.Fatalf("content %q", b)
	}
}
