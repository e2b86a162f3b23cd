//go:build !vendorlake_faults

package faults

import "context"

// Enabled says whether this build has fault points (the build tag
// vendorlake_faults). It has none: Hit does nothing.
const Enabled = false

// Hit does nothing in a build without the tag vendorlake_faults, whatever
// the environment says.
func Hit(ctx context.Context, name string) {}
