package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/pipeline"
	"github.com/traceship/shipper/tailer"
)

func newStatusCmd(e env) *cobra.Command {
	var file, addr string
	cmd := &cobra.Command{
		Use:   "status [-c pipelines.yaml | --addr HOST:PORT]",
		Short: "Show each file's lag and each pipeline's rates, from the running agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				cfg := config.Default()
				if file != "" {
					var err error
					if cfg, err = loadConfig(cmd, file); err != nil {
						return err
					}
				}
				addr = cfg.HTTP.Listen
			}
			if addr == "" {
				return fmt.Errorf("the agent's HTTP endpoint is off (http.listen is empty); nothing to ask")
			}
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get("http://" + addr + "/status")
			if err != nil {
				return fmt.Errorf("asking the agent at %s (is `shipper run` running?): %w", addr, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("the agent at %s answered %s", addr, resp.Status)
			}
			var st pipeline.Status
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				return fmt.Errorf("reading the agent's status: %w", err)
			}
			printStatus(cmd, st)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration file to take http.listen from")
	cmd.Flags().StringVar(&addr, "addr", "", "the agent's HTTP address (default: http.listen of the config, 127.0.0.1:5066)")
	return cmd
}

func printStatus(cmd *cobra.Command, st pipeline.Status) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PIPELINE\tREAD\tSENT\tDROPPED\tREAD/S\tSENT/S")
	for _, p := range st.Pipelines {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.0f\t%.0f\n", p.Name, p.Read, p.Sent, p.Dropped, p.ReadPerSecond, p.SentPerSecond)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "FILE\tSIZE\tACKED\tBEHIND\tSTATE")
	for _, f := range st.Files {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", f.Path, f.Size, f.AckedOffset, max(f.Size-f.AckedOffset, 0), fileState(f))
	}
	w.Flush()
}

// fileState says what the agent is doing with a file: reading it, draining
// it after it left its path (a rotated file shows under its old name until
// then, next to the new file of that name), or nothing until it changes.
func fileState(f tailer.FileStatus) string {
	switch {
	case f.Gone:
		return "draining (rotated away or deleted)"
	case f.Open:
		return "open"
	}
	return "closed"
}
