package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestEnterMissing(t *testing.T) {
	name := fmt.Sprintf("gknosuch%d", os.Getpid())
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not given back: had Enter moved it, no other
		// goroutine must run on it.
		errc <- Enter(name)
	}()
	err := <-errc
	var ee *EnterError
	if !errors.As(err, &ee) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Enter(%s) = %v, want an EnterError for ENOENT", name, err)
	}
	if want := "Failed to open /run/netns/" + name; err.Error() != want {
		t.Errorf("message %q, want keepalived's %q", err, want)
	}
}

// TestEnter moves a thread into a namespace ip netns made and checks,
// from that thread, that its network namespace is the named one.
func TestEnter(t *testing.T) {
	nettest.RequireRoot(t)
	name := fmt.Sprintf("gkenter%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	var want unix.Stat_t
	if err := unix.Stat(Path(name), &want); err != nil {
		t.Fatal(err)
	}
	type result struct {
		st  unix.Stat_t
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := Enter(name); err != nil {
			res <- result{err: err}
			return
		}
		var r result
		r.err = unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &r.st)
		res <- r
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.Dev != want.Dev || r.st.Ino != want.Ino {
		t.Errorf("thread's namespace %d:%d, want %s's %d:%d", r.st.Dev, r.st.Ino, name, want.Dev, want.Ino)
	}
}
