package simulator

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Server is a simulator serving on a TCP listener.
type Server struct {
	URL string // "http://127.0.0.1:port"
	Sim *Simulator

	srv       *fasthttp.Server
	stop      func() bool
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves the
// simulator in the background until ctx ends or Close is called.
func Start(ctx context.Context, cfg Config, addr string) (*Server, error) {
	if err := CheckAPIVersion(cfg.APIVersion); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen %s: %w", addr, err)
	}
	sim := New(cfg)
	srv := &fasthttp.Server{
		Handler:            sim.Handler,
		Name:               "engagement-sim",
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: 1 << 20,
		Logger:             slogPrinter{sim},
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Sim: sim, srv: srv}
	go func() {
		if err := srv.Serve(ln); err != nil {
			sim.log.Error("simulator listener stopped", "err", err)
		}
	}()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// Close stops the listener (waiting up to 5 s for requests in flight), then
// the simulator's background work.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.ShutdownWithContext(ctx); err != nil {
			s.closeErr = fmt.Errorf("simulator: shutdown: %w", err)
		}
		_ = s.Sim.Close()
	})
	return s.closeErr
}

// slogPrinter routes fasthttp's own log lines to the simulator's logger.
type slogPrinter struct{ s *Simulator }

func (p slogPrinter) Printf(format string, args ...any) {
	p.s.log.Warn(fmt.Sprintf(format, args...))
}
