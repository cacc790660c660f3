// Package e2e holds process-level tests: the connector-proxy and
// engagement-sim binaries, built once by TestMain, run as separate
// processes on loopback ports, configured as an operator would (a YAML file
// and CONNECTOR_PROXY_ environment variables), with real redis-servers
// (internal/redistest) where several replicas share state. They check what
// only whole processes can show: a replica killed with SIGKILL, a restart on
// the same data directory, Redis going away and coming back, and events
// crossing from one replica to another.
//
// Every wait is bounded; every process is killed at the test's cleanup, and
// its output is printed when the test fails.
package e2e
