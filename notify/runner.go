package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults for a Runner's zero RunnerConfig fields.
const (
	DefaultQueueLength = 64
	DefaultOutputLimit = 4096
)

// RunnerConfig tunes a Runner; zero fields take the defaults above.
type RunnerConfig struct {
	// Timeout is how long a script may run before its whole process
	// group is killed; zero never kills it. keepalived's notify_exec
	// never times a notify script out: a notify_master that promotes a
	// database may take its time. Only the scripts it runs while
	// stopping get a second (StopTimeout, set on their Job).
	Timeout time.Duration
	// QueueLength bounds the jobs waiting behind a running one of the
	// same source; more are dropped and logged.
	QueueLength int
	// OutputLimit caps the bytes of a script's output that are logged;
	// the rest is read and discarded.
	OutputLimit int
}

// A Job is one run of a script.
type Job struct {
	// Source orders jobs: those of one source (an instance, a group, a
	// real server) run one after another in the order given, while
	// different sources run concurrently.
	Source string
	Script *Script
	// Args follow the script's configured words.
	Args []string
	// Timeout overrides the Runner's when positive.
	Timeout time.Duration
}

// A Runner runs notify scripts in the background, so that the VRRP and
// checker loops never wait for a script. Each script runs in a process
// group of its own, as the configured user, and is killed with its
// children when it overruns its timeout.
type Runner struct {
	log logrus.FieldLogger
	cfg RunnerConfig

	ctx    context.Context // cancelled to kill every script
	cancel context.CancelFunc
	// stopping is cancelled when Close begins, which ends the FIFO
	// scripts.
	stopping context.Context
	stop     context.CancelFunc

	dropped atomic.Uint64

	mu     sync.Mutex
	queues map[string]chan Job
	closed bool
	wg     sync.WaitGroup
}

// Dropped returns how many runs were dropped since the Runner started:
// those that found their source's queue full, and those asked for after
// Close.
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// NewRunner returns a Runner that logs to log.
func NewRunner(log logrus.FieldLogger, cfg RunnerConfig) *Runner {
	if cfg.QueueLength == 0 {
		cfg.QueueLength = DefaultQueueLength
	}
	if cfg.OutputLimit == 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	r := &Runner{log: log, cfg: cfg, queues: make(map[string]chan Job)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.stopping, r.stop = context.WithCancel(r.ctx)
	return r
}

// Run queues j and returns at once. A job that finds its source's queue
// full, or the Runner closed, is dropped and logged.
func (r *Runner) Run(j Job) {
	if j.Script == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.log.WithFields(logrus.Fields{"source": j.Source, "script": j.Script.String()})
	if r.closed {
		r.dropped.Add(1)
		log.Warnf("Not running script %s for %s: shutting down", j.Script, j.Source)
		return
	}
	q, ok := r.queues[j.Source]
	if !ok {
		q = make(chan Job, r.cfg.QueueLength)
		r.queues[j.Source] = q
		r.wg.Add(1)
		go r.work(q)
	}
	select {
	case q <- j:
	default:
		r.dropped.Add(1)
		log.Warnf("Notify queue for %s is full - dropping script %s", j.Source, j.Script)
	}
}

// Close stops accepting jobs, sends SIGTERM to the FIFO scripts, and waits
// for queued and running scripts to finish. When ctx ends first, every script still running is killed with
// its process group, queued ones are dropped, and ctx's error is returned.
func (r *Runner) Close(ctx context.Context) error {
	r.stop()
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, q := range r.queues {
			close(q)
		}
	}
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return fmt.Errorf("waiting for notify scripts: %w", ctx.Err())
	}
}

func (r *Runner) work(q <-chan Job) {
	defer r.wg.Done()
	for j := range q {
		if r.ctx.Err() != nil {
			continue // killed at Close: drain without running
		}
		r.exec(j)
	}
}

func (r *Runner) exec(j Job) {
	timeout := j.Timeout
	if timeout <= 0 {
		timeout = r.cfg.Timeout
	}
	ctx, cancel := context.WithCancel(r.ctx)
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(r.ctx, timeout)
	}
	defer cancel()
	p := r.command(ctx, j.Script, j.Args, syscall.SIGKILL)
	err := p.cmd.Run()
	log := r.log.WithFields(logrus.Fields{"source": j.Source, "script": j.Script.String()})
	switch argv0 := p.cmd.Args[0]; {
	case p.killed.Load() && r.ctx.Err() == nil:
		p.logger(log).Warnf("Script %s timed out after %v - killed", argv0, timeout)
	default:
		p.report(log, err)
	}
}

// StartFIFOScript starts the reader of a notify FIFO (notify_fifo_script
// and the like) with the FIFO's name as its last argument. It runs until
// it exits or the Runner closes, which sends it SIGTERM, as keepalived
// does.
func (r *Runner) StartFIFOScript(s *Script, fifo string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("starting notify fifo script %s: runner closed", s.Args[0])
	}
	p := r.command(r.stopping, s, []string{fifo}, syscall.SIGTERM)
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting notify fifo script %s: %w", s.Args[0], err)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := p.cmd.Wait()
		log := r.log.WithFields(logrus.Fields{"fifo": fifo, "script": s.String()})
		p.report(log, err)
		log.Info("notify fifo script terminated")
	}()
	return nil
}

// A process is one run of a script.
type process struct {
	cmd    *exec.Cmd
	out    *cappedBuffer
	start  time.Time
	killed atomic.Bool // by the context
}

// command prepares a run of s with extra arguments; when ctx ends, the
// process group gets kill.
func (r *Runner) command(ctx context.Context, s *Script, extra []string, kill syscall.Signal) *process {
	p := &process{out: &cappedBuffer{limit: r.cfg.OutputLimit}, start: time.Now()}
	p.cmd = scriptCmd(ctx, s, s.Command(extra...))
	p.cmd.Cancel = func() error {
		p.killed.Store(true)
		return syscall.Kill(-p.cmd.Process.Pid, kill)
	}
	// A child left behind holding the output pipe must not hold us.
	p.cmd.WaitDelay = time.Second
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	return p
}

// scriptCmd prepares the process that runs argv, a command of s: in
// the root directory, in a process group of its own, as the script's
// user, and sent SIGTERM if the daemon dies.
func scriptCmd(ctx context.Context, s *Script, argv []string) *exec.Cmd {
	var cmd *exec.Cmd
	if s.usesShell() {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", shellCommand(argv))
	} else {
		// argv[0] is passed as given, as execve gets it.
		cmd = exec.CommandContext(ctx, argv[0])
		cmd.Args = argv
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A group of its own, so that a kill reaches whatever the
		// script started.
		Setpgid:   true,
		Pdeathsig: syscall.SIGTERM,
	}
	// keepalived's set_script_env leaves the script its group alone
	// among the supplementary groups, whatever user it runs as; only
	// root may set them.
	if c := s.Cred; int(c.UID) != os.Geteuid() || int(c.GID) != os.Getegid() || os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{c.GID}}
	}
	return cmd
}

func (p *process) logger(log *logrus.Entry) *logrus.Entry {
	log = log.WithField("duration", time.Since(p.start).Round(time.Millisecond))
	if p.out.Len() > 0 {
		log = log.WithField("output", p.out.String())
	}
	return log
}

// report logs how the process ended.
func (p *process) report(log *logrus.Entry, err error) {
	log = p.logger(log)
	argv0 := p.cmd.Args[0]
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		log.Debug("Script succeeded")
	case p.killed.Load():
		log.Infof("Script %s terminated at shutdown", argv0)
	case errors.As(err, &exitErr):
		log.Infof("Script %s exited with status %d", argv0, exitErr.ExitCode())
	default:
		log.Errorf("Error exec-ing command '%s': %v", argv0, err)
	}
}

// cappedBuffer keeps the first limit bytes written to it and discards
// the rest, reporting every write as complete so the writer never stalls.
type cappedBuffer struct {
	limit     int
	buf       bytes.Buffer
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
			b.truncated = true
		} else {
			b.buf.Write(p)
		}
	} else if len(p) > 0 {
		b.truncated = true
	}
	return len(p), nil
}

func (b *cappedBuffer) Len() int { return b.buf.Len() }

func (b *cappedBuffer) String() string {
	if b.truncated {
		return b.buf.String() + "...(truncated)"
	}
	return b.buf.String()
}
