// Package notifyhub owns the daemon's global notification outputs: the
// runner of notify scripts, the notify FIFOs of global_defs (notify_fifo,
// vrrp_notify_fifo, lvs_notify_fifo and their reader scripts) and the
// smtp_alert mailer. The VRRP and checker loops report through it; a
// reload replaces what global_defs changed, so a new FIFO, SMTP server or
// recipient takes effect without a restart, while running scripts, FIFOs
// that stay and their readers are kept.
package notifyhub

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
)

// closeTimeout bounds how long closing waits for running scripts and
// queued mails.
const closeTimeout = 5 * time.Second

// A Hub is the set of outputs of one global_defs. Its methods are safe for
// concurrent use.
type Hub struct {
	log    logrus.FieldLogger
	runner *notify.Runner

	cur atomic.Pointer[outputs]

	mu    sync.Mutex // serialises Reload and Close
	fifos map[fifoKey]*notify.FIFO
}

// outputs is what one configuration reports to; it is replaced whole.
type outputs struct {
	notifier   *notify.Notifier
	mailer     *notify.Mailer // nil without smtp_server or notification_email
	mailerConf mailerConf
	user       *notify.Credential // nil: no default script user
}

// fifoKey identifies an open FIFO: one with the same path, owner and
// reader script is kept across a reload.
type fifoKey struct {
	path, user, group string
	script            string
}

// mailerConf is what makes two mailers the same.
type mailerConf struct {
	server, helo, from, to, routerID string
	timeout                          time.Duration
}

// New opens the outputs g names and starts the FIFOs' reader scripts, as
// keepalived does at start-up.
func New(g *config.Global, log logrus.FieldLogger) (*Hub, error) {
	h := &Hub{
		log:    log,
		runner: notify.NewRunner(log, notify.RunnerConfig{}),
		fifos:  make(map[fifoKey]*notify.FIFO),
	}
	if err := h.Reload(g); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Notifier is the notifier of the current configuration.
func (h *Hub) Notifier() *notify.Notifier { return h.cur.Load().notifier }

// ScriptsDropped returns the number of script runs dropped because their
// source's queue was full.
func (h *Hub) ScriptsDropped() uint64 { return h.runner.Dropped() }

// Mailer is the smtp_alert mailer of the current configuration, or nil
// when it sends no mail.
func (h *Hub) Mailer() *notify.Mailer { return h.cur.Load().mailer }

// ScriptUser is the user scripts run as when they name none: script_user,
// or keepalived's default; nil when there is none, as with
// enable_script_security and no keepalived_script user: scripts that
// name no user are then ignored.
func (h *Hub) ScriptUser() *notify.Credential {
	if u := h.cur.Load().user; u != nil {
		c := *u
		return &c
	}
	return nil
}

// Reload switches to the outputs of g. FIFOs and a mailer whose settings
// did not change are kept; the others are closed once nothing reports to
// them. On error nothing changes.
func (h *Hub) Reload(g *config.Global) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	// keepalived resolves the default script user only when a script
	// needs it, so a missing one is no error by itself: the scripts and
	// FIFOs that need it are ignored, each with keepalived's message.
	var user *notify.Credential
	if c, err := notify.DefaultUser(g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity); err != nil {
		if g.ScriptUser != "" {
			h.log.Errorf("%v", err)
			h.log.Error("Error setting global script uid/gid")
		} else if needsDefaultUser(g) {
			h.log.Errorf("Unable to set default user %s for script", notify.DefaultScriptUser)
		}
	} else {
		user = &c
	}
	next := &outputs{user: user}
	n := &notify.Notifier{Runner: h.runner, Log: h.log}
	opened := make(map[fifoKey]*notify.FIFO)
	var fresh []*notify.FIFO
	for _, f := range []struct {
		cfg    config.FIFO
		dest   **notify.FIFO
		prefix string // keepalived's name for the kind in messages
	}{
		{g.NotifyFIFO, &n.Global, ""},
		{g.VRRPNotifyFIFO, &n.VRRP, "vrrp_"},
		{g.LVSNotifyFIFO, &n.LVS, "lvs_"},
	} {
		if f.cfg.Path == "" {
			continue
		}
		k := fifoKey{path: f.cfg.Path, user: f.cfg.User, group: f.cfg.Group}
		if s := f.cfg.Script; s != nil {
			k.script = s.Cmd + "\x00" + s.User + "\x00" + s.Group
		}
		if fifo := opened[k]; fifo != nil {
			*f.dest = fifo
			continue
		}
		if fifo := h.fifos[k]; fifo != nil {
			opened[k], *f.dest = fifo, fifo
			continue
		}
		if f.cfg.User == "" && user == nil {
			h.log.Infof("Failed to set default user for %s fifo %s - ignoring", f.prefix, f.cfg.Path)
			continue
		}
		fifo, err := h.openFIFO(f.cfg, user)
		if err != nil {
			for _, f := range fresh {
				f.Close()
			}
			return err
		}
		fresh = append(fresh, fifo)
		opened[k], *f.dest = fifo, fifo
	}
	next.notifier = n

	next.mailerConf, next.mailer = h.mailer(g)
	prev := h.cur.Load()
	if prev != nil && prev.mailer != nil && prev.mailerConf == next.mailerConf {
		next.mailer = prev.mailer
	}
	h.cur.Store(next)

	// What the new configuration no longer reports to goes now that
	// nothing new reaches it; the scripts of the FIFOs just opened start.
	for k, fifo := range h.fifos {
		if opened[k] != fifo {
			fifo.Close()
		}
	}
	h.fifos = opened
	for k, fifo := range opened {
		if slices.Contains(fresh, fifo) {
			h.startReader(g, k, fifo, user)
		}
	}
	if prev != nil && prev.mailer != nil && prev.mailer != next.mailer {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			prev.mailer.Close(ctx)
		}()
	}
	return nil
}

// openFIFO opens one notify FIFO, owned by its configured user or the
// script user.
func (h *Hub) openFIFO(c config.FIFO, user *notify.Credential) (*notify.FIFO, error) {
	if c.User == "" {
		return notify.OpenFIFO(c.Path, *user)
	}
	owner, err := notify.LookupCredential(c.User, c.Group)
	if err != nil {
		return nil, fmt.Errorf("notify FIFO %s: %w", c.Path, err)
	}
	return notify.OpenFIFO(c.Path, owner)
}

// needsDefaultUser reports whether a FIFO or a FIFO's script of g names
// no user, and so runs as the default script user.
func needsDefaultUser(g *config.Global) bool {
	for _, f := range []config.FIFO{g.NotifyFIFO, g.VRRPNotifyFIFO, g.LVSNotifyFIFO} {
		if f.Path != "" && f.User == "" || f.Script != nil && f.Script.User == "" {
			return true
		}
	}
	return false
}

// FIFOScript builds the reader script of a notify FIFO, running as def
// when it names no user. It is nil when there is none or it cannot be
// built; the error says why, in keepalived's words.
func FIFOScript(f config.FIFO, def *notify.Credential) (*notify.Script, error) {
	if f.Path == "" || f.Script == nil {
		return nil, nil
	}
	s := f.Script
	return notify.NewScript("notify_fifo", s.Cmd, s.User, s.Group, def)
}

// startReader starts the script that reads a FIFO just opened, unless
// script security refuses it, as keepalived's check_notify_script_secure
// does for notify_fifo_script and its VRRP and LVS kinds.
func (h *Hub) startReader(g *config.Global, k fifoKey, fifo *notify.FIFO, user *notify.Credential) {
	for _, c := range []config.FIFO{g.NotifyFIFO, g.VRRPNotifyFIFO, g.LVSNotifyFIFO} {
		if c.Path != k.path || c.Script == nil {
			continue
		}
		script, err := FIFOScript(c, user)
		if err != nil {
			h.log.Errorf("notify FIFO script %s: %v", c.Script.Cmd, err)
			return
		}
		sec := notify.Security{Enabled: g.EnableScriptSecurity, Log: h.log}
		if !sec.Check(script) {
			return
		}
		if err := h.runner.StartFIFOScript(script, fifo.Name()); err != nil {
			h.log.Errorf("starting notify FIFO script %s: %v", c.Script.Cmd, err)
		}
		return
	}
}

// mailer builds the smtp_alert mailer of g, or nil when g sends no mail.
func (h *Hub) mailer(g *config.Global) (mailerConf, *notify.Mailer) {
	if g.SMTPServer == "" || len(g.NotificationEmail) == 0 {
		return mailerConf{}, nil
	}
	server := g.SMTPServer
	if g.SMTPPort != 0 && g.SMTPPort != notify.DefaultSMTPPort {
		server = net.JoinHostPort(g.SMTPServer, strconv.Itoa(int(g.SMTPPort)))
	}
	c := mailerConf{
		server:   server,
		helo:     g.SMTPHeloName,
		from:     g.NotificationEmailFrom,
		to:       fmt.Sprintf("%q", g.NotificationEmail),
		routerID: g.RouterID,
		timeout:  g.SMTPConnectTimeout,
	}
	return c, &notify.Mailer{
		Server:         server,
		HeloName:       g.SMTPHeloName,
		From:           g.NotificationEmailFrom,
		To:             slices.Clone(g.NotificationEmail),
		ConnectTimeout: g.SMTPConnectTimeout,
		RouterID:       g.RouterID,
		Log:            h.log,
	}
}

// Close stops the scripts, giving running ones a moment to finish, sends
// what mail is queued, and closes the FIFOs.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	h.runner.Close(ctx)
	if cur := h.cur.Load(); cur != nil && cur.mailer != nil {
		cur.mailer.Close(ctx)
	}
	for _, f := range h.fifos {
		f.Close()
	}
	h.fifos = nil
}
