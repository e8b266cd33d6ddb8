package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/pipeline"
)

func newDryRunCmd(e env) *cobra.Command {
	var (
		file, name  string
		showDropped bool
		explain     bool
	)
	cmd := &cobra.Command{
		Use:   "dry-run [-c pipelines.yaml] [--pipeline NAME] [--show-dropped] [--explain] FILE...",
		Short: "Run files through a pipeline once and print the documents instead of sending them",
		Long: `dry-run reads each FILE from its beginning to its end once, runs every stage
(parse, enrich, redact, sample, route) and prints one JSON object per line for each
document that would be indexed: {"_index":…,"_id":…,"_source":{…}}. A summary goes
to stderr. Without -c the built-in defaults are used (the same as the documented
pipelines.yaml).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			cfg, err := loadConfig(cmd, file)
			if err != nil {
				return err
			}
			pc, err := choosePipeline(&cfg, name, files)
			if err != nil {
				return err
			}
			p, err := pipeline.Build(*pc, e.pipelineEnv(cfg))
			if err != nil {
				return err
			}
			opts := pipeline.DryRunOptions{ShowDropped: showDropped, Explain: explain, ReadTime: e.readTime}
			if opts.ReadTime == nil {
				opts.ReadTime = modTime
			}
			if bar := newProgress(cmd); bar != nil {
				opts.Progress = func(done, total int64) {
					bar.ChangeMax64(total)
					_ = bar.Set64(done)
				}
				defer bar.Finish()
			}
			sum, err := pipeline.DryRun(cmd.Context(), p, files, cmd.OutOrStdout(), opts)
			if err != nil {
				return err
			}
			_, err = sum.WriteTo(cmd.ErrOrStderr())
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration file (default: the built-in defaults)")
	cmd.Flags().StringVar(&name, "pipeline", "", "the pipeline to run the files through")
	cmd.Flags().BoolVar(&showDropped, "show-dropped", false, `print sampled-out events too, with "_dropped": reason`)
	cmd.Flags().BoolVar(&explain, "explain", false, "before each document, print what every stage did to it (# lines; implies --show-dropped)")
	return cmd
}

// choosePipeline picks the pipeline for a dry-run: the one named, the only
// one, or the one whose inputs match every file.
func choosePipeline(cfg *config.Config, name string, files []string) (*config.Pipeline, error) {
	if name != "" {
		p, ok := cfg.Pipeline(name)
		if !ok {
			return nil, fmt.Errorf("no pipeline is named %q (there are: %s)", name, strings.Join(cfg.PipelineNames(), ", "))
		}
		return p, nil
	}
	if len(cfg.Pipelines) == 1 {
		return &cfg.Pipelines[0], nil
	}
	var found *config.Pipeline
	for _, f := range files {
		var match *config.Pipeline
		for i := range cfg.Pipelines {
			for k := range cfg.Pipelines[i].Inputs {
				if pipeline.Matches(&cfg.Pipelines[i].Inputs[k], f) {
					match = &cfg.Pipelines[i]
					break
				}
			}
			if match != nil {
				break
			}
		}
		if match == nil {
			return nil, fmt.Errorf("%s matches no pipeline's inputs; choose one with --pipeline (%s)", filepath.Clean(f), strings.Join(cfg.PipelineNames(), ", "))
		}
		if found != nil && found != match {
			return nil, fmt.Errorf("the files belong to different pipelines (%s and %s); dry-run one pipeline at a time with --pipeline", found.Name, match.Name)
		}
		found = match
	}
	return found, nil
}

// buildAll builds every pipeline of cfg, which checks what only the stages
// can (regular expressions compile, HMAC keys are set).
func buildAll(cfg config.Config, e env) error {
	for _, pc := range cfg.Pipelines {
		if _, err := pipeline.Build(pc, e.pipelineEnv(cfg)); err != nil {
			return err
		}
	}
	return nil
}

// modTime is a file's modification time: the read time of dry-run lines
// that carry no time of their own, so that a file gives the same output on
// every run.
func modTime(path string) time.Time {
	if st, err := os.Stat(path); err == nil {
		return st.ModTime()
	}
	return time.Time{}
}

// newProgress returns a progress bar on stderr when a person watches it:
// stderr is a terminal and stdout is not the same screen (the documents
// would garble it). Otherwise nil: silent.
func newProgress(cmd *cobra.Command) *progressbar.ProgressBar {
	errf, ok := cmd.ErrOrStderr().(*os.File)
	if !ok || !term.IsTerminal(int(errf.Fd())) {
		return nil
	}
	if outf, ok := cmd.OutOrStdout().(*os.File); ok && term.IsTerminal(int(outf.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(errf),
		progressbar.OptionSetDescription("dry-run"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
