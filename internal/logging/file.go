package logging

import (
	"fmt"
	"os"
	"sync"
)

// reopenFile appends to a named file that can be reopened under the same
// name while the logger keeps writing.
type reopenFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openReopenFile(path string) (*reopenFile, error) {
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	return &reopenFile{path: path, f: f}, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, nil
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
	f, err := openLogFile(r.path)
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
