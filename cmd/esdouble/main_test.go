package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The command serves until its context ends and then prints a summary of
// what it stored.
func TestRunServesAndSummarises(t *testing.T) {
	for _, args := range [][]string{{"-listen", "127.0.0.1:0"}, {"-listen", "127.0.0.1:0", "-discard"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, args, pw, io.Discard)
				pw.Close()
			}()
			lines := bufio.NewScanner(pr)
			if !lines.Scan() {
				t.Fatal("no output")
			}
			url, ok := strings.CutPrefix(lines.Text(), "esdouble listening on ")
			if !ok {
				t.Fatalf("first line %q", lines.Text())
			}
			body := `{"create":{"_index":"e2e","_id":"1"}}` + "\n{\"a\":1}\n" + `{"create":{"_index":"e2e","_id":"1"}}` + "\n{\"a\":1}\n"
			res, err := http.Post(url+"/_bulk", "application/x-ndjson", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			http.DefaultClient.CloseIdleConnections()
			cancel()
			if !lines.Scan() {
				t.Fatal("no summary")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			sum := lines.Text()
			for _, want := range []string{"1 docs stored", "1 conflicts", "1 bulk requests (2 items"} {
				if !strings.Contains(sum, want) {
					t.Errorf("summary %q lacks %q", sum, want)
				}
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-fault-429", "2"}, {"-nope"}, {"extra"}, {"-item-fail", "0.8", "-item-5xx", "0.8"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
