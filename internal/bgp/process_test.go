package bgp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The test binary plays two parts, chosen by environment variables:
// envFake makes it a speaker program serving a fake Speaker that logs
// its calls ("1"), or one that does not exit at the end of its input
// ("wedged"), and envParent makes it a daemon running a Process, with
// the speaker program at the path it names ("self" for the fake,
// "wedged" for the wedged fake).
const (
	envFake   = "GOKEEPALIVED_BGP_TEST_FAKE"
	envParent = "GOKEEPALIVED_BGP_TEST_PARENT"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envFake); mode != "" {
		if mode == "wedged" {
			// Nor does the parent's end of the pipe kill it.
			signal.Ignore(syscall.SIGPIPE)
		}
		err := Serve(os.Stdin, os.Stdout, func(log *slog.Logger, onState func(PeerStatus)) Speaker {
			return &fakeSpeaker{log: log, onState: onState}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if mode == "wedged" {
			// A speaker stuck past the end of its input: only a signal
			// ends it.
			time.Sleep(time.Hour)
		}
		os.Exit(0)
	}
	if path, ok := os.LookupEnv(envParent); ok {
		if err := parentHelper(path); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeSpeaker logs each call, as "call op args", and reports every
// neighbor Established.
type fakeSpeaker struct {
	log     *slog.Logger
	onState func(PeerStatus)
	mu      sync.Mutex
	peers   []Neighbor
}

func (f *fakeSpeaker) Start(_ context.Context, g Global) error {
	f.log.Warn(fmt.Sprintf("call start %s %d", g.RouterID, g.ASN))
	return nil
}

func (f *fakeSpeaker) AddPeer(_ context.Context, n Neighbor) error {
	f.log.Warn(fmt.Sprintf("call add_peer %s %d", n.Addr, n.ASN))
	f.mu.Lock()
	f.peers = append(f.peers, n)
	f.mu.Unlock()
	if f.onState != nil {
		f.onState(PeerStatus{Addr: n.Addr, ASN: n.ASN, State: Established})
	}
	return nil
}

func (f *fakeSpeaker) RemovePeer(_ context.Context, a netip.Addr) error {
	f.log.Warn(fmt.Sprintf("call remove_peer %s", a))
	return nil
}

func (f *fakeSpeaker) Announce(_ context.Context, p netip.Prefix, a Attrs) error {
	if a.HasMED && a.MED == 666 {
		return errors.New("MED 666 refused")
	}
	f.log.Warn(fmt.Sprintf("call announce %s %v", p, a.Communities))
	return nil
}

func (f *fakeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	f.log.Warn(fmt.Sprintf("call withdraw %s", p))
	return nil
}

func (f *fakeSpeaker) Peers(context.Context) ([]PeerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PeerStatus
	for _, n := range f.peers {
		out = append(out, PeerStatus{Addr: n.Addr, ASN: n.ASN, State: Established})
	}
	return out, nil
}

func (f *fakeSpeaker) Stop(_ context.Context, drain time.Duration) error {
	f.log.Warn(fmt.Sprintf("call stop %v", drain))
	return nil
}

// parentHelper runs a Process on the speaker program at path, with one
// neighbor and one route from the environment, prints "child PID" each
// time a new child runs and "state S" as the session changes, and stops
// the speaker, draining for a second, when its standard input closes.
func parentHelper(path string) error {
	if path == "self" || path == "wedged" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		os.Setenv(envFake, map[string]string{"self": "1", "wedged": "wedged"}[path])
		path = self
	}
	os.Unsetenv(envParent)
	var mu sync.Mutex
	sp := NewProcess(path, nil, func(p PeerStatus) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println("state", p.State)
	})
	ctx := context.Background()
	if err := sp.Start(ctx, Global{RouterID: netip.MustParseAddr("10.99.0.11"), ASN: 65001}); err != nil {
		return err
	}
	if err := sp.AddPeer(ctx, Neighbor{Addr: netip.MustParseAddr("10.99.0.254"), ASN: 65000, HoldTime: 9 * time.Second}); err != nil {
		return err
	}
	if err := sp.Announce(ctx, netip.MustParsePrefix("10.10.10.10/32"), Attrs{MED: 7, HasMED: true}); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
	last := 0
	for {
		if pid := sp.pid(); pid != 0 && pid != last {
			last = pid
			mu.Lock()
			fmt.Println("child", pid)
			mu.Unlock()
		}
		select {
		case <-eof:
			return sp.Stop(ctx, time.Second)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startParent runs parentHelper with the speaker program at path, in
// namespace ns if set, and returns its command and its lines.
func startParent(t *testing.T, ns, path string) (*exec.Cmd, io.Closer, <-chan string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{self, "-test.run=^$"}
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), envParent+"="+path)
	cmd.Stderr = os.Stderr
	in, lines := nettest.StartLines(t, cmd)
	return cmd, in, lines
}

// next returns the next line starting with prefix, failing t after
// timeout or at the end of lines.
func next(t *testing.T, lines <-chan string, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("no %q line before the end", prefix)
			}
			if strings.HasPrefix(l, "error") {
				t.Fatal(l)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q line within %v", prefix, timeout)
		}
	}
}

func childPID(t *testing.T, lines <-chan string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(next(t, lines, "child ", 5*time.Second), "child "))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// gone reports whether process pid has disappeared, zombie or not,
// within timeout.
func gone(pid int, timeout time.Duration) (time.Duration, bool) {
	return nettest.Eventually(timeout, func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the command's closing parenthesis.
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
	})
}

// recorder is a slog.Handler keeping the messages it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	seen chan struct{}
}

func newRecorder() *recorder { return &recorder{seen: make(chan struct{}, 1000)} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// calls returns the calls the fake speakers logged since the last
// "call start", the start included.
func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if strings.HasPrefix(m, "call start") {
			out = nil
		}
		if strings.HasPrefix(m, "call ") {
			out = append(out, m)
		}
	}
	return out
}

func (r *recorder) waitCalls(t *testing.T, want []string) {
	t.Helper()
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return slices.Equal(r.calls(), want) }); !ok {
		t.Fatalf("the speaker's calls:\n%s\nwant:\n%s", strings.Join(r.calls(), "\n"), strings.Join(want, "\n"))
	}
}

// TestProcessRestartReplays runs a Process on the fake speaker program:
// requests and answers cross the pipe, a speaker's error comes back as
// the request's, and when the child is killed the sessions read Idle,
// requests fail rather than wait, and the next child gets the identity,
// the neighbors and the routes as they stand, the withdrawn route left
// out.
func TestProcessRestartReplays(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envFake, "1")
	rec := newRecorder()
	states := make(chan PeerStatus, 100)
	sp := NewProcess(self, slog.New(rec), func(p PeerStatus) { states <- p })
	ctx := t.Context()
	if err := sp.Start(ctx, Global{RouterID: netip.MustParseAddr("192.0.2.1"), ASN: 65001}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Stop(context.Background(), 0) })
	a, b := netip.MustParseAddr("192.0.2.254"), netip.MustParseAddr("192.0.2.253")
	p1, p2 := netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("10.0.0.2/32")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sp.AddPeer(ctx, Neighbor{Addr: a, ASN: 65000}))
	must(sp.AddPeer(ctx, Neighbor{Addr: b, ASN: 65002}))
	must(sp.Announce(ctx, p1, Attrs{}))
	must(sp.Announce(ctx, p2, Attrs{Communities: []Community{GracefulShutdown}}))
	must(sp.Withdraw(ctx, p1))
	if err := sp.Announce(ctx, netip.MustParsePrefix("10.0.0.3/32"), Attrs{MED: 666, HasMED: true}); err == nil || err.Error() != "MED 666 refused" {
		t.Errorf("Announce refused by the speaker: error %v, want MED 666 refused", err)
	}
	must(sp.Withdraw(ctx, netip.MustParsePrefix("10.0.0.3/32")))
	want := []string{"call start 192.0.2.1 65001", "call add_peer 192.0.2.254 65000", "call add_peer 192.0.2.253 65002",
		"call announce 10.0.0.1/32 []", "call announce 10.0.0.2/32 [65535:0]", "call withdraw 10.0.0.1/32", "call withdraw 10.0.0.3/32"}
	rec.waitCalls(t, want)
	ps, err := sp.Peers(ctx)
	must(err)
	if len(ps) != 2 || ps[0].Addr != a || ps[0].State != Established || ps[1].Addr != b {
		t.Errorf("Peers: %v", ps)
	}
	for range 2 {
		if s := <-states; s.State != Established {
			t.Errorf("state %v before the kill", s)
		}
	}

	pid := sp.pid()
	t0 := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)
	for range 2 {
		select {
		case s := <-states:
			if s.State != Idle {
				t.Errorf("state %v after the kill, want Idle", s)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no Idle state after the kill")
		}
	}
	// The next child starts minRestartDelay after the death: until then
	// requests fail at once and the sessions read Idle.
	t1 := time.Now()
	err = sp.Announce(ctx, netip.MustParsePrefix("10.0.0.4/32"), Attrs{})
	if !errors.Is(err, errNotRunning) {
		t.Errorf("Announce while no child runs: %v, want %v", err, errNotRunning)
	}
	if d := time.Since(t1); d > 50*time.Millisecond {
		t.Errorf("Announce while no child runs took %v", d)
	}
	ps, err = sp.Peers(ctx)
	must(err)
	if len(ps) != 2 || ps[0].State != Idle || ps[1].State != Idle {
		t.Errorf("Peers while no child runs: %v", ps)
	}
	// The routes come before the neighbors, so that a session gets
	// them all before its End-of-RIB.
	rec.waitCalls(t, []string{"call start 192.0.2.1 65001", "call announce 10.0.0.2/32 [65535:0]", "call announce 10.0.0.4/32 []",
		"call add_peer 192.0.2.254 65000", "call add_peer 192.0.2.253 65002"})
	t.Logf("replayed %v after the kill", time.Since(t0).Round(time.Millisecond))
	if p := sp.pid(); p == pid || p == 0 {
		t.Errorf("child pid %d after the restart, was %d", p, pid)
	}
	rec.mu.Lock()
	msgs := slices.Clone(rec.msgs)
	rec.mu.Unlock()
	if !slices.Contains(msgs, "gokeepalived-bgp exited; restarting it") {
		t.Errorf("no log line of the restart: %q", msgs)
	}

	pid = sp.pid()
	must(sp.Stop(ctx, 0))
	if _, ok := gone(pid, time.Second); !ok {
		t.Error("the child runs on after Stop")
	}
	if got := rec.calls(); got[len(got)-1] != "call stop 0s" {
		t.Errorf("last call %q, want the stop", got[len(got)-1])
	}
	if err := sp.Announce(ctx, netip.MustParsePrefix("10.0.0.5/32"), Attrs{}); err == nil {
		t.Error("Announce after Stop succeeded")
	}
}

// TestProcessParentKilled kills a daemon running a Process with SIGKILL:
// its child must die with it, even one that would not exit at the end of
// its input.
func TestProcessParentKilled(t *testing.T) {
	cmd, _, lines := startParent(t, "", "wedged")
	// The session comes up as the neighbor is added, before the child's
	// pid is printed, once the setup is done.
	next(t, lines, "state Established", 5*time.Second)
	pid := childPID(t, lines)
	if _, ok := gone(pid, 0); ok {
		t.Fatal("no child")
	}
	cmd.Process.Kill()
	cmd.Wait()
	took, ok := gone(pid, 2*time.Second)
	if !ok {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the speaker process %d outlived its parent's SIGKILL", pid)
	}
	t.Logf("child gone %v after its parent's SIGKILL", took.Round(time.Millisecond))
}

// TestProcessMissingProgram: a Process whose program is missing fails
// to start, naming the file it looked for.
func TestProcessMissingProgram(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gokeepalived-bgp")
	err := NewProcess(missing, nil, nil).Start(t.Context(), Global{})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Start with %s missing: %v", missing, err)
	}
	t.Setenv("PATH", t.TempDir())
	self, _ := os.Executable()
	beside := filepath.Join(filepath.Dir(self), ProgramName)
	sp := NewProcess("", nil, nil)
	err = sp.Start(t.Context(), Global{})
	if err == nil || !strings.Contains(err.Error(), beside) || !strings.Contains(err.Error(), "$PATH") {
		t.Errorf("Start with no %s: %v, want it named", beside, err)
	}
	if err := sp.Stop(t.Context(), 0); err != nil {
		t.Errorf("Stop of a speaker that did not start: %v", err)
	}
}

// TestServeEndsWithInput: the speaker program stops its speaker and
// exits when its standard input closes, the daemon gone without a word;
// with graceful restart it exits without stopping it, so that its
// sessions end without a NOTIFICATION.
func TestServeEndsWithInput(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		neighbor string
		stops    bool
	}{
		{"plain", `{"Addr":"192.0.2.2","ASN":65000}`, true},
		{"graceful restart", `{"Addr":"192.0.2.2","ASN":65000,"RestartTime":120000000000}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = append(os.Environ(), envFake+"=1")
			in, _ := cmd.StdinPipe()
			var out strings.Builder
			cmd.Stdout = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			io.WriteString(in, `{"id":1,"op":"start","global":{"RouterID":"192.0.2.1","ASN":65001}}`+"\n")
			io.WriteString(in, `{"id":2,"op":"nonsense"}`+"\n")
			io.WriteString(in, `{"id":3,"op":"add_peer","neighbor":`+tc.neighbor+`}`+"\n")
			in.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the speaker program runs on after the end of its input")
			}
			got := out.String()
			for _, want := range []string{`"msg":"call start 192.0.2.1 65001"`, `{"id":1}`,
				`{"id":2,"error":"bgp: unknown operation \"nonsense\""}`, `{"id":3}`} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %s:\n%s", want, got)
				}
			}
			if stopped := strings.Contains(got, `"msg":"call stop 0s"`); stopped != tc.stops {
				t.Errorf("stopped the speaker: %v, want %v:\n%s", stopped, tc.stops, got)
			}
		})
	}
}
