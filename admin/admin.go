// Package admin serves the agent's operational HTTP endpoint: Prometheus
// metrics, liveness, readiness and a status document for `shipper status`.
// It listens on loopback by default: nothing here is meant for the network
// at large.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Probe reports whether the agent is ready; nil means ready. The error text
// is shown to whoever asks /readyz, so it must not hold secrets.
type Probe func(ctx context.Context) error

// StatusFunc returns the document served at /status (files, lag, rates).
type StatusFunc func() any

// Server is the HTTP endpoint. The zero value is not usable; use New.
type Server struct {
	addr   string
	srv    *http.Server
	ln     net.Listener
	log    *zap.Logger
	served chan error
}

// Options are the endpoint's optional parts.
type Options struct {
	// Pprof serves net/http/pprof under /debug/pprof/.
	Pprof bool
}

// New builds the server; it does not listen until Start.
func New(addr string, reg *prometheus.Registry, ready Probe, status StatusFunc, log *zap.Logger, opts Options) *Server {
	mux := http.NewServeMux()
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(status())
	})
	return &Server{
		addr: addr,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		log:  log,
	}
}

// Start listens and serves in the background; it returns once listening,
// with the error of listening if that failed.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listening for metrics and health on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.served = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	s.log.Info("serving metrics and health", zap.String("addr", ln.Addr().String()))
	return nil
}

// Addr is the address listened on (useful with port 0), or "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server; safe without Start and more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if s.served != nil {
		if serr := <-s.served; err == nil {
			err = serr
		}
		s.served = nil
	}
	return err
}
