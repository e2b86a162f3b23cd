package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $VENDORLAKE_CPUPROFILE and, at the
// end of the command, a heap profile (with the allocations of the whole run,
// go tool pprof -sample_index=alloc_space) to $VENDORLAKE_MEMPROFILE, when
// set, for scripts/bench and for anyone chasing a slow or big run; it
// returns the stop func.
func startProfile() func() {
	stopCPU := startCPUProfile(os.Getenv("VENDORLAKE_CPUPROFILE"))
	memPath := os.Getenv("VENDORLAKE_MEMPROFILE")
	return func() {
		stopCPU()
		if memPath != "" {
			writeHeapProfile(memPath)
		}
	}
}

func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vendorlake: cpu profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "vendorlake: cpu profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vendorlake: heap profile: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "vendorlake: heap profile: %v\n", err)
	}
}
