package main

import "testing"

func TestIsBootCopy(t *testing.T) {
	for _, c := range []struct {
		exe  string
		want bool
	}{
		{"/tmp/bin3451932456/worker", true},
		{"/tmp/bin1/worker", true},
		{"/tmp/bin3451932456/vendorlake", false},
		{"/tmp/bin/worker", false},
		{"/tmp/binx12/worker", false},
		{"/usr/local/bin/worker", false},
		{"/tmp/bin12/sub/worker", false},
		{"/var/tmp/bin12/worker", false},
		{"/tmp/bin12/worker/x", false},
	} {
		if got := isBootCopy(c.exe); got != c.want {
			t.Errorf("isBootCopy(%q) = %v, want %v", c.exe, got, c.want)
		}
	}
}
