// Package logging builds the daemon's logger the way keepalived logs: every
// message goes to syslog through the local socket (RFC 3164 framing as the C
// library writes it, with keepalived's idents) and, when asked, to the
// console and to a log file as "<ctime>: <message>" lines.
//
// Messages carry their full text, exactly as keepalived words them;
// operators' grep patterns and log alerts depend on that wording, so the
// formatters drop logrus fields and never add level names or quoting.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// The syslog idents keepalived 2.2 uses: the parent process logs as
// Keepalived, its VRRP, health-checker and BFD children under their own
// names.
const (
	IdentParent   = "Keepalived"
	IdentVRRP     = "Keepalived_vrrp"
	IdentCheckers = "Keepalived_healthcheckers"
	IdentBFD      = "Keepalived_bfd"
)

// identField is the entry field that selects the syslog ident.
const identField = "syslog_ident"

// WithIdent returns an entry whose messages go to syslog under ident, as a
// keepalived child process's would.
func WithIdent(l logrus.FieldLogger, ident string) *logrus.Entry {
	return l.WithField(identField, ident)
}

// Options are keepalived's logging flags.
type Options struct {
	// Console (-l) copies every message to the console (Stderr).
	// keepalived honours it only in the foreground (-n): a forked
	// daemon has no console.
	Console bool
	// Detail (-D) enables debug-level messages.
	Detail bool
	// Facility (-S) is the syslog facility, from ParseFacility. Zero
	// means LOG_DAEMON, keepalived's default; like keepalived, the
	// logger cannot use LOG_KERN.
	Facility syslog.Priority
	// File (-g) appends every message to this file as well.
	File string
	// FileMode is the mode of the file; 0600, keepalived's under its
	// default umask, when zero.
	FileMode os.FileMode
	// NoSyslog (-G) turns syslog off.
	NoSyslog bool
	// Ident is the syslog ident of messages logged without WithIdent;
	// IdentParent when empty.
	Ident string
	// SyslogSocket is the path of the syslog daemon's datagram socket;
	// empty means the system's (/dev/log).
	SyslogSocket string
	// Stderr is the console; os.Stderr when nil.
	Stderr io.Writer
}

// Sinks holds the files and sockets a logger writes to.
type Sinks struct {
	file   *reopenFile
	syslog *syslogHook
}

// New returns a logger that writes as opts ask, and the sinks to reopen
// and close with it.
func New(opts Options) (*logrus.Logger, *Sinks, error) {
	if opts.Facility&^facilityMask != 0 {
		return nil, nil, fmt.Errorf("syslog facility %d: not a facility", opts.Facility)
	}
	s := &Sinks{}
	var outs []io.Writer
	if opts.Console {
		stderr := opts.Stderr
		if stderr == nil {
			stderr = os.Stderr
		}
		outs = append(outs, stderr)
	}
	if opts.File != "" {
		mode := opts.FileMode
		if mode == 0 {
			mode = safefile.Mode(safefile.DefaultUmask)
		}
		f, err := openReopenFile(opts.File, mode)
		if err != nil {
			return nil, nil, err
		}
		s.file = f
		outs = append(outs, f)
	}

	l := logrus.New()
	l.SetFormatter(Formatter{})
	l.SetLevel(logrus.InfoLevel)
	if opts.Detail {
		l.SetLevel(logrus.DebugLevel)
	}
	switch len(outs) {
	case 0:
		l.SetOutput(io.Discard)
	case 1:
		l.SetOutput(outs[0])
	default:
		l.SetOutput(io.MultiWriter(outs...))
	}
	if !opts.NoSyslog {
		ident := opts.Ident
		if ident == "" {
			ident = IdentParent
		}
		facility := opts.Facility
		if facility == 0 {
			facility = syslog.LOG_DAEMON
		}
		s.syslog = newSyslogHook(opts.SyslogSocket, facility, ident)
		l.AddHook(s.syslog)
	}
	return l, s, nil
}

// Reopen reopens the log file by name, so that lines logged after it go to
// a fresh file once logrotate has moved the old one away.
func (s *Sinks) Reopen() error {
	if s.file == nil {
		return nil
	}
	return s.file.reopen()
}

// SetFileMode changes the mode of the log file, now and when reopened, as
// keepalived does when -u or the umask keyword change its umask.
func (s *Sinks) SetFileMode(mode os.FileMode) error {
	if s.file == nil {
		return nil
	}
	return s.file.setMode(mode)
}

// Close closes the log file and the syslog connections.
func (s *Sinks) Close() error {
	var errs []error
	if s.file != nil {
		errs = append(errs, s.file.Close())
	}
	if s.syslog != nil {
		errs = append(errs, s.syslog.Close())
	}
	return errors.Join(errs...)
}
