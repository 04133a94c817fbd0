package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve answers HTTP requests on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections, answers 503 to new requests on open ones, and waits up
// to grace for the requests in flight (streams included) to finish; those still
// running then are cancelled (their generations stop before the next token) and the
// connections closed. It returns nil after such a shutdown, or the error that stopped
// the server.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.closing.Store(true)
	running, waiting := s.Busy()
	s.log.Info("shutting down", "running", running, "waiting", waiting, "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	err := hs.Shutdown(sctx)
	cancel()
	if err != nil {
		// The grace period is over: cancel what is left, then close what does not end.
		running, waiting := s.Busy()
		s.log.Warn("grace period over: cancelling requests in flight", "running", running, "waiting", waiting)
		cancelAll()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
		if err != nil {
			err = hs.Close()
		}
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
