// Command shipper tails JSON log files, tags every event with its trace,
// redacts card numbers and secrets, samples trace-aware and bulk-indexes
// into Elasticsearch. `shipper -h` lists the subcommands.
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

	"github.com/spf13/cobra"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/pipeline"
	"github.com/traceship/shipper/redact"
	"github.com/traceship/shipper/sink"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr, processEnv())
	stop()
	os.Exit(code)
}

// exitError carries an exit code for errors already reported to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// env is what commands take from the process, injectable in tests.
type env struct {
	getenv func(string) string
	now    func() time.Time
	// readTime, when set, is the read time of every line in dry-run and test
	// (for golden files); otherwise dry-run uses each file's modification
	// time, so that the same file gives the same output.
	readTime func(path string) time.Time
}

func processEnv() env { return env{getenv: os.Getenv, now: time.Now} }

func (e env) pipelineEnv(cfg config.Config) pipeline.Env {
	return pipeline.Env{Getenv: e.getenv, Now: e.now, DataStream: cfg.Elasticsearch.Mode == sink.ModeDataStream}
}

// execute runs the command line args and returns the exit code. It is main
// without the process: tests call it.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, e env) int {
	root := newRoot(stdout, stderr, e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(stderr, "shipper:", redactedError(err.Error()))
		return 1
	}
}

func newRoot(stdout, stderr io.Writer, e env) *cobra.Command {
	root := &cobra.Command{
		Use:           "shipper",
		Short:         "Ship JSON logs to Elasticsearch with trace correlation, redaction and trace-aware sampling",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newRunCmd(e),
		newDryRunCmd(e),
		newValidateCmd(e),
		newSetupCmd(),
		newDLQCmd(),
		newTraceCmd(),
		newStatusCmd(e),
		newTestCmd(e),
		newSchemaCmd(),
		newVersionCmd(),
	)
	return root
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "shipper", versionString())
			return nil
		},
	}
}

// loadConfig loads path, or returns the built-in defaults when path is
// empty. Problems are printed to stderr as FILE:LINE:COL: message.
func loadConfig(cmd *cobra.Command, path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	cfg, problems, err := config.Load(path)
	for _, p := range problems {
		fmt.Fprintln(cmd.ErrOrStderr(), redactedError(p.Error()))
	}
	if err != nil {
		if len(problems) > 0 {
			return cfg, exitError{code: 1}
		}
		return cfg, err
	}
	return cfg, nil
}

func newValidateCmd(e env) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a pipelines.yaml and print every problem as FILE:LINE:COL: message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, problems, err := config.Load(file)
			if err != nil && len(problems) == 0 {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), redactedError(p.Error()))
			}
			if len(problems.Errors()) > 0 {
				return exitError{code: 1}
			}
			if err := buildAll(cfg, e); err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), redactedError(cfg.HideEnv(err.Error())))
				return exitError{code: 1}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file")
	return cmd
}

// redactedError is an error or a configuration problem as the command
// prints it: redacted with the default rules, as the agent's logs are. It
// may quote the configuration, and through it the environment (an
// Elasticsearch URL with its password, a key that is a card number).
func redactedError(s string) string {
	red, err := ownRedactor()
	if err != nil {
		return "(not shown: the redactor could not be built: " + err.Error() + ")"
	}
	return string(red.Text(nil, []byte(s)))
}

// ownRedactor redacts what the agent says itself: its logs, its errors and
// the problems it finds in a configuration. The default rules, whatever the
// pipelines configure: the configuration may be the broken thing.
func ownRedactor() (*redact.Redactor, error) {
	return redact.New(redact.DefaultConfig(), os.Getenv)
}
