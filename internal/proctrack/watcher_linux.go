package proctrack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// DefaultPollInterval is how often a Watcher without the process
// connector looks for new processes.
const DefaultPollInterval = 50 * time.Millisecond

// The poller re-reads every process this often, for those that
// executed another program or renamed themselves.
const fullPollEvery = time.Second

// overflowSettle is how long keepalived lets things settle after lost
// events before counting again.
const overflowSettle = time.Second

// Config is what a Watcher watches and whom it tells.
type Config struct {
	Specs []Spec
	Log   logrus.FieldLogger
	// Changed hears of each change of a definition's quorum, from the
	// Watcher's goroutine.
	Changed func(name string, up bool)
	// PollInterval is the poller's interval where the process
	// connector is unavailable; zero: DefaultPollInterval.
	PollInterval time.Duration
	// NoConnector makes the Watcher poll even where the connector
	// works.
	NoConnector bool
	// ReceiveBuffer is the connector socket's receive buffer
	// (process_monitor_rcv_bufs); zero: the system's default.
	ReceiveBuffer int
}

// A Watcher follows the processes of its definitions until closed.
type Watcher struct {
	cfg     Config
	fs      procfs
	m       *monitor
	conn    *connector // nil while polling
	polling atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	done    chan struct{}

	timers chan func()

	// The poller's: the processes it has seen, by PID; the pidfds of
	// those counted, whose exits it hears at once; the exits heard; the
	// polls so far, and for how many a process is young.
	known    map[int]seenProc
	pidfds   map[int]*os.File
	exited   chan int
	polls    int
	youngFor int
}

// A seenProc is a process the poller has seen: its start time, telling a
// PID used again, and the poll that first saw it.
type seenProc struct {
	start uint64
	poll  int
}

// Start reads /proc for the definitions' processes, subscribes to the
// kernel's process events, or starts polling where it cannot, and
// follows the processes until ctx ends or Close. It returns the first
// quorums, by name, which it does not report to Changed.
func Start(ctx context.Context, cfg Config) (*Watcher, map[string]bool, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	w := &Watcher{
		cfg: cfg, fs: procfs{root: "/proc"},
		done:   make(chan struct{}),
		timers: make(chan func()),
		exited: make(chan int),
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.m = newMonitor(cfg.Specs, w.fs, cfg.Log)
	w.m.after = w.after(ctx)
	w.m.changed = cfg.Changed
	// Subscribed before the scan, as keepalived: a process starting
	// between the two is not missed.
	if !cfg.NoConnector {
		c, err := dialConnector(cfg.ReceiveBuffer)
		switch {
		case err == nil:
			w.conn = c
		case errors.Is(err, unix.ECONNREFUSED):
			// keepalived's words, strerror's capital included.
			cfg.Log.Infof("Failed to set/clear process event listen - errno %d - Connection refused", int(unix.ECONNREFUSED))
			cfg.Log.Infof("track_process: no process connector in this network namespace - watching /proc every %v instead", cfg.PollInterval)
		default:
			cfg.Log.Infof("track_process: %v - watching /proc every %v instead", err, cfg.PollInterval)
		}
	}
	if err := w.m.start(); err != nil {
		if w.conn != nil {
			w.conn.close()
		}
		w.cancel()
		return nil, nil, fmt.Errorf("tracking processes: %w", err)
	}
	q := w.m.quorums()
	w.polling.Store(w.conn == nil)
	w.wg.Add(1)
	go w.run(ctx)
	go func() {
		w.wg.Wait()
		close(w.done)
	}()
	return w, q, nil
}

// Close stops the Watcher without waiting; Done tells when it has.
func (w *Watcher) Close() { w.cancel() }

// Done is closed once the Watcher's goroutines have ended.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Polling reports whether the Watcher polls /proc rather than hearing
// the process connector.
func (w *Watcher) Polling() bool { return w.polling.Load() }

// after is the monitor's timer: f runs in the Watcher's goroutine, not
// at all once cancelled there.
func (w *Watcher) after(ctx context.Context) func(time.Duration, func()) func() {
	return func(d time.Duration, f func()) func() {
		stopped := false
		t := time.AfterFunc(d, func() {
			select {
			case w.timers <- func() {
				if !stopped {
					f()
				}
			}:
			case <-ctx.Done():
			}
		})
		return func() {
			stopped = true
			t.Stop()
		}
	}
}

type received struct {
	evs []event
	err error
}

// run is the Watcher's goroutine: every change of the monitor happens
// here.
func (w *Watcher) run(ctx context.Context) {
	defer w.wg.Done()
	log := w.cfg.Log
	evc := make(chan received)
	var (
		ticker  *time.Ticker
		tick    <-chan time.Time
		ackWait <-chan time.Time
		settle  *time.Timer
		settleC <-chan time.Time
	)
	startPolling := func() {
		ticker = time.NewTicker(w.cfg.PollInterval)
		tick = ticker.C
		w.startPolling(ctx)
	}
	// fallback leaves the connector for polling; its reader, left
	// sending to no one, ends with ctx.
	fallback := func() {
		log.Infof("track_process: watching /proc every %v instead", w.cfg.PollInterval)
		w.conn.close()
		w.conn, evc, ackWait = nil, nil, nil
		if settle != nil {
			settle.Stop()
			settle, settleC = nil, nil
		}
		startPolling()
	}
	if w.conn != nil {
		w.wg.Add(1)
		go w.read(ctx, w.conn, evc)
		// keepalived's way of telling that the kernel has no process
		// events: no acknowledgement of the subscription.
		ackWait = time.After(time.Second)
	} else {
		startPolling()
	}
	cpuSeq := make(map[uint32]uint32)
	defer func() {
		w.m.stop()
		if w.conn != nil {
			w.conn.close()
		}
		for _, f := range w.pidfds {
			f.Close()
		}
		if settle != nil {
			settle.Stop()
		}
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-w.timers:
			f()
		case r := <-evc:
			if r.err == nil || errors.Is(r.err, errOverflow) {
				// Events come: the kernel has them, though its
				// acknowledgement may be among those lost.
				ackWait = nil
			}
			if errors.Is(r.err, errOverflow) {
				// Lost events: count again once things settle,
				// as keepalived does. keepalived puts the count
				// off at each new loss, for ever under a lasting
				// storm; here it comes a second after the first,
				// with a buffer twice as large.
				if settle == nil {
					settle = time.NewTimer(overflowSettle)
					settleC = settle.C
				}
				continue
			}
			if r.err != nil {
				log.Infof("process monitor netlink recv error - %v", r.err)
				fallback()
				continue
			}
			for _, ev := range r.evs {
				if ev.what == procEventNone {
					if ev.ack != 0 {
						log.Debug("proc_events has confirmed it is configured")
					}
					continue
				}
				if last, ok := cpuSeq[ev.cpu]; ok && ev.seq != last+1 && settle == nil {
					log.Infof("Missed %d messages on CPU %d", int64(ev.seq-last-1), ev.cpu)
					// The kernel reports an overflow only once
					// the socket's queue has emptied, which a
					// busy system may put off: keepalived waits
					// for it, here a gap in the sequence is
					// enough to count again.
					settle = time.NewTimer(overflowSettle)
					settleC = settle.C
				}
				cpuSeq[ev.cpu] = ev.seq
				w.handle(ev)
			}
		case <-ackWait:
			log.Info("WARNING - the kernel does not support proc events - track_process will not work")
			fallback()
		case <-settleC:
			settle, settleC = nil, nil
			w.growBuffer()
			clear(cpuSeq)
			if err := w.m.rescan(); err != nil {
				log.Errorf("%v", err)
			}
		case <-tick:
			w.poll(ctx)
		case pid := <-w.exited:
			if f := w.pidfds[pid]; f != nil {
				f.Close()
				delete(w.pidfds, pid)
			}
			// A PID used again must look new to the poller.
			delete(w.known, pid)
			w.m.exit(pid)
		}
	}
}

// read passes the connector's events to run until the socket closes.
func (w *Watcher) read(ctx context.Context, c *connector, evc chan<- received) {
	defer w.wg.Done()
	for {
		evs, err := c.receive()
		select {
		case evc <- received{evs, err}:
		case <-ctx.Done():
			return
		}
		if err != nil && !errors.Is(err, errOverflow) {
			return
		}
	}
}

// handle applies one event, of a process rather than a thread, as
// keepalived does.
func (w *Watcher) handle(ev event) {
	if ev.pid != ev.tgid {
		return
	}
	switch ev.what {
	case procEventFork:
		w.m.fork(ev.parent, ev.tgid)
	case procEventExec:
		w.m.exec(ev.tgid)
	case procEventComm:
		w.m.comm(ev.tgid, ev.comm)
	case procEventExit:
		w.m.exit(ev.tgid)
	}
}

// growBuffer doubles the socket's receive buffer after lost events, as
// keepalived does, and says so.
func (w *Watcher) growBuffer() {
	rc, err := w.conn.c.SyscallConn()
	if err != nil {
		return
	}
	var size int
	rc.Control(func(fd uintptr) {
		size, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	if err != nil {
		w.cfg.Log.Infof("Cannot get process monitor SO_RCVBUF option. errno=%d (%v)", errnoOf(err), err)
		return
	}
	size *= 2
	if err := w.conn.c.SetReadBuffer(size); err != nil {
		w.cfg.Log.Infof("Cannot set process monitor SO_RCVBUF option. errno=%d (%v)", errnoOf(err), err)
	}
	w.cfg.Log.Infof("Setting global_def process_monitor_rcv_bufs to %d - recommend updating configuration file", size)
}

func errnoOf(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

// startPolling takes the processes the monitor counts as the poller's
// first view and watches their exits.
func (w *Watcher) startPolling(ctx context.Context) {
	w.polling.Store(true)
	w.youngFor = max(int(fullPollEvery/w.cfg.PollInterval), 1)
	w.known = make(map[int]seenProc)
	w.pidfds = make(map[int]*os.File)
	procs, err := w.fs.List(0)
	if err != nil {
		w.cfg.Log.Errorf("%v", err)
	}
	for _, p := range procs {
		w.known[p.PID] = seenProc{start: p.Start, poll: w.polls}
	}
	for pid := range w.m.pids {
		w.watchExit(ctx, pid)
	}
	// Those that went between the monitor's scan and this one.
	for pid := range w.m.pids {
		if _, ok := w.known[pid]; !ok {
			w.m.exit(pid)
		}
	}
}

// poll looks for new processes, at the programs and names of young ones
// (a shell forks, then executes the program), and for the ends of
// counted ones no pidfd watches; every youngFor polls, at every
// process's program and name. It counts the exits its pidfds missed.
func (w *Watcher) poll(ctx context.Context) {
	w.polls++
	full := w.polls%w.youngFor == 0
	pids, err := w.fs.pids()
	if err != nil {
		w.cfg.Log.Errorf("%v", err)
		return
	}
	seen := make(map[int]bool, len(pids))
	for _, pid := range pids {
		seen[pid] = true
		sp, known := w.known[pid]
		// A counted process no pidfd watches is looked at every time.
		watched := len(w.m.pids[pid]) == 0 || w.pidfds[pid] != nil
		young := w.polls-sp.poll < w.youngFor
		if known && !full && watched && !young {
			continue
		}
		p, ok := w.fs.Lookup(pid, w.m.cmdlineLen)
		if !ok {
			// Gone, or a zombie: it has ended.
			if known {
				delete(w.known, pid)
				w.m.exit(pid)
			}
			continue
		}
		switch {
		case !known:
			w.known[pid] = seenProc{start: p.Start, poll: w.polls}
			// A child of a counted process counts as a fork, as the
			// connector would tell it, then as what it executes.
			if len(w.m.pids[p.PPID]) > 0 {
				w.m.fork(p.PPID, pid)
			}
		case p.Start != sp.start:
			// The PID was used again between two polls.
			w.m.exit(pid)
			w.known[pid] = seenProc{start: p.Start, poll: w.polls}
		}
		w.m.recheck(&p, true)
		if len(w.m.pids[pid]) > 0 && w.pidfds[pid] == nil {
			w.watchExit(ctx, pid)
		}
	}
	for pid := range w.known {
		if !seen[pid] {
			delete(w.known, pid)
			w.m.exit(pid)
		}
	}
}

// watchExit hears pid's exit through a pidfd, which becomes readable
// when the process ends: at once rather than at the next poll.
func (w *Watcher) watchExit(ctx context.Context, pid int) {
	// O_NONBLOCK is PIDFD_NONBLOCK: the runtime's poller then serves
	// the descriptor, and Close interrupts the wait.
	fd, err := unix.PidfdOpen(pid, unix.O_NONBLOCK)
	if err != nil {
		// Gone already, or no pidfds: the next poll sees it.
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	w.pidfds[pid] = f
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		waited := false
		err := rc.Read(func(uintptr) bool {
			done := waited
			waited = true
			return done
		})
		if err != nil {
			return
		}
		select {
		case w.exited <- pid:
		case <-ctx.Done():
		}
	}()
}
