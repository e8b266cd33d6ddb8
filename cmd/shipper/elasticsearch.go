package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/sink"
)

// indexPatterns compiles every pipeline's index pattern, as documents will
// be named, for the index template.
func indexPatterns(cfg config.Config) ([]*index.Pattern, error) {
	var out []*index.Pattern
	for _, p := range cfg.Pipelines {
		pat, err := p.Index.Compile(cfg.Elasticsearch.Mode == sink.ModeDataStream)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: index: %w", p.Name, err)
		}
		out = append(out, pat)
	}
	return out, nil
}

// setupWithRetry installs the ILM policy and index template, so that no
// document is indexed before its mappings exist. It retries every failed
// setup, with backoff, until one succeeds or ctx ends: Elasticsearch
// unreachable, but also refusals only an operator can fix (a foreign
// template of the same name, say). Reading has not started: lines wait on
// disk meanwhile.
func setupWithRetry(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	patterns, err := indexPatterns(cfg)
	if err != nil {
		return err
	}
	wait := time.Second
	for {
		err := sink.Setup(ctx, cfg.Elasticsearch, patterns, log.Named("setup"))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("Elasticsearch setup failed; retrying before reading any file", zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func newSetupCmd() *cobra.Command {
	var file, kibanaURL string
	cmd := &cobra.Command{
		Use:   "setup -c pipelines.yaml",
		Short: "Create or update the ILM policy and the index template in Elasticsearch",
		Long: `setup writes the ILM policy (elasticsearch.setup.ilm) and one composable index
template matching the pipelines' index patterns, with the ECS mappings (trace.id,
span.id, log.level, service.name and host.name as keyword). It is idempotent, and
warns when an existing template of higher priority would shadow it (such as
Elasticsearch's built-in logs-*-* template). shipper run does the same at start
unless elasticsearch.setup.enabled is false.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			log, _, closeLog, err := newLogger(withConsoleLog(cfg), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			patterns, err := indexPatterns(cfg)
			if err != nil {
				return err
			}
			if err := sink.Setup(cmd.Context(), cfg.Elasticsearch, patterns, log); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok: ILM policy and index template are in place")
			if kibanaURL != "" {
				if err := sink.SetupKibana(cmd.Context(), kibanaURL, cfg.Elasticsearch, patterns, log); err != nil {
					return fmt.Errorf("creating the Kibana data views: %w", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), "ok: Kibana data views created (Discover finds the logs by trace.id)")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file")
	cmd.Flags().StringVar(&kibanaURL, "kibana-url", "", "also create a Kibana data view per index pattern (Kibana's base URL; same credentials as Elasticsearch)")
	return cmd
}

func newDLQCmd() *cobra.Command {
	dlq := &cobra.Command{
		Use:   "dlq",
		Short: "Work with the dead-letter queue (documents Elasticsearch refused for good)",
	}
	var file, path string
	replay := &cobra.Command{
		Use:   "replay -c pipelines.yaml [--file DLQ.ndjson]",
		Short: "Send the dead-lettered documents to Elasticsearch again",
		Long: `replay sends every document of the dead-letter file again, each to its index
with its _id as a create, so replaying twice stores nothing twice. Documents refused
again go to a new dead-letter file beside it. Fix the cause first (a mapping, an
index template), then replay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			named := path != ""
			if !named {
				path = cfg.Elasticsearch.DeadLetterPath(cfg.StateDir)
			}
			log, red, closeLog, err := newLogger(withConsoleLog(cfg), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			st, err := sink.ReplayDLQ(cmd.Context(), cfg.Elasticsearch, path, log, red.Text)
			if errors.Is(err, fs.ErrNotExist) {
				if named {
					return err
				}
				// The agent makes the file at its first dead letter.
				fmt.Fprintf(cmd.OutOrStdout(), "%s: no dead letters (the file does not exist); nothing to replay\n", filepath.Clean(path))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d indexed, %d already stored, %d refused again", filepath.Clean(path), st.Indexed, st.Duplicates, st.Failed)
			if st.Failed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), " (written to %s)", st.FailedPath)
			}
			if st.Malformed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), ", %d malformed lines skipped", st.Malformed)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return err
		},
	}
	replay.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file")
	replay.Flags().StringVar(&path, "file", "", "the dead-letter file (default: elasticsearch.dead_letter.path, or <state_dir>/dlq/dead-letter.ndjson)")
	dlq.AddCommand(replay)
	return dlq
}

// withConsoleLog makes one-shot commands log for a person at a terminal.
func withConsoleLog(cfg config.Config) config.Config {
	cfg.Log.Format, cfg.Log.File = "console", ""
	return cfg
}

// esProbe answers "is Elasticsearch reachable?" for /readyz, asking at most
// once per interval so that frequent probes do not load the cluster.
type esProbe struct {
	client   *elasticsearch.Client
	interval time.Duration

	mu      sync.Mutex
	checked time.Time
	last    error
}

func newESProbe(cfg config.Config, log *zap.Logger) (*esProbe, error) {
	c, err := sink.NewClient(cfg.Elasticsearch, log)
	if err != nil {
		return nil, err
	}
	return &esProbe{client: c, interval: 10 * time.Second}, nil
}

func (p *esProbe) check(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.checked.IsZero() && time.Since(p.checked) < p.interval {
		return p.last
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := p.client.Info(p.client.Info.WithContext(ctx))
	switch {
	case err != nil:
		p.last = fmt.Errorf("Elasticsearch unreachable: %w", err)
	case res.IsError():
		p.last = fmt.Errorf("Elasticsearch answered %s", res.Status())
	default:
		p.last = nil
	}
	if res != nil {
		res.Body.Close()
	}
	p.checked = time.Now()
	return p.last
}

func (p *esProbe) close() { sink.CloseClient(p.client) }
