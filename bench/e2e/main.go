// Command e2e is shipper's end-to-end benchmark: it generates a data set of
// realistic JSON log lines, runs `shipper run` against the Elasticsearch
// double in a separate process (so the double's CPU is not counted), and
// reports documents per CPU-second of the agent, CPU-seconds per million
// documents and peak RSS, with and without bulk compression. In the same
// run it measures the baseline the performance targets are stated against:
// reading the same files and decoding each line with encoding/json into a
// map[string]any. Absolute numbers drift on shared machines; the ratio to
// the baseline does much less.
//
//	go run ./bench/e2e                 # 1M lines, both compression settings
//	go run ./bench/e2e -lines 200000 -profile /tmp/cpu.pprof
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/traceship/shipper/internal/benchgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	name      string
	docs      int
	wall      time.Duration
	cpu       time.Duration
	sys       time.Duration // the part of cpu spent in the kernel
	maxRSSMiB float64
	outage    outageResult
	latencies []time.Duration // sorted
}

func (r result) perCPUSecond() float64 { return float64(r.docs) / r.cpu.Seconds() }

func run() error {
	lines := flag.Int("lines", 1_000_000, "lines to generate (about 370 bytes each)")
	files := flag.Int("files", 8, "files to spread them over")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed afterwards)")
	profile := flag.String("profile", "", "write a CPU profile of the uncompressed agent run here (of the gzip run with -only gzip)")
	only := flag.String("only", "", "run only this agent variant: plain or gzip")
	tailInflight := flag.Int("tail-inflight", 0, "tail.max_inflight_bytes for the agent (0: the default)")
	sinkInflight := flag.Int("sink-inflight", 0, "elasticsearch.bulk.max_in_flight_bytes for the agent (0: the default)")
	bulkBytes := flag.Int("bulk-bytes", 0, "elasticsearch.bulk.max_bytes for the agent (0: the default)")
	batchLines := flag.Int("batch-lines", 0, "tail.batch_max_lines for the agent (0: the default)")
	outage := flag.Duration("outage", 0, "keep Elasticsearch down for this long while the agent starts on the backlog, sampling its RSS, then bring it up (plain variant only)")
	probes := flag.Int("latency", 0, "after the backlog, append this many single lines one at a time and report how long each took to reach Elasticsearch (plain variant only)")
	agentEnv := flag.String("agent-env", "", "comma-separated VAR=value pairs added to the agent's environment only (GOGC=50,GODEBUG=gctrace=1)")
	flag.Parse()

	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "shipper-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "bin")
	fmt.Fprintf(os.Stderr, "building shipper and esdouble...\n")
	for _, pkg := range []string{"./cmd/shipper", "./cmd/esdouble"} {
		out, err := exec.Command("go", "build", "-o", bin+"/", pkg).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	data := filepath.Join(work, "data")
	fmt.Fprintf(os.Stderr, "generating %d lines in %d files...\n", *lines, *files)
	size, err := generate(data, *lines, *files)
	if err != nil {
		return err
	}

	base, err := baseline(data)
	if err != nil {
		return err
	}
	results := []result{base}
	for _, v := range []struct {
		name string
		gzip bool
	}{{"shipper (compression off)", false}, {"shipper (gzip on)", true}} {
		if *only == "plain" && v.gzip || *only == "gzip" && !v.gzip {
			continue
		}
		prof, down, nprobe := "", time.Duration(0), 0
		if !v.gzip {
			prof, down, nprobe = *profile, *outage, *probes
		} else if *only == "gzip" {
			prof = *profile
		}
		r, err := agent(bin, work, data, *lines, v.gzip, prof, tuning{*tailInflight, *sinkInflight, *bulkBytes, *batchLines, *agentEnv, down, nprobe})
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		r.name = v.name
		results = append(results, r)
	}

	fmt.Printf("data set: %d lines, %.0f MiB, %.0f bytes per line, %d files\n\n", *lines, float64(size)/(1<<20), float64(size)/float64(*lines), *files)
	fmt.Printf("%-36s %10s %8s %10s %14s %10s %12s %10s %12s\n", "", "docs", "wall s", "docs/s", "CPU s/million", "in kernel", "docs/CPU-s", "peak RSS", "vs baseline")
	for _, r := range results {
		fmt.Printf("%-36s %10d %8.2f %10.0f %14.2f %9.0f%% %12.0f %8.0f MiB %11.2fx\n",
			r.name, r.docs, r.wall.Seconds(), float64(r.docs)/r.wall.Seconds(), r.cpu.Seconds()/float64(r.docs)*1e6, 100*r.sys.Seconds()/r.cpu.Seconds(), r.perCPUSecond(), r.maxRSSMiB, r.perCPUSecond()/base.perCPUSecond())
	}
	for _, r := range results {
		if l := r.latencies; len(l) > 0 {
			fmt.Printf("\n%s, single lines after the backlog: written → indexed in %s at best, %s median, %s at worst (%d probes; bulk.flush_interval 1s)\n",
				r.name, l[0].Round(time.Millisecond), l[len(l)/2].Round(time.Millisecond), l[len(l)-1].Round(time.Millisecond), len(l))
		}
		if o := r.outage; o.duration > 0 {
			fmt.Printf("\n%s, Elasticsearch down for its first %s: RSS %.0f MiB after 1 s, %.0f MiB at the end, %.0f MiB at most; %.2f CPU-s (%.1f%% of a core) while down; then every document delivered\n",
				r.name, o.duration, o.firstRSSMiB, o.lastRSSMiB, o.maxRSSMiB, o.cpu.Seconds(), 100*o.cpu.Seconds()/o.duration.Seconds())
		}
	}
	return nil
}

// generate writes the benchgen data set over files (~10 lines per
// trace, 2% with a card number, some nested objects).
func generate(dir string, lines, files int) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	gen := benchgen.New(1)
	var total int64
	per := (lines + files - 1) / files
	n := 0
	for f := 0; f < files && n < lines; f++ {
		fh, err := os.Create(filepath.Join(dir, fmt.Sprintf("app-%d.log", f)))
		if err != nil {
			return 0, err
		}
		w := bufio.NewWriterSize(fh, 1<<20)
		for i := 0; i < per && n < lines; i, n = i+1, n+1 {
			m, _ := w.WriteString(gen.Line())
			w.WriteByte('\n')
			total += int64(m) + 1
		}
		if err := w.Flush(); err != nil {
			return 0, err
		}
		fh.Close()
	}
	return total, nil
}

// baseline reads every file and decodes each line with encoding/json into
// a map[string]any, measuring this process's CPU time.
func baseline(dir string) (result, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	start, before := time.Now(), selfUsage()
	docs := 0
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return result{}, err
		}
		r := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				var m map[string]any
				if json.Unmarshal(line, &m) == nil {
					docs++
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return result{}, err
			}
		}
		f.Close()
	}
	wall := time.Since(start)
	cpu0, sys0, _ := usage(before)
	cpu, sys, rss := usage(selfUsage())
	return result{name: "baseline: read + encoding/json → map", docs: docs, wall: wall, cpu: cpu - cpu0, sys: sys - sys0, maxRSSMiB: rss}, nil
}

func selfUsage() *syscall.Rusage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return &ru
}

// usage reads a process's CPU time (user and kernel), the part of it in
// the kernel, and its peak RSS from its rusage.
func usage(ru *syscall.Rusage) (cpu, sys time.Duration, maxRSSMiB float64) {
	sys = time.Duration(ru.Stime.Nano())
	return time.Duration(ru.Utime.Nano()) + sys, sys, float64(ru.Maxrss) / 1024
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tuning is what a run changes in the agent: budgets and batch size (0
// keeps the default), its environment, an outage of the double at the
// start, and latency probes after the backlog.
type tuning struct {
	tailInflight, sinkInflight, bulkBytes int
	batchLines                            int
	env                                   string
	outage                                time.Duration
	probes                                int
}

func (t tuning) yaml() (tail, bulk string) {
	var ts []string
	if t.tailInflight > 0 {
		ts = append(ts, fmt.Sprintf("max_inflight_bytes: %d", t.tailInflight))
	}
	if t.batchLines > 0 {
		ts = append(ts, fmt.Sprintf("batch_max_lines: %d", t.batchLines))
	}
	if len(ts) > 0 {
		tail = "tail: {" + strings.Join(ts, ", ") + "}\n"
	}
	if t.sinkInflight > 0 {
		bulk += fmt.Sprintf(", max_in_flight_bytes: %d", t.sinkInflight)
	}
	if t.bulkBytes > 0 {
		bulk += fmt.Sprintf(", max_bytes: %d", t.bulkBytes)
	}
	return tail, bulk
}

// agent runs the double and `shipper run` over the data until the double
// counts every line indexed, then stops the agent and reads its CPU time
// and peak RSS.
func agent(bin, work, data string, lines int, gzip bool, profile string, tune tuning) (result, error) {
	esAddr, err := freePort()
	if err != nil {
		return result{}, err
	}
	startES := func() (stop func(), err error) {
		es := exec.Command(filepath.Join(bin, "esdouble"), "-listen", esAddr, "-discard")
		es.Stdout, es.Stderr = os.Stderr, os.Stderr
		if err := es.Start(); err != nil {
			return nil, err
		}
		stop = func() { es.Process.Signal(os.Interrupt); es.Wait() }
		if err := waitHTTP("http://" + esAddr + "/"); err != nil {
			stop()
			return nil, err
		}
		return stop, nil
	}
	if tune.outage == 0 {
		stop, err := startES()
		if err != nil {
			return result{}, err
		}
		defer stop()
	}

	httpAddr, err := freePort()
	if err != nil {
		return result{}, err
	}
	state, err := os.MkdirTemp(work, "state-")
	if err != nil {
		return result{}, err
	}
	cfg := filepath.Join(work, "bench.yaml")
	tailYAML, bulkYAML := tune.yaml()
	yaml := fmt.Sprintf(`state_dir: %s
log: {level: warn}
http: {listen: "%s", pprof: true}
%selasticsearch:
  hosts: [http://%s]
  bulk: {compression: %v%s}
  retry: {max_backoff: 1s}
  setup: {enabled: false}
pipelines:
  - name: bench
    inputs:
      - paths: [%s/*.log]
`, state, httpAddr, tailYAML, esAddr, gzip, bulkYAML, data)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return result{}, err
	}
	args := []string{"run", "-c", cfg}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	cmd := exec.Command(filepath.Join(bin, "shipper"), args...)
	cmd.Stderr = os.Stderr
	if tune.env != "" {
		cmd.Env = append(os.Environ(), strings.Split(tune.env, ",")...)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var out outageResult
	if tune.outage > 0 {
		// Elasticsearch is down: the agent must stop reading at its
		// budget, not buffer the backlog. Sample its RSS and CPU meanwhile.
		_, cpu0 := procStat(cmd.Process.Pid)
		for end := time.Now().Add(tune.outage); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			rss, _ := procStat(cmd.Process.Pid)
			out.maxRSSMiB = max(out.maxRSSMiB, rss)
			if out.firstRSSMiB == 0 && time.Since(start) > time.Second {
				out.firstRSSMiB = rss
			}
			out.lastRSSMiB = rss
		}
		_, cpu1 := procStat(cmd.Process.Pid)
		out.cpu, out.duration = cpu1-cpu0, tune.outage
		stop, err := startES()
		if err != nil {
			cmd.Process.Kill()
			return result{}, err
		}
		defer stop()
	}
	if err := waitShipped(esAddr, lines, 10*time.Minute, 50*time.Millisecond); err != nil {
		cmd.Process.Kill()
		return result{}, err
	}
	wall := time.Since(start)
	var latencies []time.Duration
	if tune.probes > 0 {
		if latencies, err = probeLatency(esAddr, filepath.Join(data, "app-0.log"), lines, tune.probes); err != nil {
			cmd.Process.Kill()
			return result{}, err
		}
	}
	if profile != "" {
		// The heap as the run ends, for memory work: go tool pprof -sample_index=inuse_space.
		if resp, err := http.Get("http://" + httpAddr + "/debug/pprof/heap"); err == nil {
			if f, err := os.Create(profile + ".heap"); err == nil {
				io.Copy(f, resp.Body)
				f.Close()
			}
			resp.Body.Close()
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return result{}, fmt.Errorf("shipper exited: %w", err)
	}
	cpu, sys, rss := usage(cmd.ProcessState.SysUsage().(*syscall.Rusage))
	return result{docs: lines, wall: wall, cpu: cpu, sys: sys, maxRSSMiB: rss, outage: out, latencies: latencies}, nil
}

// probeLatency appends n lines to a watched file, one at a time, and times
// each from the write to its document being in the double (which holds
// have documents before the first). Between probes the agent is idle, as a
// quiet service's agent is.
func probeLatency(esAddr, file string, have, n int) ([]time.Duration, error) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Duration
	for i := range n {
		time.Sleep(300 * time.Millisecond) // let the agent go idle between probes
		start := time.Now()
		if _, err := fmt.Fprintf(f, `{"level":"info","ts":%d.5,"msg":"latency probe %d","service":"probe"}`+"\n", time.Now().Unix(), i); err != nil {
			return nil, err
		}
		if err := waitShipped(esAddr, have+i+1, 30*time.Second, 2*time.Millisecond); err != nil {
			return nil, fmt.Errorf("latency probe %d: %w", i, err)
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out, nil
}

// outageResult is what the agent did while Elasticsearch was down.
type outageResult struct {
	duration, cpu                      time.Duration
	firstRSSMiB, lastRSSMiB, maxRSSMiB float64
}

// procStat reads a process's resident memory (MiB) and CPU time from /proc
// (with procfs, which the Prometheus client already brings in).
func procStat(pid int) (rssMiB float64, cpu time.Duration) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0, 0
	}
	return float64(st.ResidentMemory()) / (1 << 20), time.Duration(st.CPUTime() * float64(time.Second))
}

// waitHTTP waits until url answers.
func waitHTTP(url string) error {
	ok, err := poll(30*time.Second, 20*time.Millisecond, func() (bool, error) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return true, nil
	})
	if !ok {
		return fmt.Errorf("the Elasticsearch double did not start: %v", err)
	}
	return nil
}

// waitShipped waits until the double at esAddr counts n documents,
// asking every interval.
func waitShipped(esAddr string, n int, timeout, every time.Duration) error {
	var got int
	ok, err := poll(timeout, every, func() (bool, error) {
		var err error
		got, err = shipped(esAddr)
		return err == nil && got >= n, err
	})
	if !ok {
		return fmt.Errorf("only %d of %d documents indexed after %s (last error: %v)", got, n, timeout, err)
	}
	return nil
}

// poll calls done every interval until it reports true, or timeout passes:
// then it returns false and the last error done gave.
func poll(timeout, every time.Duration, done func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if ok {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, err
		}
		time.Sleep(every) // polling, bounded by the deadline
	}
}

// shipped reads how many documents the double holds. Polling the double
// rather than the agent's /metrics keeps the polling out of the agent's CPU
// time (with a thousand files, a scrape every 50 ms formats a series per
// file each time).
func shipped(esAddr string) (int, error) {
	resp, err := http.Get("http://" + esAddr + "/_count")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var c struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return 0, err
	}
	return c.Count, nil
}
