package proctrack

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// sleeper copies sleep to a name of its own, so that the test's
// processes are the only ones to match.
func sleeper(t *testing.T) (path, name string) {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	name = fmt.Sprintf("pt%d", time.Now().UnixNano()%1e9)
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path, name
}

func start(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path, "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

type changeAt struct {
	up bool
	at time.Time
}

// watch starts a Watcher of name with quorum 1 from a thread in the
// network namespace netns opens (the test's own when nil).
func watch(t *testing.T, name string, cfg Config, netns func() error) (*Watcher, map[string]bool, chan changeAt) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	if testing.Verbose() {
		log.SetOutput(os.Stderr)
	}
	ch := make(chan changeAt, 10)
	cfg.Specs = []Spec{{Name: "p", Process: name, Quorum: 1, QuorumMax: math.MaxUint32}}
	cfg.Log = log
	cfg.Changed = func(_ string, up bool) { ch <- changeAt{up, time.Now()} }
	type result struct {
		w   *Watcher
		q   map[string]bool
		err error
	}
	rc := make(chan result)
	go func() {
		if netns != nil {
			// The thread stays in the namespace: never unlocked, it
			// ends with the goroutine.
			runtime.LockOSThread()
			if err := netns(); err != nil {
				rc <- result{err: err}
				return
			}
		}
		w, q, err := Start(context.Background(), cfg)
		rc <- result{w, q, err}
	}()
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		r.w.Close()
		<-r.w.Done()
	})
	return r.w, r.q, ch
}

func TestWatcher(t *testing.T) {
	if os.Geteuid() != 0 {
		nettest.SkipUnlessCI(t, "the process connector needs CAP_NET_ADMIN")
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		netns   func() error
		polling bool
	}{
		{"connector", Config{}, nil, false},
		{"poll", Config{NoConnector: true}, nil, true},
		{"namespace", Config{}, func() error { return unix.Unshare(unix.CLONE_NEWNET) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, name := sleeper(t)
			first := start(t, path)
			w, q, ch := watch(t, name, tc.cfg, tc.netns)
			if w.Polling() != tc.polling {
				t.Fatalf("polling %v, want %v", w.Polling(), tc.polling)
			}
			if !q["p"] {
				t.Fatal("the first scan did not find the process")
			}
			// A second one comes and goes: no change.
			second := start(t, path)
			time.Sleep(200 * time.Millisecond)
			second.Process.Kill()
			second.Wait()
			// The first goes: quorum lost.
			first.Process.Kill()
			first.Wait()
			gone := time.Now()
			select {
			case c := <-ch:
				if c.up {
					t.Fatal("quorum gained, want lost")
				}
				t.Logf("quorum lost %v after the process was reaped", c.at.Sub(gone))
			case <-time.After(5 * time.Second):
				t.Fatal("no loss of quorum")
			}
			// It starts again: quorum gained.
			started := time.Now()
			start(t, path)
			select {
			case c := <-ch:
				if !c.up {
					t.Fatal("quorum lost, want gained")
				}
				t.Logf("quorum gained %v after the process started", c.at.Sub(started))
			case <-time.After(5 * time.Second):
				t.Fatal("no quorum gained")
			}
		})
	}
}

// logLines collects a logger's messages.
type logLines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logLines) Levels() []logrus.Level { return logrus.AllLevels }

func (l *logLines) Fire(e *logrus.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, e.Message)
	return nil
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

func (l *logLines) has(prefix string) bool {
	return slices.ContainsFunc(l.all(), func(m string) bool { return strings.HasPrefix(m, prefix) })
}

// TestWatcherOverflow floods a connector socket of the smallest receive
// buffer with process events and kills the tracked process amid them:
// events are lost (ENOBUFS), and the Watcher, as keepalived, doubles its
// buffer, says so, and reads /proc again a second later, so that the
// process's exit counts though its event may have been lost.
func TestWatcherOverflow(t *testing.T) {
	if os.Geteuid() != 0 {
		nettest.SkipUnlessCI(t, "the process connector needs CAP_NET_ADMIN")
	}
	path, name := sleeper(t)
	tracked := start(t, path)
	log := logrus.New()
	log.SetOutput(io.Discard)
	if testing.Verbose() {
		log.SetOutput(os.Stderr)
	}
	hook := &logLines{}
	log.AddHook(hook)
	ch := make(chan bool, 10)
	w, q, err := Start(context.Background(), Config{
		Specs:         []Spec{{Name: "p", Process: name, Quorum: 1, QuorumMax: math.MaxUint32}},
		Log:           log,
		Changed:       func(_ string, up bool) { ch <- up },
		ReceiveBuffer: 1, // the kernel's minimum
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		w.Close()
		<-w.Done()
	}()
	if !q["p"] || w.Polling() {
		t.Fatalf("quorum %v, polling %v: want the process found by the connector", q["p"], w.Polling())
	}
	// Hundreds of processes at once, from several goroutines.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				exec.Command("true").Run()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	tracked.Process.Kill()
	tracked.Wait()
	wg.Wait()
	select {
	case up := <-ch:
		if up {
			t.Fatal("quorum gained, want lost")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the exit did not count: %q", hook.all())
	}
	if _, ok := eventually(5*time.Second, func() bool { return hook.has("Setting global_def process_monitor_rcv_bufs to ") }); !ok {
		t.Fatalf("no events lost, or no rescan after losing them: %q", hook.all())
	}
}

func eventually(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), false
}
