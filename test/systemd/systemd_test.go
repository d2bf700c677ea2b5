// Package systemd tests gokeepalived's Debian package where it is meant to
// run. TestDebLintian builds the package as "make deb" does and runs
// lintian on it. TestSystemdGuest boots Debian 12 with systemd as PID 1
// under qemu (boot.sh beside this file), installs the package there with
// dpkg and runs TestGuestChecks inside the guest: the same checks, in turn,
// with keepalived's own package and unit, the reference, and with
// gokeepalived's, against a keepalived peer in a network namespace of the
// guest. Each check reports one line, and the host test one subtest per
// check.
package systemd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// guestEnv is set for the checks inside the guest.
const guestEnv = "GOKEEPALIVED_SYSTEMD_GUEST"

func inGuest() bool { return os.Getenv(guestEnv) == "1" }

// The guest prints one checkMarker line per check, "GKCHECK name PASS
// detail" or "GKCHECK name FAIL why", and at the end exitMarker with the
// test binary's exit status.
const (
	checkMarker = "GKCHECK "
	exitMarker  = "===SYSTEMD-GUEST EXIT: "
)

// guestUnit runs the checks once systemd has brought the guest up, prints
// on the serial console and powers the guest off.
const guestUnit = `[Unit]
Description=gokeepalived package checks
After=multi-user.target

[Service]
Type=simple
Environment=` + guestEnv + `=1
WorkingDirectory=/opt/gktest
ExecStart=/bin/sh -c './systemd.test -test.v -test.count=1 -test.timeout=%ds -test.run "^TestGuestChecks$$"; echo "` + exitMarker + `$$?==="; systemctl poweroff -ff'
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
`

// root is the top of the source tree.
func root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("locating the source tree: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// requireTools skips t, or fails it under CI=true, when a command is
// missing; scripts/deps.sh installs them all.
func requireTools(t testing.TB, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			nettest.SkipUnlessCI(t, fmt.Sprintf("needs %s (scripts/deps.sh installs it)", c))
		}
	}
}

// buildDeb builds the package into dir with packaging/deb/build.sh, as
// "make deb" does, and returns the .deb's path.
func buildDeb(t testing.TB, ctx context.Context, dir string) string {
	t.Helper()
	requireTools(t, "dpkg-buildpackage", "dh", "gcc", "git")
	// go test puts its own go command first in PATH: build.sh uses it
	// unless GO names another.
	cmd := exec.CommandContext(ctx, filepath.Join(root(t), "packaging", "deb", "build.sh"), dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("building the package: %v\n%s", err, stderr.String())
	}
	deb := strings.TrimSpace(string(out))
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("building the package: %v\n%s", err, stderr.String())
	}
	return deb
}

// TestDebLintian fails on every error and warning lintian reports for the
// package (its info and pedantic tags are logged, not failed on); the
// package overrides no tag.
func TestDebLintian(t *testing.T) {
	if inGuest() {
		t.Skip("runs on the host")
	}
	requireTools(t, "lintian")
	deb := buildDeb(t, t.Context(), t.TempDir())
	out, err := exec.CommandContext(t.Context(), "lintian", "--info", "--pedantic", "--show-overrides", "--tag-display-limit", "0", deb).CombinedOutput()
	t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
	bad := regexp.MustCompile(`(?m)^[EW]: .*$`).FindAllString(string(out), -1)
	for _, l := range bad {
		t.Errorf("lintian: %s", l)
	}
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && len(bad) > 0) {
		t.Errorf("lintian: %v", err)
	}
}

// A checkResult is what the guest reported for one check.
type checkResult struct {
	pass   bool
	detail string
}

// TestSystemdGuest builds the package, boots the guest with it and the
// checks, and reports each check as a subtest. It runs alone in "make
// test"'s last phase: the guest is emulated and its timings need the CPUs.
func TestSystemdGuest(t *testing.T) {
	if inGuest() {
		t.Skip("TestGuestChecks is the test inside the guest")
	}
	nettest.RequireRoot(t)
	vm.Require(t)
	requireTools(t, "mmdebstrap", "cpio", "modprobe", "depmod", "flock")
	ctx, cancel := vm.Context(t)
	defer cancel()
	began := time.Now()

	dir := t.TempDir()
	deb := buildDeb(t, ctx, filepath.Join(dir, "deb"))
	built := time.Since(began)
	overlay := filepath.Join(dir, "overlay")
	opt := filepath.Join(overlay, "opt", "gktest")
	units := filepath.Join(overlay, "etc", "systemd", "system")
	for _, d := range []string{opt, filepath.Join(units, "multi-user.target.wants")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyFile(deb, filepath.Join(opt, "gokeepalived.deb")); err != nil {
		t.Fatal(err)
	}
	if err := vm.StaticTestBinary(ctx, filepath.Join(opt, "systemd.test")); err != nil {
		t.Fatal(err)
	}
	// The checks' own budget, inside the guest's.
	guestTimeout := guestBudget(ctx)
	unit := fmt.Sprintf(guestUnit, int((guestTimeout - 60*time.Second).Seconds()))
	if err := os.WriteFile(filepath.Join(units, "gktest.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../gktest.service", filepath.Join(units, "multi-user.target.wants", "gktest.service")); err != nil {
		t.Fatal(err)
	}

	booted := time.Now()
	results, order, code, err := boot(ctx, filepath.Join(root(t), "test", "systemd", "boot.sh"), overlay, guestTimeout, t.Output())
	t.Logf("wall time %v: package %v, guest (root file system, boot, checks, power-off) %v",
		time.Since(began).Round(100*time.Millisecond), built.Round(100*time.Millisecond), time.Since(booted).Round(100*time.Millisecond))
	for _, c := range guestChecks {
		t.Run(c.name, func(t *testing.T) {
			r, ok := results[c.name]
			switch {
			case !ok:
				t.Errorf("the guest reported nothing for %s", c.name)
			case !r.pass:
				t.Error(r.detail)
			default:
				t.Log(r.detail)
			}
		})
	}
	for _, name := range order {
		if !knownCheck(name) {
			t.Errorf("the guest reported an unknown check %q", name)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("the checks in the guest exited with status %d", code)
	}
}

// guestBudget is how long the guest may run: five minutes, or less when
// the test's deadline is nearer.
func guestBudget(ctx context.Context) time.Duration {
	budget := 5 * time.Minute
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline)-10*time.Second)
	}
	return max(budget, 90*time.Second)
}

func knownCheck(name string) bool {
	for _, c := range guestChecks {
		if c.name == name {
			return true
		}
	}
	return false
}

// boot runs boot.sh on overlay, copies the console to console and
// returns the checks' results, the order in which they came, and the
// guest's exit status.
func boot(ctx context.Context, script, overlay string, timeout time.Duration, console io.Writer) (map[string]checkResult, []string, int, error) {
	cmd := exec.CommandContext(ctx, script, overlay)
	cmd.Env = append(os.Environ(), fmt.Sprintf("SYSTEMD_GUEST_TIMEOUT=%d", int(math.Ceil(timeout.Seconds()))))
	// qemu and the pipeline behind it go with the context.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, nil, 0, fmt.Errorf("booting the systemd guest: %w", err)
	}
	results := make(map[string]checkResult)
	var order []string
	parsed := make(chan struct{})
	go func() {
		defer close(parsed)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(console, line)
			// The marker may follow other console output on its line.
			i := strings.Index(line, checkMarker)
			if i < 0 {
				continue
			}
			name, rest, _ := strings.Cut(line[i+len(checkMarker):], " ")
			verdict, detail, _ := strings.Cut(rest, " ")
			if verdict != "PASS" && verdict != "FAIL" {
				continue
			}
			results[name] = checkResult{pass: verdict == "PASS", detail: detail}
			order = append(order, name)
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Wait()
	pw.Close()
	<-parsed
	var exit *exec.ExitError
	switch {
	case err == nil:
		return results, order, 0, nil
	case errors.As(err, &exit) && exit.ExitCode() == 125:
		return results, order, 125, errors.New("the systemd guest reported no exit status (no boot, a panic or a timeout)")
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return results, order, exit.ExitCode(), nil
	}
	return results, order, 0, fmt.Errorf("booting the systemd guest: %w", err)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return nil
}
