// Command connector-proxy runs the proxy: with no configuration, in demo
// mode against its embedded AXP simulator. With -check-config it only
// validates the configuration (the file and the CONNECTOR_PROXY_
// variables), prints it resolved with every secret masked, and exits: 0
// when it is good, 1 with each bad field named when it is not.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/proxy"
)

func main() {
	path := flag.String("config", os.Getenv(config.EnvConfigPath), "YAML configuration file (none: demo mode)")
	check := flag.Bool("check-config", false, "validate the configuration and the environment, print it with secrets masked, and exit (0 good, 1 bad)")
	flag.Parse()
	if *check {
		os.Exit(checkConfig(os.Stdout, os.Stderr, *path, os.Environ()))
	}
	if err := run(*path); err != nil {
		fmt.Fprintln(os.Stderr, "connector-proxy:", err)
		os.Exit(1)
	}
}

// checkConfig is -check-config: the resolved configuration on out, the
// verdict (or every fault, one a line) on errOut, and the exit code.
func checkConfig(out, errOut io.Writer, path string, environ []string) int {
	cfg, err := config.Check(path, environ)
	if err != nil {
		fmt.Fprintln(errOut, err)
		fmt.Fprintln(errOut, "connector-proxy: the configuration is not valid")
		return 1
	}
	printed, err := cfg.MaskedYAML()
	if err != nil {
		fmt.Fprintln(errOut, err)
		return 1
	}
	source := "no file"
	if path != "" {
		source = path
	}
	mode := "against the AXP at axp.base_url"
	if cfg.DemoMode() {
		mode = "demo mode: no axp.base_url, the embedded simulator"
	}
	fmt.Fprintf(out, "# connector-proxy configuration from %s and the environment (%s); secrets masked\n", source, mode)
	if _, err := out.Write(printed); err != nil {
		return 1
	}
	fmt.Fprintln(errOut, "connector-proxy: the configuration is valid")
	return 0
}

func run(path string) error {
	cfg, ignored, err := config.Read(path, os.Environ())
	if err != nil {
		return err
	}
	log := proxy.NewLogger(os.Stderr, cfg.Log)
	gc := tuneGC(os.Getenv, cgroupMemoryMax)
	log.Debug("garbage collector", "gc_percent", gc.Percent, "memory_limit_bytes", gc.MemoryLimit)
	for _, name := range ignored {
		log.Warn("environment variable names no configuration field; ignored (connector-proxy -check-config refuses it)", "variable", name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := proxy.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	proxy.Announce(os.Stdout, cfg, p)
	return p.Run(ctx)
}
