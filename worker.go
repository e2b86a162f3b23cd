package main

import (
	"os"
	"path/filepath"
	"regexp"
)

// bootCopyDir matches the folder in which Beam's Go boot program (the
// container entry point of PROCESS and DOCKER workers, sdks/go/container
// boot.go) places its copy of the worker binary: os.MkdirTemp("/tmp/",
// "bin*"). The boot program never removes it, so every worker start left a
// copy of this program (about 180 MB) in /tmp until the disk filled.
var bootCopyDir = regexp.MustCompile(`^/tmp/bin[0-9]+$`)

// removeBootCopy removes the copy of this program that the boot program
// made to run it as a worker, when this process is that copy: a file named
// "worker" alone in a folder the boot program names. Linux keeps a running
// program's file until it exits, and the Beam harness reads its own symbols
// through /proc/self/exe, which stays readable. Any other location (the
// user's --worker_binary, a LOOPBACK test binary) is left alone, and
// failures are ignored: the copy is then left behind as before.
func removeBootCopy() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if isBootCopy(exe) && os.Remove(exe) == nil {
		os.Remove(filepath.Dir(exe)) // only if empty
	}
}

// isBootCopy reports whether exe is a path the boot program copies the
// worker binary to.
func isBootCopy(exe string) bool {
	return filepath.Base(exe) == "worker" && bootCopyDir.MatchString(filepath.Dir(exe))
}
