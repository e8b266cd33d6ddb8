package main

import (
	"github.com/spf13/cobra"
)

func newRunCmd(e env) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "run -c pipelines.yaml",
		Short: "Run the agent until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			return runAgent(cmd, cfg, e)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "pipelines.yaml", "configuration file")
	return cmd
}
