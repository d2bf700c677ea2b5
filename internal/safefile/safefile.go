// Package safefile opens the files the daemon writes as keepalived's
// fopen_safe (lib/utils.c) does since its CVE-2018-19044 fix: a symlink
// planted at the name is never followed, and a file another user created
// there, or holds open, never receives what the daemon writes.
//
// A file written whole is created under a temporary name in the same
// directory with O_EXCL|O_NOFOLLOW, given its mode, and renamed over the
// name; a reader sees the old file or the new one. A file appended to,
// such as the -g log file, is opened with O_NOFOLLOW|O_APPEND; one that is
// not a regular file owned by the daemon is replaced as a written file is.
package safefile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultUmask is keepalived's umask (lib/utils.c umask_val): files it
// writes are 0600 unless -u or the umask keyword says otherwise.
const DefaultUmask = 0o177

// Mode is the mode keepalived gives a file it writes under umask:
// rw-rw-rw- less the umask's bits.
func Mode(umask int) os.FileMode {
	return os.FileMode(0o666 &^ umask)
}

// A File is a file being written. For a file written whole, Close renames
// it over its name; until then the name keeps its old content.
type File struct {
	*os.File
	name string // the name it gets on Close; "" once there
}

// Create opens a new file to replace name with, of the given mode whatever
// the umask. Close puts it in place; Abort discards it.
func Create(name string, mode os.FileMode) (*File, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, fmt.Errorf("creating %s: %w", name, err)
		}
		tmp := filepath.Join(dir, "."+base+"."+hex.EncodeToString(r[:]))
		fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", name, &os.PathError{Op: "open", Path: tmp, Err: err})
		}
		f := os.NewFile(uintptr(fd), tmp)
		// fchmod sets the mode exactly, where open's mode is masked.
		if err := f.Chmod(mode); err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, fmt.Errorf("creating %s: %w", name, err)
		}
		return &File{File: f, name: name}, nil
	}
	return nil, fmt.Errorf("creating %s: no free temporary name", name)
}

// Close closes the file and, for a file written whole, renames it over
// its name. When either fails the name keeps its old content.
func (f *File) Close() error {
	tmp := f.File.Name()
	err := f.File.Close()
	if f.name == "" {
		return err
	}
	name := f.name
	f.name = ""
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// Abort closes a file written whole and removes it; its name keeps the
// old content.
func (f *File) Abort() {
	tmp := f.File.Name()
	f.File.Close()
	if f.name != "" {
		os.Remove(tmp)
		f.name = ""
	}
}

// WriteFile replaces name with what write produces, of the given mode.
func WriteFile(name string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := Create(name, mode)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Close()
}

// OpenAppend opens name for appending, as keepalived's fopen_safe(name,
// "a"): O_NOFOLLOW|O_CREAT|O_APPEND, then the mode set with fchmod. A
// name that is a symlink, or a file that is not regular or that another
// user owns, is replaced by a new empty file instead: it is not the
// daemon's to write into. The returned file is in place at once; its
// Close only closes it.
func OpenAppend(name string, mode os.FileMode) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	switch {
	case err == nil:
		f := os.NewFile(uintptr(fd), name)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			f.Close()
			return nil, fmt.Errorf("opening %s: %w", name, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && int(st.Uid) == os.Geteuid() {
			if err := f.Chmod(mode); err != nil {
				f.Close()
				return nil, fmt.Errorf("opening %s: %w", name, err)
			}
			return f, nil
		}
		f.Close()
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENXIO):
		// A symlink, or a FIFO with no reader: replaced below.
	default:
		return nil, fmt.Errorf("opening %s: %w", name, &os.PathError{Op: "open", Path: name, Err: err})
	}
	nf, err := Create(name, mode)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(nf.File.Name(), name); err != nil {
		nf.Abort()
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	return nf.File, nil
}
