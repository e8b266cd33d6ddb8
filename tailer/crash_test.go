package tailer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"go.uber.org/zap"
	"gopkg.in/natefinch/lumberjack.v2"
)

const crashChildEnv = "TAILER_CRASH_CHILD"

// crashChild is the agent in the crash test: it tails logs/ and "ships"
// each acknowledged line by appending "_id line" to shipped, then acks.
// It runs until it is killed.
func crashChild() {
	dir := os.Getenv(crashChildEnv)
	cfg := DefaultConfig()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.CheckpointInterval = 20 * time.Millisecond
	log := zap.NewNop()
	if os.Getenv("TAILER_DEBUG") != "" {
		log, _ = zap.NewDevelopment()
	}
	tl, err := New(cfg, log)
	if err != nil {
		panic(err)
	}
	in := DefaultInput()
	in.Paths = []string{filepath.Join(dir, "logs", "app*.log"), filepath.Join(dir, "logs", "app*.log.gz")}
	in.ScanInterval = 100 * time.Millisecond
	out := make(chan *shipper.Batch, 4)
	if err := tl.SetInputs([]InputSpec{{ID: "in", Input: in, Out: out}}); err != nil {
		panic(err)
	}
	shipped, err := os.OpenFile(filepath.Join(dir, "shipped"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	// End a record the previous child may have torn when it was killed.
	shipped.Write([]byte("\n"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		var buf []byte
		for b := range out {
			buf = buf[:0]
			for _, ev := range b.Events {
				buf = append(buf, ev.Source.File.ID...)
				buf = append(buf, '-')
				buf = strconv.AppendInt(buf, ev.Source.Offset, 10)
				buf = append(buf, ' ')
				buf = append(buf, ev.Raw...)
				buf = append(buf, '\n')
			}
			// Written (the "sink acknowledged") before the ack: a SIGKILL
			// after this write and before the checkpoint replays the batch
			// under the same _ids.
			if _, err := shipped.Write(buf); err != nil {
				panic(err)
			}
			b.Ack.Release()
		}
	}()
	if err := tl.Run(ctx); err != nil {
		panic(err)
	}
	os.Exit(0)
}

func TestCrashRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("SIGKILL torture with child processes: skipped with -short (takes ~10 s)")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	shipped := filepath.Join(dir, "shipped")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	shippedSize := func() int64 {
		st, err := os.Stat(shipped)
		if err != nil {
			return 0
		}
		return st.Size()
	}

	n := tortureLines(t)
	written := make(chan struct{})
	go func() {
		defer close(written)
		w := &lumberjack.Logger{Filename: filepath.Join(dir, "logs", "app.log"), MaxSize: 1, MaxBackups: 1000, Compress: true}
		for i := range n {
			fmt.Fprintf(w, "%s\n", numLine(i))
		}
		w.Close()
	}()

	kills := 0
	for kills < 5 {
		cmd := start()
		// Kill it once it shipped something more (not at a fixed time).
		before := shippedSize()
		deadline := time.Now().Add(20 * time.Second)
		for shippedSize() < before+int64(20_000*(kills+1)) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
	}
	<-written
	cmd := start()
	deadline := time.Now().Add(60 * time.Second)
	for shippedDistinct(shipped) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a child process's output
	}
	if shippedDistinct(shipped) < n {
		reg, _ := os.ReadFile(filepath.Join(dir, "state", RegistryFile))
		ls, _ := exec.Command("ls", "-li", filepath.Join(dir, "logs")).CombinedOutput()
		t.Errorf("not every line shipped after the last restart; registry:\n%s\nlogs:\n%s", reg, ls)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("child did not exit cleanly on SIGTERM: %v", err)
	}

	// Every line shipped; a line shipped twice only under one _id.
	ids := make(map[string]string, n)
	dups := 0
	f, err := os.Open(shipped)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !shippedRecord.MatchString(sc.Text()) {
			continue // torn by the SIGKILL mid-write: never acknowledged, shipped again
		}
		id, line, _ := strings.Cut(sc.Text(), " ")
		if prev, ok := ids[line]; ok {
			dups++
			if prev != id {
				t.Errorf("line %s shipped under _ids %s and %s: Elasticsearch would keep both", line, prev, id)
			}
			continue
		}
		ids[line] = id
	}
	missing := 0
	for i := range n {
		if _, ok := ids[numLine(i)]; !ok {
			if missing < 5 {
				t.Errorf("line %d lost", i)
			}
			missing++
		}
	}
	t.Logf("%d lines, %d SIGKILLs, %d lost, %d replayed under the same _id", n, kills, missing, dups)
}

var shippedRecord = regexp.MustCompile(`^[0-9a-f]{16}-[0-9]+ \{"n":[0-9]+,"msg":"line number [0-9]+"\}$`)

// shippedDistinct counts the distinct lines in the shipped file.
func shippedDistinct(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	seen := make(map[string]struct{}, 200_000)
	for _, l := range strings.Split(string(data), "\n") {
		if _, line, ok := strings.Cut(l, " "); ok && shippedRecord.MatchString(l) {
			seen[line] = struct{}{}
		}
	}
	return len(seen)
}
