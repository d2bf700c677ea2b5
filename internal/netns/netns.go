// Package netns runs a daemon in a named network namespace the way
// keepalived's -s option and net_namespace keyword do: the namespace is
// the one ip netns names under Dir, and the daemon gets a mount namespace
// of its own in which PidDir is PidDir/NAME, so that daemons in different
// namespaces keep their pid files apart under the same names.
//
// setns(2) and unshare(2) change only the calling thread, and a Go
// process has many, so the caller locks its goroutine to its thread,
// enters the namespaces there and execs itself: the new image starts with
// that one thread, in those namespaces, under the same process ID.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

const (
	// Dir is where ip netns keeps the namespaces it names.
	Dir = "/run/netns"
	// PidDir is keepalived's directory for pid files when use_pid_dir,
	// net_namespace or instance is in force.
	PidDir = "/run/keepalived"
)

// pidDirMode is rwxr-xr-x, keepalived's mode for PidDir and its
// namespace directories whatever the umask.
const pidDirMode = 0o755

// Path is the file that names namespace name.
func Path(name string) string { return filepath.Join(Dir, name) }

// An EnterError is a failure to enter a namespace. Its message is the
// one keepalived logs before "Unable to set network namespace NAME -
// exiting".
type EnterError struct {
	Op   string // "open" or "setns"
	Path string
	Err  error
}

func (e *EnterError) Error() string {
	if e.Op == "open" {
		return "Failed to open " + e.Path
	}
	var errno unix.Errno
	if errors.As(e.Err, &errno) {
		return fmt.Sprintf("setns() failed with error %d", int(errno))
	}
	return fmt.Sprintf("setns() failed with error %v", e.Err)
}

func (e *EnterError) Unwrap() error { return e.Err }

// Enter moves the calling thread into network namespace name. The caller
// has locked its goroutine to the thread and execs once it has entered
// every namespace; nothing else of the process moves. keepalived does
// not create a namespace that does not exist, and neither does Enter.
func Enter(name string) error {
	path := Path(name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &EnterError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return &EnterError{Op: "setns", Path: path, Err: err}
	}
	return nil
}

// CreatePidDir makes PidDir, as keepalived does when use_pid_dir is in
// force. It reports whether the directory is there.
func CreatePidDir(log logrus.FieldLogger) bool {
	if err := mkdir(PidDir); err != nil {
		log.Infof("Unable to create directory %s", PidDir)
		return false
	}
	return true
}

// RemovePidDir removes PidDir at exit if nothing else is in it.
func RemovePidDir(log logrus.FieldLogger) {
	rmdir(log, PidDir)
}

// MountPidDir gives the calling thread a mount namespace of its own in
// which PidDir/name is mounted on PidDir, as keepalived's set_run_mount
// does. keepalived logs each failure and runs on, and so does
// MountPidDir; it reports whether the mount is in place.
func MountPidDir(log logrus.FieldLogger, name string) bool {
	dir := filepath.Join(PidDir, name)
	if err := mkdir(dir); err != nil {
		log.Infof("Unable to create directory %s", dir)
		return false
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		log.Infof("mount unshare failed (%d) '%s'", errnoOf(err), err)
		return false
	}
	// systemd makes every mount shared; without this the bind mount
	// would show in the host's mount namespace too.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		log.Infof("Mount slave failed, error (%d) '%s'", errnoOf(err), err)
	}
	if err := unix.Mount(dir, PidDir, "", unix.MS_BIND, ""); err != nil {
		log.Infof("Mount failed, error (%d) '%s'", errnoOf(err), err)
	}
	return true
}

// UnmountPidDir undoes MountPidDir at exit, in the mount namespace it
// made: PidDir is unmounted and PidDir/name removed if it is empty.
func UnmountPidDir(log logrus.FieldLogger, name string) {
	if err := unix.Unmount(PidDir, 0); err != nil {
		log.Infof("unmount of %s failed - errno %d", PidDir, errnoOf(err))
	}
	rmdir(log, filepath.Join(PidDir, name))
}

func mkdir(dir string) error {
	err := os.Mkdir(dir, pidDirMode)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask must not narrow the mode: other users read pid files.
	return os.Chmod(dir, pidDirMode)
}

// rmdir removes a directory keepalived's way: one still holding files or
// still mounted is left without a word.
func rmdir(log logrus.FieldLogger, dir string) {
	err := unix.Rmdir(dir)
	if err == nil || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOENT) {
		return
	}
	log.Infof("unlink of %s failed - error (%d) '%s'", dir, errnoOf(err), err)
}

func errnoOf(err error) int {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return 0
}
