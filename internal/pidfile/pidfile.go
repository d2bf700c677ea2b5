// Package pidfile keeps the pid files of keepalived's layout and applies
// keepalived's rules to a pid file found at start-up: a file naming a live
// process means the daemon is already running, one naming no process is
// removed as stale, and one that cannot be read counts as running (and is
// removed, so that the next start succeeds).
package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// keepalived's default pid files for its parent process and its VRRP and
// health-checker children.
const (
	DefaultPath         = "/run/keepalived.pid"
	DefaultVRRPPath     = "/run/vrrp.pid"
	DefaultCheckersPath = "/run/checkers.pid"
)

// Running reports whether any of the pid files names a live process, with
// keepalived's rules and log messages. When it does, keepalived logs
// "daemon is already running" and exits with status 0.
//
// Like keepalived it removes a file whose process is gone ("Remove a
// zombie pid file") and a file it cannot read ("Error reading pid file"),
// but counts the latter as running: the daemon cannot tell. A process is
// live when kill(pid, 0) succeeds, whatever program it runs.
func Running(log logrus.FieldLogger, paths ...string) bool {
	running := false
	for _, path := range paths {
		if processRunning(log, path) {
			running = true
		}
	}
	return running
}

func processRunning(log logrus.FieldLogger, path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, ok := scanPid(b)
	if !ok {
		log.Infof("Error reading pid file %s", path)
		os.Remove(path)
		return true
	}
	if pid == 0 {
		// keepalived's kill(0, 0) signals its own process group and so
		// always succeeds.
		return true
	}
	if unix.Kill(pid, 0) != nil {
		log.Infof("Remove a zombie pid file %s", path)
		os.Remove(path)
		return false
	}
	return true
}

// scanPid reads a pid as keepalived's fscanf("%d") does: white space, an
// optional sign and digits, ignoring whatever follows.
func scanPid(b []byte) (int, bool) {
	b = bytes.TrimLeft(b, " \t\n\v\f\r")
	n := 0
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		n = 1
	}
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	pid, err := strconv.ParseInt(string(b[:n]), 10, 32)
	if err != nil {
		return 0, false
	}
	return int(pid), true
}

// A File is a pid file written by this process.
type File struct {
	path string
	pid  int
}

// Create writes the calling process's pid to path as keepalived does, the
// number and a newline, replacing whatever was there: a symlink planted
// at path is replaced, never followed. A reader sees either the old file
// or the new one, never a partial write.
//
// keepalived's wording for the failure is "pidfile_write : Cannot open
// <path> pidfile", after which it stops.
func Create(path string) (*File, error) {
	pid := os.Getpid()
	if err := writeAtomic(path, []byte(strconv.Itoa(pid)+"\n")); err != nil {
		return nil, fmt.Errorf("writing pid file %s: %w", path, err)
	}
	return &File{path: path, pid: pid}, nil
}

// writeAtomic writes a pid file as safefile does any file the daemon
// writes, but with keepalived's pidfile_write mode: rw-r--r-- whatever
// the umask, for monitoring that runs unprivileged.
func writeAtomic(path string, data []byte) error {
	return safefile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Path returns the file's name.
func (f *File) Path() string { return f.path }

// Remove deletes the pid file if it still names this process: another
// instance may have taken the name over since, and its file must stay.
func (f *File) Remove() error {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing pid file %s: %w", f.path, err)
	}
	if pid, ok := scanPid(b); !ok || pid != f.pid {
		return nil
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing pid file %s: %w", f.path, err)
	}
	return nil
}
