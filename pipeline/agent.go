package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/sink"
	"github.com/traceship/shipper/tailer"
)

// queueBatches is how many batches may wait between the tailer and one
// input's workers. Small on purpose: a slow sink must slow reading down,
// not fill memory.
const queueBatches = 4

// Sink is what the agent needs of the Elasticsearch sink (see sink.Sink for
// the full contract): Write must not retain the batch, and holds each
// event's Ack until the event is indexed or dead-lettered.
type Sink interface {
	Start(ctx context.Context) error
	Write(ctx context.Context, b *shipper.Batch) error
	Shutdown(ctx context.Context) error
}

// Agent runs the configured pipelines: the tailer feeds each input's
// workers, which run the input's chain and hand the batch to the sink; the
// sink's acknowledgements advance the tailer's checkpoints.
//
// Lifecycle: NewAgent has no side effects; Run blocks until ctx is done and
// then shuts down in order — stop reading, let the workers drain into the
// sink, flush the sink within the grace period, write the checkpoints.
type Agent struct {
	log     *zap.Logger
	env     Env
	tail    *tailer.Tailer
	sink    Sink
	metrics *Metrics
	grace   time.Duration

	mu sync.Mutex
	// started is the configuration the agent started with: a reload
	// compares the settings that take effect only at a restart with it,
	// not with the last file loaded, since those were never applied.
	started config.Config
	running map[string]*running // by pipeline name
	workCtx context.Context
	// progress and stuck track files whose checkpoint does not move.
	progress progress
	stuck    []string
}

// running is a pipeline that has workers.
type running struct {
	cfg      config.Pipeline
	p        *Pipeline
	inputs   []*runningInput
	counters *counters
}

type runningInput struct {
	spec tailer.InputSpec
	ch   chan *shipper.Batch
	wg   sync.WaitGroup
}

// NewAgent builds the agent for cfg: every pipeline, the tailer and the
// sink. It starts nothing.
func NewAgent(cfg config.Config, log *zap.Logger, env Env, snk Sink, metrics *Metrics) (*Agent, error) {
	tcfg := cfg.Tail
	tcfg.StateDir = cfg.StateDir
	t, err := tailer.New(tcfg, log.Named("tailer"))
	if err != nil {
		return nil, fmt.Errorf("building the tailer: %w", err)
	}
	a := &Agent{log: log, env: env, tail: t, sink: snk, metrics: metrics, started: cfg,
		grace: cfg.ShutdownTimeout, running: map[string]*running{}}
	for _, pc := range cfg.Pipelines {
		if len(pc.Inputs) == 0 {
			log.Warn("pipeline has no inputs: it reads nothing", zap.String("pipeline", pc.Name))
		}
		r, err := a.build(pc)
		if err != nil {
			return nil, err
		}
		a.running[pc.Name] = r
	}
	return a, nil
}

func (a *Agent) build(pc config.Pipeline) (*running, error) {
	p, err := Build(pc, a.env)
	if err != nil {
		return nil, err
	}
	r := &running{cfg: pc, p: p, counters: &counters{}}
	for _, c := range p.Inputs() {
		in := &runningInput{ch: make(chan *shipper.Batch, queueBatches)}
		tin := c.Input.TailInput
		if d := c.Parser.FlushAfter(); d > 0 {
			// parse.multiline.timeout is the more specific setting: an
			// unfinished stack trace waits that long for its next line.
			tin.FlushAfter = d
		}
		in.spec = tailer.InputSpec{
			ID:        InputID(pc.Name, c.Input.TailInput),
			Input:     tin,
			NewFramer: c.NewFramer,
			Out:       in.ch,
		}
		r.inputs = append(r.inputs, in)
	}
	return r, nil
}

// Tailer gives access to file status for /status and metrics.
func (a *Agent) Tailer() *tailer.Tailer { return a.tail }

// Run runs the agent until ctx is done, then shuts down within the grace
// period. It returns nil after a clean shutdown. If the tailer stops on an
// error (an unreadable registry), Run flushes what was read, shuts down the
// same way and returns that error.
func (a *Agent) Run(ctx context.Context) error {
	// Work outlives the read context: after a signal, batches already read
	// are still processed and flushed, until the grace period ends.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	if err := a.sink.Start(workCtx); err != nil {
		return fmt.Errorf("starting the sink: %w", err)
	}
	a.mu.Lock()
	a.workCtx = workCtx
	for _, r := range a.running {
		a.startWorkers(r)
	}
	err := a.tail.SetInputs(a.specsLocked())
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("starting the inputs: %w", err)
	}

	tailDone := make(chan error, 1)
	go func() { tailDone <- a.tail.Run(ctx) }()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var tailErr error
loop:
	for {
		select {
		case now := <-ticker.C:
			a.tick(now)
		case tailErr = <-tailDone:
			break loop
		}
	}
	if errors.Is(tailErr, context.Canceled) {
		tailErr = nil
	}
	if tailErr != nil {
		a.log.Error("tailer stopped", zap.Error(tailErr))
	}

	// The tailer has stopped reading and sends no more batches: drain.
	a.log.Info("shutting down: flushing what was read", zap.Duration("grace", a.grace))
	graceTimer := time.AfterFunc(a.grace, cancelWork)
	defer graceTimer.Stop()
	a.mu.Lock()
	for _, r := range a.running {
		stopWorkers(r)
	}
	a.mu.Unlock()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.grace)
	defer cancel()
	sinkErr := a.sink.Shutdown(shutdownCtx)
	if sinkErr != nil {
		a.log.Warn("not everything was flushed within the grace period; unacknowledged lines will be read again at the next start", zap.Error(sinkErr))
	}
	// Acknowledgements that arrived during the flush are recorded now; the
	// tailer wrote what it had when it stopped reading.
	if err := a.tail.Checkpoint(); err != nil {
		return errors.Join(tailErr, fmt.Errorf("writing the final checkpoints: %w", err))
	}
	if tailErr != nil {
		// What was read is flushed; the agent stops reading, and says so
		// by its exit status (systemd restarts on failure, Kubernetes
		// shows the crash).
		return tailErr
	}
	a.log.Info("stopped")
	return nil
}

func (a *Agent) specsLocked() []tailer.InputSpec {
	var specs []tailer.InputSpec
	for _, r := range a.running {
		for _, in := range r.inputs {
			specs = append(specs, in.spec)
		}
	}
	return specs
}

func (a *Agent) startWorkers(r *running) {
	for i, in := range r.inputs {
		chain := r.p.Inputs()[i]
		for w := 0; w < r.cfg.Workers; w++ {
			in.wg.Add(1)
			go func() {
				defer in.wg.Done()
				for b := range in.ch {
					a.handle(a.workCtx, r, chain, b)
				}
			}()
		}
	}
}

// stopWorkers closes the inputs' channels and waits for their workers to
// hand what they hold to the sink. Only call it once the tailer no longer
// sends to those channels.
func stopWorkers(r *running) {
	for _, in := range r.inputs {
		close(in.ch)
	}
	for _, in := range r.inputs {
		in.wg.Wait()
	}
}

// handle runs one batch through its chain and into the sink, then releases
// the worker's hold on its acknowledgement. If the sink refused the batch
// (the grace period ended), the hold is kept: the checkpoint does not pass
// lines that were never sent, and they are read again at the next start.
func (a *Agent) handle(ctx context.Context, r *running, c *Chain, b *shipper.Batch) {
	p := r.p
	c.Process(b)
	r.counters.add(len(b.Events), a.metrics.count(p.Name, b))
	if err := a.sink.Write(ctx, b); err != nil {
		if ctx.Err() == nil {
			a.log.Error("sink refused a batch", zap.String("pipeline", p.Name), zap.Error(err))
		}
		return
	}
	// The batch's own hold goes last: once it is released the tailer may
	// recycle the batch, so nothing here may touch b after it.
	for _, h := range b.Holds {
		h.Release()
	}
	b.Ack.Release()
}

func (a *Agent) tick(now time.Time) {
	stuck := a.progress.observe(now, a.fileLags)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stuck = stuck
	for _, r := range a.running {
		r.p.Sampler.Tick(now)
		r.counters.sample(now)
	}
}

// Reload applies a new, already validated configuration: pipelines added,
// removed or changed get new workers; unchanged ones keep theirs. The
// tailer keeps every file's checkpoint across the switch, so no line is
// lost or read twice. Settings outside pipelines need a restart; they are
// reported, not applied.
func (a *Agent) Reload(cfg config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range restartOnly(a.started, cfg) {
		a.log.Warn("this setting changed but only takes effect after a restart", zap.String("setting", s))
	}
	next := map[string]*running{}
	var started []*running
	for _, pc := range cfg.Pipelines {
		if old, ok := a.running[pc.Name]; ok && reflect.DeepEqual(old.cfg, pc) {
			next[pc.Name] = old
			continue
		}
		r, err := a.build(pc)
		if err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		next[pc.Name] = r
		started = append(started, r)
	}
	for _, r := range started {
		a.startWorkers(r)
	}
	old := a.running
	a.running = next
	if err := a.tail.SetInputs(a.specsLocked()); err != nil {
		// Keep the old pipelines: the new inputs could not be applied.
		for _, r := range started {
			stopWorkers(r)
		}
		a.running = old
		return fmt.Errorf("reload: %w", err)
	}
	// SetInputs returned: the tailer sends nothing more to removed inputs.
	for name, r := range old {
		if next[name] != r {
			stopWorkers(r)
		}
	}
	a.log.Info("configuration reloaded", zap.Int("pipelines", len(next)), zap.Int("restarted", len(started)))
	return nil
}

func restartOnly(old, cur config.Config) []string {
	var out []string
	if old.StateDir != cur.StateDir {
		out = append(out, "state_dir")
	}
	if !reflect.DeepEqual(old.Elasticsearch, cur.Elasticsearch) {
		out = append(out, "elasticsearch")
	}
	if !reflect.DeepEqual(old.Tail, cur.Tail) {
		out = append(out, "tail")
	}
	if old.HTTP != cur.HTTP {
		out = append(out, "http")
	}
	if old.Log != cur.Log {
		out = append(out, "log")
	}
	// Resolved, so that a pipeline's keep_trace_on_error.max_bytes
	// changing an auto limit is reported too.
	if old.MemoryLimitBytes() != cur.MemoryLimitBytes() {
		out = append(out, "memory_limit")
	}
	return out
}

// InputID names an input's checkpoints in the registry. It depends on the
// pipeline's name and the input's path globs, not on the input's position,
// so that reordering inputs in a reload neither re-reads nor loses lines.
// When the globs or the name change, the new input takes over the files the
// old one was reading, with their checkpoints (the tailer's orphan entries).
func InputID(pipeline string, in tailer.Input) string {
	paths := append([]string(nil), in.Paths...)
	sort.Strings(paths)
	h := fnv.New64a()
	for _, p := range paths {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return pipeline + "/" + strconv.FormatUint(h.Sum64(), 16)
}

var _ Sink = (*sink.Sink)(nil)
