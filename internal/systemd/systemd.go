// Package systemd tells the service manager about the daemon's life cycle
// with the sd_notify protocol (sd_notify(3)): one datagram of
// newline-separated VARIABLE=value assignments per call, sent to the
// AF_UNIX socket named by $NOTIFY_SOCKET. It is what a unit with
// Type=notify and WatchdogSec= expects.
//
// When the daemon was not started by systemd ($NOTIFY_SOCKET unset) every
// method does nothing and returns nil.
package systemd

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A Notifier sends state changes to the service manager.
type Notifier struct {
	socket   string        // $NOTIFY_SOCKET; empty when not under systemd
	watchdog time.Duration // from $WATCHDOG_USEC; zero when disabled
	pid      int

	// newTicker stands in for time.NewTicker in tests.
	newTicker func(d time.Duration) (<-chan time.Time, func())
}

// FromEnvironment returns a Notifier for the socket and watchdog interval
// systemd passed in the environment.
func FromEnvironment() *Notifier {
	return newNotifier(os.Getenv, os.Getpid())
}

func newNotifier(getenv func(string) string, pid int) *Notifier {
	n := &Notifier{
		socket: getenv("NOTIFY_SOCKET"),
		pid:    pid,
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
	n.watchdog = watchdogInterval(getenv, pid)
	return n
}

// watchdogInterval follows sd_watchdog_enabled(3): the interval applies
// only to the process WATCHDOG_PID names, when it names one, because a
// child that inherited the environment must not ping in the daemon's stead.
func watchdogInterval(getenv func(string) string, pid int) time.Duration {
	usec, err := strconv.ParseUint(getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0
	}
	if p := getenv("WATCHDOG_PID"); p != "" {
		if wp, err := strconv.Atoi(p); err != nil || wp != pid {
			return 0
		}
	}
	return time.Duration(usec) * time.Microsecond
}

// Enabled reports whether the daemon runs under a service manager that
// listens to notifications.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// WatchdogInterval returns the WatchdogSec= of the unit, or zero when the
// watchdog is off or is meant for another process.
func (n *Notifier) WatchdogInterval() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

// Notify sends the assignments, such as "READY=1", in one datagram.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() || len(assignments) == 0 {
		return nil
	}
	msg := strings.Join(assignments, "\n")
	// The socket is a path or, with a leading '@', a name in the abstract
	// namespace; the net package maps '@' to the abstract namespace.
	if n.socket[0] != '/' && n.socket[0] != '@' {
		return fmt.Errorf("notifying systemd of %q: unsupported NOTIFY_SOCKET %q", msg, n.socket)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notifying systemd of %q: %w", msg, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("notifying systemd of %q: %w", msg, err)
	}
	return nil
}

// Ready tells systemd that start-up is complete.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Reloading tells systemd that the daemon is reloading its configuration;
// call Ready when it is done. systemd 253 and later match the reload to
// the SIGHUP they sent by the CLOCK_MONOTONIC time stamp.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("notifying systemd of reload: reading CLOCK_MONOTONIC: %w", err)
	}
	usec := uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
	return n.Notify("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatUint(usec, 10))
}

// Stopping tells systemd that the daemon is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sets the one-line status that systemctl status shows.
func (n *Notifier) Status(status string) error {
	// A newline would start another assignment.
	status = strings.ReplaceAll(status, "\n", " ")
	return n.Notify("STATUS=" + status)
}

// Watchdog pings systemd's watchdog at half the unit's WatchdogSec=, the
// rate sd_watchdog_enabled(3) advises, until ctx is done, and then returns
// the context's error. It returns nil at once when the watchdog is off.
//
// Before each ping it asks healthy, if not nil: while healthy returns an
// error, no ping is sent, so that systemd restarts a daemon that has
// stopped doing its job although its process lives on. Pings resume when
// healthy returns nil again.
//
// A ping that cannot be sent, say while systemd re-executes itself, is
// tried again at the next tick; if pings stay away, systemd restarts the
// daemon, which is what the watchdog is for.
func (n *Notifier) Watchdog(ctx context.Context, healthy func() error) error {
	interval := n.WatchdogInterval()
	if interval == 0 {
		return nil
	}
	tick, stop := n.newTicker(interval / 2)
	defer stop()
	for {
		if healthy == nil || healthy() == nil {
			n.Notify("WATCHDOG=1")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
		}
	}
}
