package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/pipeline"
)

func newTestCmd(e env) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "test [-c pipelines.yaml]",
		Short: "Run the pipeline unit tests of pipelines.yaml and of *_test.yaml files next to it",
		Long: `test runs the tests: section of the configuration and the tests of every
*_test.yaml file in the same directory. Each test feeds its input lines through
a pipeline exactly as a file's lines would go, and checks the documents that come
out. Failures show the expected and actual values with the test's file and line.
The exit status is 1 when any test fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			tests := cfg.Tests
			more, problems, err := cfg.LoadTestFiles(filepath.Dir(file))
			for _, p := range problems {
				fmt.Fprintln(cmd.ErrOrStderr(), redactedError(p.Error()))
			}
			if err != nil {
				return exitError{code: 1}
			}
			tests = append(tests, more...)
			if len(tests) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no tests (add a tests: section or a *_test.yaml file)")
				return nil
			}
			results, err := pipeline.RunTests(cmd.Context(), cfg, tests, e.pipelineEnv(cfg), cmd.OutOrStdout())
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if len(r.Failures) > 0 {
					failed++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed\n", len(results)-failed, failed)
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file")
	return cmd
}

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of pipelines.yaml (for editors' YAML language servers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.SchemaJSON)
			return err
		},
	}
}
