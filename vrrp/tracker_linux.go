package vrrp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// start initialises the file if asked to, reads it, and watches its
// directory for it being written, moved or deleted, reporting each new
// value from a goroutine counted by wg, until close.
func (t *fileTracker) start(wg *sync.WaitGroup, g *guard, report func(value int)) error {
	log := g.log
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watching track file %s: %w", t.file.Name, err)
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(t.path), unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE); err != nil {
		unix.Close(fd)
		return fmt.Errorf("watching track file %s: %w", t.file.Name, err)
	}
	// Non-blocking, so that the runtime poller serves it and Close
	// interrupts a read.
	t.f = os.NewFile(uintptr(fd), "inotify")
	t.value = readTrackFile(t.path)
	base := filepath.Base(t.path)
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := t.f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					log.Errorf("reading inotify events for track file %s: %v", t.file.Name, err)
				}
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if ev.Mask&unix.IN_ISDIR != 0 || string(bytes.TrimRight(name, "\x00")) != base {
					continue
				}
				g.run("track file "+t.file.Name, func() {
					if ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
						// Gone: as though it held 0.
						report(0)
					} else {
						report(readTrackFile(t.path))
					}
				})
			}
		}
	}()
	return nil
}
