package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// ProgramName is the speaker program Process runs.
const ProgramName = "gokeepalived-bgp"

// Timeouts of the speaker process.
const (
	// requestTimeout bounds an answer: a process that takes longer is
	// wedged, and is killed and restarted.
	requestTimeout = 10 * time.Second
	// exitTimeout is how long a process has to exit once its standard
	// input is closed before it is killed.
	exitTimeout = 3 * time.Second
	// Restarts of a process that keeps dying back off from
	// minRestartDelay to maxRestartDelay; one that lived for
	// stableRun starts the backoff over.
	minRestartDelay = 100 * time.Millisecond
	maxRestartDelay = 5 * time.Second
	stableRun       = 30 * time.Second
)

// errNotRunning is the error of a request while no process runs.
var errNotRunning = errors.New("bgp: " + ProgramName + " is not running")

// Process is a Speaker run in a child process, gokeepalived-bgp, over its
// standard input and output, so that the daemon does not link the BGP
// implementation, its memory and its start-up cost, unless it speaks BGP.
//
// Process keeps the neighbors and routes it was given: when the child
// dies it is restarted and they are sent again; the requests made while
// it is down fail, and its sessions read as Idle. The child is killed
// when the process that started it dies, whatever the cause.
type Process struct {
	path    string
	log     *slog.Logger
	onState func(PeerStatus)

	// opMu orders the requests that change the speaker, so that a
	// restart's replay and a change made meanwhile do not cross.
	opMu sync.Mutex

	mu      sync.Mutex
	global  Global
	peers   []Neighbor // in the order added
	routes  map[netip.Prefix]Attrs
	child   *child // nil while none runs
	nextID  uint64
	running bool          // Start started the supervisor
	stopped chan struct{} // closed by Stop
	done    chan struct{} // closed when the supervisor has ended
}

// NewProcess returns a Speaker running the program at path, or, if path
// is empty, gokeepalived-bgp from the directory of the running executable
// or else from $PATH. Log records of the child go to log, which may be
// nil, and its sessions' changes of state to onState, if set.
func NewProcess(path string, log *slog.Logger, onState func(PeerStatus)) *Process {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Process{path: path, log: log, onState: onState, routes: make(map[netip.Prefix]Attrs),
		stopped: make(chan struct{}), done: make(chan struct{})}
}

// Locate returns the path of gokeepalived-bgp: beside the running
// executable, else in $PATH.
func Locate() (string, error) {
	var beside string
	if self, err := os.Executable(); err == nil {
		beside = filepath.Join(filepath.Dir(self), ProgramName)
		if fi, err := os.Stat(beside); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(ProgramName); err == nil {
		return p, nil
	}
	if beside == "" {
		return "", fmt.Errorf("bgp: %s not found in $PATH", ProgramName)
	}
	return "", fmt.Errorf("bgp: %s not found: no executable %s, none in $PATH", ProgramName, beside)
}

// child is one run of the program.
type child struct {
	pid     int
	in      io.WriteCloser
	inMu    sync.Mutex
	pending map[uint64]chan message // under Process.mu
	exited  chan struct{}           // closed when the process is gone
	kill    func()
}

// Start implements Speaker: it starts the child and the speaker in it.
func (p *Process) Start(ctx context.Context, g Global) error {
	if p.path == "" {
		path, err := Locate()
		if err != nil {
			return err
		}
		p.path = path
	}
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return fmt.Errorf("bgp: %s already started", ProgramName)
	}
	p.global, p.running = g, true
	p.mu.Unlock()
	first := make(chan error, 1)
	go p.supervise(first)
	select {
	case err := <-first:
		if err != nil {
			<-p.done
			return err
		}
		return nil
	case <-ctx.Done():
		p.Stop(context.Background(), 0)
		return fmt.Errorf("bgp: start %s: %w", ProgramName, ctx.Err())
	}
}

// supervise runs the child, and runs it again when it dies, until Stop.
// The first run's outcome goes to first; if it fails, supervise ends.
//
// It runs on a thread of its own, for the life of the children: the
// kernel sends a child its parent-death signal when the thread that
// started it exits, and the Go runtime ends a thread a goroutine
// locked and left.
func (p *Process) supervise(first chan<- error) {
	runtime.LockOSThread()
	defer close(p.done)
	delay := minRestartDelay
	for {
		t0 := time.Now()
		c, err := p.spawn()
		if err == nil {
			replayed := make(chan error, 1)
			go func() { replayed <- p.replay(c) }()
			select {
			case err = <-replayed:
				if err != nil {
					c.kill()
				}
			case <-c.exited:
				err = fmt.Errorf("bgp: %s exited while starting", ProgramName)
			}
			if first != nil && err != nil {
				<-c.exited
			}
		}
		if first != nil {
			first <- err
			if err != nil {
				return
			}
			first = nil
		}
		if c != nil {
			<-c.exited
		}
		select {
		case <-p.stopped:
			return
		default:
		}
		if err != nil {
			p.log.Error(strings.TrimPrefix(err.Error(), "bgp: "))
		} else {
			p.log.Error(ProgramName + " exited; restarting it")
		}
		if time.Since(t0) >= stableRun {
			delay = minRestartDelay
		}
		select {
		case <-p.stopped:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRestartDelay)
	}
}

// spawn starts the program and the reading of its output; the child is
// installed once it has exited, cleared once it has exited.
func (p *Process) spawn() (*child, error) {
	cmd := exec.Command(p.path)
	cmd.SysProcAttr = sysProcAttr()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bgp: start %s: %w", p.path, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bgp: start %s: %w", p.path, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("bgp: start %s: %w", p.path, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bgp: start %s: %w", p.path, err)
	}
	c := &child{pid: cmd.Process.Pid, in: in, pending: make(map[uint64]chan message),
		exited: make(chan struct{}), kill: func() { cmd.Process.Kill() }}
	p.mu.Lock()
	select {
	case <-p.stopped:
		// Stop came while this one started: Stop will not see it.
		p.mu.Unlock()
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bgp: %s stopped", ProgramName)
	default:
	}
	p.child = c
	p.mu.Unlock()
	var readers sync.WaitGroup
	readers.Go(func() { p.read(c, out) })
	readers.Go(func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.log.Error(ProgramName + ": " + s.Text())
		}
	})
	go func() {
		readers.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.child = nil
		pending := c.pending
		c.pending = nil
		peers := slices.Clone(p.peers)
		p.mu.Unlock()
		for _, ch := range pending {
			ch <- message{Error: fmt.Sprintf("bgp: %s exited: %v", ProgramName, exitReason(err))}
		}
		close(c.exited)
		// Its sessions died with it.
		if p.onState != nil {
			for _, n := range peers {
				p.onState(PeerStatus{Addr: n.Addr, ASN: n.ASN, State: Idle})
			}
		}
	}()
	return c, nil
}

func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// read dispatches the child's answers and events until its output ends.
func (p *Process) read(c *child, out io.Reader) {
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 0, 4096), maxLine)
	for s.Scan() {
		var m message
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			p.log.Error(fmt.Sprintf("%s: bad message %q: %v", ProgramName, s.Bytes(), err))
			continue
		}
		if m.ID == 0 {
			switch m.Event {
			case eventState:
				if m.Peer != nil && p.onState != nil {
					p.onState(*m.Peer)
				}
			case eventLog:
				p.log.Log(context.Background(), m.Level, m.Msg)
			}
			continue
		}
		p.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	// Whatever is left of the output, if the child closed it early.
	io.Copy(io.Discard, out)
}

// replay starts the speaker in a new child and gives it the neighbors
// and routes.
func (p *Process) replay(c *child) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	g := p.global
	peers := slices.Clone(p.peers)
	routes := maps.Clone(p.routes)
	p.mu.Unlock()
	ctx := context.Background()
	if _, err := p.call(ctx, c, request{Op: opStart, Global: &g}); err != nil {
		return err
	}
	// The routes before the neighbors: a session that comes up gets
	// them all before the End-of-RIB that, with graceful restart, ends
	// its neighbor's hold on the routes of the speaker that died.
	for _, pfx := range slices.SortedFunc(maps.Keys(routes), comparePrefixes) {
		a := routes[pfx]
		if _, err := p.call(ctx, c, request{Op: opAnnounce, Prefix: pfx, Attrs: &a}); err != nil {
			return err
		}
	}
	for i := range peers {
		if _, err := p.call(ctx, c, request{Op: opAddPeer, Neighbor: &peers[i]}); err != nil {
			return err
		}
	}
	return nil
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// call sends r to c and waits for its answer, at most requestTimeout
// and while ctx lasts; a child that does not answer in time is killed.
func (p *Process) call(ctx context.Context, c *child, r request) (message, error) {
	if c == nil {
		return message{}, errNotRunning
	}
	timeout := requestTimeout
	if r.Op == opStop {
		timeout += r.Drain
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan message, 1)
	p.mu.Lock()
	if c.pending == nil {
		p.mu.Unlock()
		return message{}, errNotRunning
	}
	p.nextID++
	r.ID = p.nextID
	c.pending[r.ID] = ch
	p.mu.Unlock()
	line, err := json.Marshal(r)
	if err != nil {
		return message{}, fmt.Errorf("bgp: %s: %w", r.Op, err)
	}
	// A write error means the child is dying: its death answers.
	c.inMu.Lock()
	c.in.Write(append(line, '\n'))
	c.inMu.Unlock()
	select {
	case m := <-ch:
		if m.Error != "" {
			return m, errors.New(m.Error)
		}
		return m, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(c.pending, r.ID)
		p.mu.Unlock()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.kill()
		}
		return message{}, fmt.Errorf("bgp: %s %s: no answer: %w", ProgramName, r.Op, ctx.Err())
	}
}

func (p *Process) current() *child {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.child
}

// AddPeer implements Speaker.
func (p *Process) AddPeer(ctx context.Context, n Neighbor) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	if i := slices.IndexFunc(p.peers, func(o Neighbor) bool { return o.Addr == n.Addr }); i >= 0 {
		p.peers[i] = n
	} else {
		p.peers = append(p.peers, n)
	}
	p.mu.Unlock()
	_, err := p.call(ctx, p.current(), request{Op: opAddPeer, Neighbor: &n})
	return err
}

// RemovePeer implements Speaker.
func (p *Process) RemovePeer(ctx context.Context, addr netip.Addr) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	p.peers = slices.DeleteFunc(p.peers, func(o Neighbor) bool { return o.Addr == addr })
	p.mu.Unlock()
	_, err := p.call(ctx, p.current(), request{Op: opRemovePeer, Addr: addr})
	return err
}

// Announce implements Speaker.
func (p *Process) Announce(ctx context.Context, prefix netip.Prefix, a Attrs) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	p.routes[prefix] = a
	p.mu.Unlock()
	_, err := p.call(ctx, p.current(), request{Op: opAnnounce, Prefix: prefix, Attrs: &a})
	return err
}

// Withdraw implements Speaker.
func (p *Process) Withdraw(ctx context.Context, prefix netip.Prefix) error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	delete(p.routes, prefix)
	p.mu.Unlock()
	_, err := p.call(ctx, p.current(), request{Op: opWithdraw, Prefix: prefix})
	return err
}

// Peers implements Speaker. While no child runs, every session is Idle.
func (p *Process) Peers(ctx context.Context) ([]PeerStatus, error) {
	c := p.current()
	if c == nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		out := make([]PeerStatus, 0, len(p.peers))
		for _, n := range p.peers {
			out = append(out, PeerStatus{Addr: n.Addr, ASN: n.ASN, State: Idle})
		}
		return out, nil
	}
	m, err := p.call(ctx, c, request{Op: opPeers})
	if err != nil {
		return nil, err
	}
	return m.Peers, nil
}

// Stop implements Speaker: the child drains and withdraws its routes,
// then is told to exit by the end of its input, and killed if it does
// not.
func (p *Process) Stop(ctx context.Context, drain time.Duration) error {
	p.mu.Lock()
	select {
	case <-p.stopped:
		running := p.running
		p.mu.Unlock()
		if running {
			<-p.done
		}
		return nil
	default:
		close(p.stopped)
	}
	running := p.running
	p.mu.Unlock()
	if !running {
		return nil
	}
	p.opMu.Lock()
	defer p.opMu.Unlock()
	var err error
	if c := p.current(); c != nil {
		_, err = p.call(ctx, c, request{Op: opStop, Drain: drain})
		c.inMu.Lock()
		c.in.Close()
		c.inMu.Unlock()
		select {
		case <-c.exited:
		case <-time.After(exitTimeout):
			c.kill()
			<-c.exited
		}
	}
	<-p.done
	return err
}

// pid returns the running child's process id, 0 if none runs.
func (p *Process) pid() int {
	if c := p.current(); c != nil {
		return c.pid
	}
	return 0
}
