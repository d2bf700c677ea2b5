// Package vm runs tests inside Debian's own kernel booted under qemu, for
// kernel features the host may lack, IP Virtual Server first of all.
//
// The guest is described by run.sh beside this file: it fetches the kernel
// package once with apt-get download, builds a small initramfs (busybox,
// dash, iproute2, ipvsadm, keepalived, the IPVS modules) and caches both
// under test/vm/cache, so a warm boot costs a few seconds. The guest has no
// network device; tests inside it use loopback, dummy links and network
// namespaces.
//
// A package's host-side test boots the guest once and runs the package's
// own test binary there, selecting the in-guest tests, which tell where
// they are with InGuest:
//
//	func TestKernel(t *testing.T) {
//		vm.RunTests(t, "^TestGuest")
//	}
//
//	func TestGuestSomething(t *testing.T) {
//		if !vm.InGuest() {
//			t.Skip("runs inside the kernel guest, through TestKernel")
//		}
//		...
//	}
package vm

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guestEnv is set by the guest's init for everything it runs.
const guestEnv = "GOKEEPALIVED_GUEST"

// guestFailure is run.sh's exit status when the guest reported none: it
// did not boot, panicked or timed out.
const guestFailure = 125

// InGuest reports whether the program runs inside a guest booted by this
// package.
func InGuest() bool { return os.Getenv(guestEnv) == "1" }

// Require skips t when the guest cannot be booted here, except under
// CI=true, where a test that does not run is a failure.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	if err := check(); err != nil {
		why = err.Error()
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: kernel tests must run)", why)
	}
	t.Skip(why)
}

func check() error {
	if os.Geteuid() != 0 {
		return errors.New("the kernel guest needs root (dmesg for the TSC rate, apt-get for the kernel)")
	}
	for _, cmd := range []string{"qemu-system-x86_64", "busybox", "apt-get", "dpkg", "xz", "bc", "ipvsadm"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("the kernel guest needs %s (scripts/deps.sh installs it)", cmd)
		}
	}
	if _, err := script(); err != nil {
		return err
	}
	return nil
}

// script returns the path of run.sh, found beside this source file.
func script() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locating test/vm/run.sh: no caller information")
	}
	p := filepath.Join(filepath.Dir(file), "run.sh")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("locating test/vm/run.sh: %w", err)
	}
	return p, nil
}

// Run boots a guest, copies dir to /work in it, runs command there with
// /bin/sh -c and returns the command's exit status. Every console line,
// boot messages included, goes to console.
func Run(ctx context.Context, dir, command string, console io.Writer) (int, error) {
	sh, err := script()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, sh, dir, command)
	if deadline, ok := ctx.Deadline(); ok {
		// qemu runs under timeout(1) in its own process group: bound it
		// by the caller's deadline too, should the caller die first.
		secs := int(math.Ceil(time.Until(deadline).Seconds()))
		cmd.Env = append(os.Environ(), fmt.Sprintf("VMRUN_TIMEOUT=%d", max(secs, 1)))
	}
	cmd.Stdout = console
	cmd.Stderr = console
	// run.sh's qemu and pipeline children must go when the context ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() == guestFailure:
		return guestFailure, fmt.Errorf("running %q in the kernel guest: the guest reported no exit status", command)
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), nil
	}
	return 0, fmt.Errorf("running %q in the kernel guest: %w", command, err)
}

// RunTests runs the calling package's tests matching the -test.run pattern
// inside one guest and fails t if they fail there. It skips (or, under
// CI=true, fails) when the guest cannot be booted. The guest's console
// goes to the test's output as it comes.
func RunTests(t *testing.T, pattern string, args ...string) {
	t.Helper()
	Require(t)
	ctx, cancel := Context(t)
	defer cancel()
	if testing.Short() {
		args = append(args, "-test.short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pkg.test")
	if err := StaticTestBinary(ctx, bin); err != nil {
		t.Fatal(err)
	}
	RunCommand(t, ctx, dir, strings.Join(append([]string{"./pkg.test", "-test.v", "-test.count=1", "-test.run", shellQuote(pattern)}, args...), " "))
}

// RunCommand is Run with the console going to t's output; it fails t if
// the guest cannot run command or command exits with a non-zero status.
func RunCommand(t *testing.T, ctx context.Context, dir, command string) {
	t.Helper()
	code, err := Run(ctx, dir, command, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("%s, in the kernel guest: exit status %d", command, code)
	}
}

// Context is t's context, ending 15 seconds before t's deadline, if it has
// one: a guest run under it has time to report before go test's own
// timeout.
func Context(t *testing.T) (context.Context, context.CancelFunc) {
	if deadline, ok := t.Deadline(); ok {
		return context.WithDeadline(t.Context(), deadline.Add(-15*time.Second))
	}
	return context.WithCancel(t.Context())
}

// StaticTestBinary writes a statically linked test binary of the running
// test's package to dst: the running binary itself when it is static, a
// CGO_ENABLED=0 build of the package in the working directory otherwise.
func StaticTestBinary(ctx context.Context, dst string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the test binary: %w", err)
	}
	if isStatic(self) {
		return copyFile(self, dst)
	}
	if err := GoBuild(ctx, "test", "-c", "-o", dst, "."); err != nil {
		return fmt.Errorf("building a static test binary: %w", err)
	}
	return nil
}

// GoBuild runs the go command ($GO, or go) with args and CGO_ENABLED=0,
// so that what it builds runs in the guest, which has no C library of its
// own.
func GoBuild(ctx context.Context, args ...string) error {
	gocmd := "go"
	if g := os.Getenv("GO"); g != "" {
		gocmd = g
	}
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Build is GoBuild failing t when the go command fails.
func Build(t testing.TB, ctx context.Context, args ...string) {
	t.Helper()
	if err := GoBuild(ctx, args...); err != nil {
		t.Fatal(err)
	}
}

// isStatic reports whether the ELF file at path needs no dynamic loader.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
