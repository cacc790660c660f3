// Command connector-proxy runs the proxy: with no configuration, in demo
// mode against its embedded AXP simulator.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/proxy"
)

func main() {
	path := flag.String("config", os.Getenv("CONNECTOR_PROXY_CONFIG"), "YAML configuration file (none: demo mode)")
	flag.Parse()
	if err := run(*path); err != nil {
		fmt.Fprintln(os.Stderr, "connector-proxy:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return err
	}
	log := proxy.NewLogger(os.Stderr, cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := proxy.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	proxy.Announce(os.Stdout, cfg, p)
	return p.Run(ctx)
}
