// Command engagement-sim serves the AXP simulator (package simulator) on its
// own listener, so that connector-proxy can be tried and tested without a
// contact center. -api-version chooses the generation it serves: v1beta
// (default), v1 (the GA API, which refuses calls without -app-key as
// appkey) or both.
//
// Every flag has an environment variable that sets its default (SIM_ADDR,
// SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_AUTO_AGENT, …); a flag given on the
// command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/connector-proxy/connector-proxy/simulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "engagement-sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("engagement-sim", flag.ContinueOnError)
	var errs []error
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		v, ok := os.LookupEnv(name)
		if !ok {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return d
	}
	envInt := func(name string, def int) int {
		v, ok := os.LookupEnv(name)
		if !ok {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return n
	}
	envBool := func(name string) bool {
		v, ok := os.LookupEnv(name)
		if !ok {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return b
	}

	cfg := simulator.DefaultConfig() // the flags show the simulator's own defaults
	addr := fs.String("addr", env("SIM_ADDR", "127.0.0.1:8090"), "listen address (SIM_ADDR)")
	fs.StringVar(&cfg.ClientID, "client-id", env("SIM_CLIENT_ID", cfg.ClientID), "client_id the token endpoint accepts (SIM_CLIENT_ID)")
	fs.StringVar(&cfg.ClientSecret, "client-secret", env("SIM_CLIENT_SECRET", cfg.ClientSecret), "client_secret the token endpoint accepts (SIM_CLIENT_SECRET)")
	fs.StringVar(&cfg.APIVersion, "api-version", env("SIM_API_VERSION", cfg.APIVersion), "API generation served: v1beta, v1 (GA) or both (SIM_API_VERSION)")
	fs.StringVar(&cfg.AppKey, "app-key", env("SIM_APP_KEY", cfg.AppKey), "appkey every GA v1 call must carry (SIM_APP_KEY)")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", envDur("SIM_TOKEN_TTL", cfg.TokenTTL), "access token lifetime (SIM_TOKEN_TTL)")
	fs.BoolVar(&cfg.AutoAgent, "auto-agent", envBool("SIM_AUTO_AGENT"), "join each new engagement and answer each customer message (SIM_AUTO_AGENT)")
	fs.StringVar(&cfg.AutoAgentName, "auto-agent-name", env("SIM_AUTO_AGENT_NAME", cfg.AutoAgentName), "the auto-agent's display name (SIM_AUTO_AGENT_NAME)")
	fs.DurationVar(&cfg.AutoAgentDelay, "auto-agent-delay", envDur("SIM_AUTO_AGENT_DELAY", cfg.AutoAgentDelay), "delay before the auto-agent acts (SIM_AUTO_AGENT_DELAY)")
	fs.DurationVar(&cfg.CallbackTimeout, "callback-timeout", envDur("SIM_CALLBACK_TIMEOUT", cfg.CallbackTimeout), "a webhook callback slower than this failed (SIM_CALLBACK_TIMEOUT)")
	fs.DurationVar(&cfg.RedeliveryDelay, "redelivery-delay", envDur("SIM_REDELIVERY_DELAY", cfg.RedeliveryDelay), "first delay before a failed callback is re-sent, doubling (SIM_REDELIVERY_DELAY)")
	fs.DurationVar(&cfg.MaxRedeliveryDelay, "max-redelivery-delay", envDur("SIM_MAX_REDELIVERY_DELAY", cfg.MaxRedeliveryDelay), "longest delay between re-sends of a failed callback (SIM_MAX_REDELIVERY_DELAY)")
	fs.IntVar(&cfg.MaxDeliveryAttempts, "max-delivery-attempts", envInt("SIM_MAX_DELIVERY_ATTEMPTS", cfg.MaxDeliveryAttempts), "attempts before an event is dropped (SIM_MAX_DELIVERY_ATTEMPTS)")
	level := fs.String("log-level", env("SIM_LOG_LEVEL", "info"), "debug, info, warn or error (SIM_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h printed the usage: not a failure
		}
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := simulator.CheckAPIVersion(cfg.APIVersion); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	cfg.Logger = log

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := simulator.Start(ctx, cfg, *addr)
	if err != nil {
		return err
	}
	attrs := []any{"url", srv.URL, "apiVersion", cfg.APIVersion, "autoAgent", cfg.AutoAgent}
	if cfg.APIVersion != simulator.APIV1 {
		attrs = append(attrs, "token", srv.URL+"/auth/realms/{accountId}/protocol/openid-connect/token")
	}
	if cfg.APIVersion != simulator.APIV1Beta {
		attrs = append(attrs, "gaToken", srv.URL+"/api/auth/v1/{accountId}/protocol/openid-connect/token")
	}
	log.Info("engagement simulator listening", attrs...)
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}
