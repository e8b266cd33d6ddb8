package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/traceship/shipper/admin"
	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/logging"
	"github.com/traceship/shipper/pipeline"
	"github.com/traceship/shipper/redact"
	"github.com/traceship/shipper/sink"
)

// newLogger builds the agent's own logger from cfg.Log, redacted with the
// default redaction rules so no card number or secret reaches the logs.
func newLogger(cfg config.Config, stderr io.Writer) (*zap.Logger, *redact.Redactor, func() error, error) {
	red, err := ownRedactor()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("building the log redactor: %w", err)
	}
	log, closeLog, err := logging.New(logging.Options{
		Level: cfg.Log.Level, Format: cfg.Log.Format, File: cfg.Log.File,
		MaxSizeMB: cfg.Log.MaxSizeMB, MaxBackups: cfg.Log.MaxBackups, Stderr: stderr,
	}, red)
	if err != nil {
		return nil, nil, nil, err
	}
	return log, red, closeLog, nil
}

// runAgent is `shipper run`: it runs until the first SIGINT/SIGTERM, then
// shuts down within the grace period; a second signal exits at once
// (checkpoints hold only acknowledged offsets, so they stay consistent).
// SIGHUP reloads the configuration file.
func runAgent(cmd *cobra.Command, cfg config.Config, e env) error {
	log, red, closeLog, err := newLogger(cfg, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer closeLog()
	unlock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	defer setMemoryLimit(cfg, e.getenv, log)()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := pipeline.NewMetrics(reg)

	scfg := cfg.Elasticsearch
	snk, err := sink.NewWithStateDir(scfg, cfg.StateDir, log.Named("sink"), red.Text)
	if err != nil {
		return fmt.Errorf("building the Elasticsearch sink: %w", err)
	}
	penv := e.pipelineEnv(cfg)
	penv.RedactText = red.Text // file paths on /status and /metrics, as in the logs
	agent, err := pipeline.NewAgent(cfg, log, penv, snk, metrics)
	if err != nil {
		return err
	}
	agent.RegisterCollector(reg, snk.Stats)
	snk.ObserveRequests(metrics.ObserveBulk)

	ctx := cmd.Context()
	setupDone := make(chan struct{})
	probe, err := newESProbe(cfg, log.Named("readyz"))
	if err != nil {
		return err
	}
	defer probe.close()
	ready := func(ctx context.Context) error {
		select {
		case <-setupDone:
		default:
			return fmt.Errorf("Elasticsearch setup (ILM policy, index template) not done yet")
		}
		if err := probe.check(ctx); err != nil {
			return err
		}
		return agent.Ready(ctx)
	}

	var srv *admin.Server
	if cfg.HTTP.Listen != "" {
		srv = admin.New(cfg.HTTP.Listen, reg, ready, agent.Status, log.Named("http"), admin.Options{Pprof: cfg.HTTP.Pprof})
		if err := srv.Start(); err != nil {
			return err
		}
		defer srv.Shutdown(context.Background())
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		stopping := false
		for sig := range signals {
			switch {
			case sig == syscall.SIGHUP && !stopping:
				reload(cmd, agent, cfg.File, log)
			case sig != syscall.SIGHUP && stopping:
				log.Warn("second signal: exiting now; lines not yet acknowledged will be read again at the next start")
				_ = closeLog()
				os.Exit(1)
			case sig != syscall.SIGHUP:
				stopping = true
				_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
				log.Info("signal received: stopping", zap.String("signal", sig.String()))
				stop()
			}
		}
	}()
	go watchdog(runCtx)

	if scfg.Setup.Enabled {
		if err := setupWithRetry(runCtx, cfg, log); err != nil {
			if errors.Is(err, context.Canceled) {
				log.Info("stopped before Elasticsearch setup completed; nothing was read")
				return nil
			}
			return fmt.Errorf("Elasticsearch setup: %w", err)
		}
	}
	close(setupDone)

	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
	log.Info("shipper started", zap.String("version", versionString()), zap.String("config", cfg.File), zap.Int("pipelines", len(cfg.Pipelines)))
	return agent.Run(runCtx)
}

// setMemoryLimit applies memory_limit as the Go runtime's soft memory limit,
// unless GOMEMLIMIT set one, and returns the function that restores the
// previous limit.
func setMemoryLimit(cfg config.Config, getenv func(string) string, log *zap.Logger) (restore func()) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", v), zap.String("memory_limit", cfg.MemoryLimit+" (not applied)"))
		return func() {}
	}
	limit := cfg.MemoryLimitBytes()
	if limit == 0 {
		return func() {}
	}
	prev := debug.SetMemoryLimit(limit)
	log.Info("memory limit", zap.String("memory_limit", cfg.MemoryLimit), zap.Int64("bytes", limit))
	return func() { debug.SetMemoryLimit(prev) }
}

// reload re-reads the configuration file; an invalid one is rejected with a
// logged error while the running configuration keeps running.
func reload(cmd *cobra.Command, agent *pipeline.Agent, file string, log *zap.Logger) {
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReloading)
	defer daemon.SdNotify(false, daemon.SdNotifyReady)
	cfg, problems, err := config.Load(file)
	if err != nil {
		log.Error("configuration not reloaded: it is invalid; the running configuration stays", zap.String("config", file), zap.String("problems", problems.Error()), zap.NamedError("cause", err))
		return
	}
	if err := agent.Reload(cfg); err != nil {
		log.Error("configuration not reloaded", zap.Error(err))
	}
}

// watchdog pings systemd's watchdog at half its interval while the agent runs.
func watchdog(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}
