//go:build !unix

package proxy

// fdLimit is unknown on this platform: limits.max_conns, when 0, caps
// nothing, and accept errors are waited out.
func fdLimit() int { return 0 }
