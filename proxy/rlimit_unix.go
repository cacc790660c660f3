//go:build unix

package proxy

import "syscall"

// fdLimit is the process's soft open-file limit (Go raises it to the hard
// limit at start), 0 when it cannot be read.
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
