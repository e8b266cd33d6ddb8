// Command esdouble runs the Elasticsearch 8 test double (internal/estest)
// as its own process: for the end-to-end benchmark, which must not count
// the double's CPU as the agent's, and for trying `shipper run` without an
// Elasticsearch cluster.
//
//	go run ./cmd/esdouble -listen 127.0.0.1:9200 [-discard] [-fault-429 0.1] [-item-fail 0.05]
//
// It prints the URL it listens on, then serves until SIGINT or SIGTERM and
// prints a one-line summary (documents stored, conflicts, requests).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/traceship/shipper/internal/estest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage is printed already
			return
		}
		fmt.Fprintln(os.Stderr, "esdouble:", err)
		os.Exit(2)
	}
}

// run parses flags, serves until ctx is done, and writes the summary.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("esdouble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9200", "address to listen on (port 0 picks a free one)")
	discard := fs.Bool("discard", false, "count items and remember _ids without keeping sources (cheap; no mapping checks, no search)")
	fault429 := fs.Float64("fault-429", 0, "fraction of bulk requests answered with a whole-request 429")
	fault503 := fs.Float64("fault-503", 0, "fraction of bulk requests answered with a whole-request 503 (used instead of -fault-429 when both are set)")
	itemFail := fs.Float64("item-fail", 0, "fraction of bulk items answered with a per-item 429 es_rejected_execution_exception")
	item5xx := fs.Float64("item-5xx", 0, "fraction of bulk items answered with a per-item 503 unavailable_shards_exception")
	drop := fs.Float64("drop", 0, "fraction of bulk requests whose connection is closed without an answer, after storing")
	delay := fs.Duration("delay", 0, "delay every bulk response by this long (documents are stored first)")
	seed := fs.Uint64("seed", 1, "seed for the fault ratios (same seed, same faults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	f := estest.Faults{Seed: *seed, StatusRatio: *fault429, Item429Ratio: *itemFail, Item5xxRatio: *item5xx,
		DropRatio: *drop, DropAfterStore: true, Delay: *delay}
	if *fault503 > 0 {
		f.Status, f.StatusRatio = 503, *fault503
	}
	opts := []estest.Option{estest.WithAddr(*listen), estest.WithFaults(f)}
	if *discard {
		opts = append(opts, estest.WithDiscard())
	}
	srv, err := estest.NewServer(opts...)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(stdout, "esdouble listening on", srv.URL())
	start := time.Now()
	<-ctx.Done()
	st := srv.Requests()
	fmt.Fprintf(stdout, "esdouble: %d docs stored, %d conflicts, %d rejected, %d bulk requests (%d items, %d item 429s, %d item 5xx), %d whole-request faults, %d dropped, %d requests in %s\n",
		srv.Count(""), st.Conflicts, st.Rejected, st.Bulk, st.Items, st.Item429, st.Item5xx,
		st.Status429+st.Status502+st.Status503+st.Status504, st.Dropped, st.Requests, time.Since(start).Round(time.Millisecond))
	return nil
}
