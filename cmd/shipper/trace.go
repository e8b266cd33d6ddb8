package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/sink"
	"github.com/traceship/shipper/timeline"
)

func newTraceCmd() *cobra.Command {
	var (
		file, indexPattern string
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "trace TRACE_ID [-c pipelines.yaml] [--json]",
		Short: "Print every log line of one trace, across services and days, as a timeline",
		Long: `trace asks Elasticsearch for every document whose trace.id is TRACE_ID, in all
the indices the pipelines write (every day, every service), and prints them in time
order: the offset from the first line, the service, the level and the message. It
is the logs-only view of one request's journey. --json prints one JSON object per
line instead. TRACE_ID may be in any of the forms the agent recognises (32 or 16 hex
digits, a UUID, a traceparent).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			pattern := indexPattern
			if pattern == "" {
				// Where the pipelines write, in index or data stream mode.
				pats, err := indexPatterns(cfg)
				if err != nil {
					return err
				}
				pattern = strings.Join(index.Globs(pats), ",")
			}
			log, _, closeLog, err := newLogger(withConsoleLog(cfg), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			client, err := sink.NewClient(cfg.Elasticsearch, log)
			if err != nil {
				return err
			}
			defer sink.CloseClient(client)
			res, err := timeline.Print(cmd.Context(), cmd.OutOrStdout(), client, pattern, args[0], asJSON, timeline.Options{})
			if err != nil {
				return err
			}
			if len(res.Entries) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no documents with trace.id %s in %s\n", args[0], pattern)
				return exitError{code: 1}
			}
			if res.Truncated {
				fmt.Fprintln(cmd.ErrOrStderr(), "(truncated: the trace has more lines than shown)")
			}
			if res.Approximate {
				fmt.Fprintln(cmd.ErrOrStderr(), "(approximate: no point in time could be opened; lines indexed meanwhile may be missing or repeated)")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file (for the cluster and the index patterns)")
	cmd.Flags().StringVar(&indexPattern, "index", "", "search these indices instead (wildcards and commas allowed)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines instead of a timeline")
	return cmd
}
