package logging

import (
	"fmt"
	"os"
	"sync"

	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// reopenFile appends to a named file that can be reopened under the same
// name while the logger keeps writing.
type reopenFile struct {
	path string
	mu   sync.Mutex
	mode os.FileMode
	f    *os.File
}

func openReopenFile(path string, mode os.FileMode) (*reopenFile, error) {
	f, err := openLogFile(path, mode)
	if err != nil {
		return nil, err
	}
	return &reopenFile{path: path, mode: mode, f: f}, nil
}

// openLogFile opens the log file as keepalived's open_log_file does, with
// fopen_safe(name, "a"): never through a symlink, mode 0666 less the umask.
func openLogFile(path string, mode os.FileMode) (*os.File, error) {
	f, err := safefile.OpenAppend(path, mode)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, nil
}

// setMode changes the open file's mode and that of files reopened later,
// as keepalived's update_log_file_perms does when the umask changes.
func (r *reopenFile) setMode(mode os.FileMode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = mode
	if r.f == nil {
		return nil
	}
	if err := r.f.Chmod(mode); err != nil {
		return fmt.Errorf("changing the mode of log file %s: %w", r.path, err)
	}
	return nil
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, fmt.Errorf("writing log file %s: %w", r.path, os.ErrClosed)
	}
	return r.f.Write(p)
}

// reopen switches to a new file by the same name. When that fails the old
// file stays in use, so no line is lost.
func (r *reopenFile) reopen() error {
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	f, err := openLogFile(r.path, mode)
	if err != nil {
		return fmt.Errorf("reopening log file: %w", err)
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
