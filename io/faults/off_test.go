//go:build !vendorlake_faults

package faults

import (
	"context"
	"testing"
)

// TestOffBuildIgnoresTheSetting: without the build tag, a setting that
// would kill the process at the first hit does nothing.
func TestOffBuildIgnoresTheSetting(t *testing.T) {
	if Enabled {
		t.Fatal("Enabled in a build without vendorlake_faults")
	}
	t.Setenv(Env, "p:1")
	for i := 0; i < 10; i++ {
		Hit(context.Background(), "p")
	}
}
