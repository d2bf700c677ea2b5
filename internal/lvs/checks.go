package lvs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/check/pcre"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/notify"
)

// ErrUnsupportedChecker reports a checker kind this package cannot run.
var ErrUnsupportedChecker = errors.New("checker kind not supported")

// errNoTrackFile is a FILE_CHECK naming no track_file block.
var errNoTrackFile = errors.New("track_file not defined")

// A CheckEnv is what building checkers needs beyond the checker blocks:
// the top-level blocks they refer to and the default script user.
type CheckEnv struct {
	// SSL is the configuration's SSL block, used by SSL_GET; nil means
	// none.
	SSL *config.SSL
	// TrackFiles are the track_file blocks FILE_CHECK names.
	TrackFiles []config.TrackFile
	// ScriptUser runs MISC_CHECK scripts that name no user; nil runs them
	// as this process.
	ScriptUser *notify.Credential
	// ScriptSecurity is enable_script_security: MISC_CHECK scripts a
	// non-root user could change are refused.
	ScriptSecurity bool
	// LogAllFailures is global_defs' checker_log_all_failures.
	LogAllFailures bool
	// BFDUp tells BFD_CHECK whether a BFD session is Up; nil: none is.
	BFDUp func(name string) bool
}

// checkEnv returns the CheckEnv of a configuration.
func checkEnv(cfg *config.Config, scriptUser *notify.Credential, bfdUp func(string) bool) CheckEnv {
	return CheckEnv{SSL: cfg.SSL, TrackFiles: cfg.TrackFiles, ScriptUser: scriptUser, ScriptSecurity: cfg.Global.EnableScriptSecurity,
		LogAllFailures: cfg.Global.CheckerLogAllFailures, BFDUp: bfdUp}
}

// CheckServer returns the check.Server that checks rs of vs under the name
// given. A real server without checkers yields a Server without checks,
// which the scheduler reports up, as keepalived keeps such a server in
// its pool.
//
// A checker that cannot be built (a regex RE2 does not take, an
// unreadable SSL certificate, ...) is replaced by one that starts down
// and fails every attempt, and reported as a CheckerError, so that the
// server is never up on the strength of the checkers that remain, or of
// none.
// A MISC_CHECK that script security refused and a FILE_CHECK without its
// track_file are left out, as keepalived drops them. The error joins
// every such failure.
func CheckServer(name string, vs *config.VirtualServer, rs *config.RealServer, env CheckEnv) (check.Server, error) {
	srv := check.Server{Name: name, Weight: rs.Weight}
	var errs []error
	for i := range rs.Checkers {
		c := &rs.Checkers[i]
		t := timing(c)
		ck, err := env.checker(c)
		var refused *ScriptRefusedError
		switch {
		case err == nil:
		case errors.As(err, &refused), errors.Is(err, errNoTrackFile):
			// keepalived drops these checkers, and keeps the real
			// server as if they had never been written.
			errs = append(errs, fmt.Errorf("building %s of real server %s of VS %s: %w", c.Type, rs.Name(vs), vs.Name(), err))
			continue
		default:
			err = &CheckerError{Pos: c.Pos, Type: c.Type, RealServer: rs.Name(vs), VirtualServer: vs.Name(), Err: err}
			errs = append(errs, err)
			ck, t.Alpha = failing{err}, true
		}
		srv.Checks = append(srv.Checks, check.Check{Name: c.Type, Checker: ck, Timing: t, LogAllFailures: c.LogAllFailures || env.LogAllFailures})
	}
	return srv, errors.Join(errs...)
}

// A CheckerError reports a checker block that cannot be run, with its
// position in the configuration.
type CheckerError struct {
	Pos           config.Pos
	Type          string // the checker's keyword, such as BFD_CHECK
	RealServer    string
	VirtualServer string
	Err           error
}

func (e *CheckerError) Error() string {
	return fmt.Sprintf("%s: %s of real server %s of VS %s cannot run, the real server stays down: %v",
		e.Pos, e.Type, e.RealServer, e.VirtualServer, e.Err)
}

func (e *CheckerError) Unwrap() error { return e.Err }

// failing stands in for a checker that cannot run.
type failing struct{ err error }

func (f failing) Check(context.Context) error { return f.err }

// timing maps a checker block's resolved timing keywords.
func timing(c *config.Checker) check.Timing {
	t := check.Timing{
		DelayLoop:        c.Timing.DelayLoop,
		Timeout:          c.Timing.ConnectTimeout,
		Retry:            c.Timing.Retry,
		DelayBeforeRetry: c.Timing.DelayBeforeRetry,
		Warmup:           c.Timing.Warmup,
		Alpha:            c.Timing.Alpha,
	}
	if c.Type == config.BFDCheck {
		// keepalived's BFD checker takes each state the BFD process
		// sends, at once and with no retry; here its state is read
		// every BFDPollInterval. Only alpha is its own.
		return check.Timing{DelayLoop: check.BFDPollInterval, Timeout: check.BFDPollInterval, Alpha: c.Timing.Alpha}
	}
	if c.Type == config.MiscCheck {
		// A script is bounded by misc_timeout, which defaults to
		// delay_loop, never by connect_timeout.
		t.Timeout = c.Timing.DelayLoop
		if c.Misc.Timeout > 0 {
			t.Timeout = c.Misc.Timeout
		}
	}
	return t
}

func dialer(c *config.Checker) check.Dialer {
	return check.Dialer{
		Addr:     netip.AddrPortFrom(c.ConnectIP, c.ConnectPort),
		BindTo:   c.BindTo,
		BindPort: c.BindPort,
		BindIf:   c.BindIf,
		FWMark:   c.FWMark,
	}
}

func (env CheckEnv) checker(c *config.Checker) (check.Checker, error) {
	switch c.Type {
	case config.TCPCheck:
		return &check.TCPCheck{Dialer: dialer(c)}, nil
	case config.HTTPGet, config.SSLGet:
		return env.httpGet(c)
	case config.SMTPCheck:
		return &check.SMTPCheck{Dialer: dialer(c), HeloName: c.SMTP.HeloName}, nil
	case config.DNSCheck:
		t, err := check.ParseDNSType(c.DNS.Type)
		if err != nil {
			return nil, err
		}
		return &check.DNSCheck{Dialer: dialer(c), Type: t, Name: c.DNS.Name}, nil
	case config.UDPCheck:
		u := c.UDP
		return &check.UDPCheck{
			Dialer:         dialer(c),
			Payload:        u.Payload,
			RequireReply:   u.RequireReply,
			Reply:          u.Reply,
			ReplyMask:      u.ReplyMask,
			MinReplyLength: u.MinReplyLength,
			MaxReplyLength: u.MaxReplyLength,
		}, nil
	case config.PingCheck:
		return &check.PingCheck{Dialer: dialer(c)}, nil
	case config.MiscCheck:
		return env.miscCheck(c)
	case config.BFDCheck:
		return &check.BFDCheck{Name: c.BFD.Name, Up: env.BFDUp}, nil
	case config.FileCheck:
		for _, tf := range env.TrackFiles {
			if tf.Name == c.File.TrackFile {
				return &check.FileCheck{Path: tf.File, Weight: c.File.Weight, Reverse: c.File.Reverse, Dynamic: c.File.Weight != 0}, nil
			}
		}
		return nil, fmt.Errorf("%w: %s", errNoTrackFile, c.File.TrackFile)
	}
	return nil, fmt.Errorf("%w: gokeepalived does not implement %s", ErrUnsupportedChecker, c.Type)
}

func (env CheckEnv) httpGet(c *config.Checker) (check.Checker, error) {
	var proto check.HTTPProtocol
	switch c.HTTP.Protocol {
	case config.HTTP10:
		proto = check.HTTP10
	case config.HTTP10C:
		proto = check.HTTP10C
	case config.HTTP11:
		proto = check.HTTP11
	default:
		panic("lvs: unknown config.HTTPProtocol " + c.HTTP.Protocol.String())
	}
	h := &check.HTTPGet{
		Dialer:      dialer(c),
		TLS:         c.Type == config.SSLGet,
		EnableSNI:   c.HTTP.EnableSNI,
		VirtualHost: c.HTTP.Virtualhost,
		Protocol:    proto,
		// fast_recovery: checked by the Scheduler, which steps through
		// the urls as keepalived does.
		FastRecovery: c.HTTP.FastRecovery,
	}
	for _, u := range c.HTTP.URLs {
		cu := check.URL{Path: u.Path, Digest: u.Digest, VirtualHost: u.Virtualhost, RegexNoMatch: u.RegexNoMatch,
			RegexMinOffset: u.RegexMinOffset, RegexMaxOffset: u.RegexMaxOffset}
		for _, r := range u.StatusCodes {
			cu.StatusCodes = append(cu.StatusCodes, check.StatusRange{Min: r.Lo, Max: r.Hi})
		}
		if u.Regex != "" {
			// A pattern the engine refuses was reported with the
			// configuration; the url then never matches, as in
			// keepalived, rather than the checker being left out.
			var err error
			if cu.Regex, err = config.CompileRegex(u.Regex, u.RegexOptions, u.RegexStack[1]); err != nil {
				cu.Regex = pcre.Never(u.Regex)
			}
		}
		h.URLs = append(h.URLs, cu)
	}
	if h.TLS && env.SSL != nil {
		if env.SSL.CA != "" {
			pem, err := os.ReadFile(env.SSL.CA)
			if err != nil {
				return nil, fmt.Errorf("reading SSL ca: %w", err)
			}
			h.CA = x509.NewCertPool()
			if !h.CA.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("SSL ca %s holds no PEM certificate", env.SSL.CA)
			}
		}
		if env.SSL.Certificate != "" {
			key := env.SSL.Key
			if key == "" {
				key = env.SSL.Certificate
			}
			cert, err := check.LoadKeyPair(env.SSL.Certificate, key, env.SSL.Password)
			if err != nil {
				return nil, fmt.Errorf("loading SSL certificate: %w", err)
			}
			h.Certificates = []tls.Certificate{cert}
		}
	}
	return h, nil
}

func (env CheckEnv) miscCheck(c *config.Checker) (check.Checker, error) {
	args, err := notify.SplitWords(c.Misc.Path)
	if err != nil {
		return nil, fmt.Errorf("parsing misc_path %q: %w", c.Misc.Path, err)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("misc_path %q names no program", c.Misc.Path)
	}
	cred := env.ScriptUser
	if c.Misc.User != "" {
		cr, err := notify.LookupCredential(c.Misc.User, c.Misc.Group)
		if err != nil {
			return nil, err
		}
		cred = &cr
	}
	if err := env.secureMisc(args, cred); err != nil {
		return nil, err
	}
	m := &check.MiscCheck{Args: args, Dynamic: c.Misc.Dynamic}
	// Switching to the user this process already runs as would only drop
	// its supplementary groups.
	if cred != nil && (int(cred.UID) != os.Geteuid() || int(cred.GID) != os.Getegid()) {
		m.Credential = &syscall.Credential{Uid: cred.UID, Gid: cred.GID}
	}
	return m, nil
}

// secureMisc applies script security to a MISC_CHECK script as keepalived's
// check_misc_script_security (check/check_misc.c) does. It may resolve
// args[0] to the script's path. A refused script's error holds
// keepalived's messages about it, the last being "Disabling misc script
// ... due to insecure" or "... since not found/accessible".
func (env CheckEnv) secureMisc(args []string, cred *notify.Credential) error {
	s := &notify.Script{Args: args}
	if cred != nil {
		s.Cred = *cred
	} else {
		s.Cred = notify.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	}
	var msgs messages
	log := logrus.New()
	log.Out = &msgs
	log.Formatter = messageOnly{}
	sec := notify.Security{Enabled: env.ScriptSecurity, Log: log}
	// keepalived names the script by its cmd_str: each word quoted.
	cmd := dump.QuoteArgs(args)
	switch sec.Verdict(s) {
	case notify.Allowed:
		args[0] = s.Args[0]
		return nil
	case notify.Inhibited:
		msgs = append(msgs, fmt.Sprintf("Disabling misc script %s due to insecure", cmd))
	case notify.NotFound:
		msgs = append(msgs, fmt.Sprintf("Disabling misc script %s since not found/accessible", cmd))
	}
	return &ScriptRefusedError{Messages: msgs}
}

// A ScriptRefusedError is a script that script security refused, with
// keepalived's messages about it, each a log line of its own.
type ScriptRefusedError struct {
	Messages []string
}

func (e *ScriptRefusedError) Error() string { return strings.Join(e.Messages, "; ") }

// messages collects log lines, one per Write.
type messages []string

func (m *messages) Write(p []byte) (int, error) {
	*m = append(*m, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// messageOnly formats a log entry as its message alone.
type messageOnly struct{}

func (messageOnly) Format(e *logrus.Entry) ([]byte, error) { return []byte(e.Message + "\n"), nil }
