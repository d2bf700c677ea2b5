package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeepalivedAgrees runs the real keepalived -t on this package's own
// test configurations (testdata/*.conf: "refused-*" ones must be refused)
// and on keepalived's samples, in a network namespace holding eth0, eth1
// and eth2. Load with CheckSystem, run in the same namespace, must reach
// the same verdict and report an error at every line keepalived reports.
// What WriteText makes of an accepted configuration must be accepted too.
func TestKeepalivedAgrees(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	keepalived, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ns := "cfgA-" + strconv.Itoa(os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, link := range []string{"eth0", "eth1", "eth2"} {
		run(t, "ip", "-n", ns, "link", "add", link, "type", "bridge")
	}

	files, _ := filepath.Glob("testdata/*.conf")
	samples, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	for _, f := range append(files, samples...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			abs, _ := filepath.Abs(f)
			refused, stderr := keepalivedTest(t, keepalived, ns, abs)
			if own := !strings.HasPrefix(abs, "/usr/"); own && refused != strings.HasPrefix(filepath.Base(f), "refused-") {
				t.Fatalf("keepalived -t refused=%v, against what the file name says:\n%s", refused, stderr)
			}

			var (
				cfg *Config
				ds  Diagnostics
				err error
			)
			inNetns(t, ns, func() {
				cfg, ds, err = Load(abs, Options{ConfigID: "main", CheckSystem: true})
			})
			if err != nil {
				t.Fatal(err)
			}
			if ds.HasErrors() != refused {
				t.Fatalf("gokeepalived refused=%v, keepalived -t refused=%v\nkeepalived:\n%s\ngokeepalived:\n%v", ds.HasErrors(), refused, stderr, ds)
			}
			for _, line := range linesBlamed(stderr) {
				found := false
				for _, d := range ds.Errors() {
					found = found || d.Pos.Line == line
				}
				if !found {
					t.Errorf("keepalived reports line %d, gokeepalived has no error there:\n%s\n%v", line, stderr, ds)
				}
			}
			if refused {
				return
			}
			written := filepath.Join(t.TempDir(), "written.conf")
			var text bytes.Buffer
			if err := cfg.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(written, text.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if refused, stderr := keepalivedTest(t, keepalived, ns, written); refused {
				t.Errorf("keepalived -t refuses the written text:\n%s\n%s", stderr, text.String())
			}
		})
	}
}

// keepalivedTest runs keepalived -t on a configuration in namespace ns.
func keepalivedTest(t *testing.T, keepalived, ns, path string) (refused bool, stderr string) {
	t.Helper()
	pids := t.TempDir()
	cmd := exec.Command("ip", "netns", "exec", ns, keepalived, "-t", "-f", path, "-i", "main",
		"-p", pids+"/p", "-r", pids+"/r", "-c", pids+"/c")
	var out bytes.Buffer
	cmd.Stderr = &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return err != nil, out.String()
}

// linesBlamed returns the line numbers of keepalived's positioned messages.
func linesBlamed(stderr string) []int {
	blamed := regexp.MustCompile(`(?m)^\([^)]*Line (\d+)\)`)
	var lines []int
	for _, m := range blamed.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		lines = append(lines, n)
	}
	return lines
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// inNetns runs f on a thread switched into network namespace ns, so that
// interface lookups see that namespace's links.
func inNetns(t *testing.T, ns string, f func()) {
	t.Helper()
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked, and so dies with the goroutine,
		// because it is in another namespace.
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering %s: %w", ns, err)
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
