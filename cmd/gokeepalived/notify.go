package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
)

// notifier is what the loops report through: the script runner and the
// notify FIFOs of global_defs.
type notifier struct {
	*notify.Notifier
	user   notify.Credential
	fifos  []*notify.FIFO
	runner *notify.Runner
	// mailer sends smtp_alert emails; nil without smtp_server and
	// notification_email.
	mailer *notify.Mailer
}

// newNotifier opens the FIFOs global_defs names and starts their reader
// scripts, as keepalived does at start-up.
func newNotifier(g *config.Global, log logrus.FieldLogger) (*notifier, error) {
	user, err := notify.DefaultUser(g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity)
	if err != nil {
		return nil, fmt.Errorf("script user: %w", err)
	}
	n := &notifier{
		user:   user,
		runner: notify.NewRunner(log, notify.RunnerConfig{}),
	}
	n.Notifier = &notify.Notifier{Runner: n.runner, Log: log}
	if g.SMTPServer != "" && len(g.NotificationEmail) > 0 {
		server := g.SMTPServer
		if g.SMTPPort != 0 && g.SMTPPort != notify.DefaultSMTPPort {
			server = net.JoinHostPort(g.SMTPServer, strconv.Itoa(int(g.SMTPPort)))
		}
		n.mailer = &notify.Mailer{
			Server:         server,
			HeloName:       g.SMTPHeloName,
			From:           g.NotificationEmailFrom,
			To:             g.NotificationEmail,
			ConnectTimeout: g.SMTPConnectTimeout,
			RouterID:       g.RouterID,
			Log:            log,
		}
	}
	for _, f := range []struct {
		cfg  config.FIFO
		dest **notify.FIFO
	}{
		{g.NotifyFIFO, &n.Notifier.Global},
		{g.VRRPNotifyFIFO, &n.Notifier.VRRP},
		{g.LVSNotifyFIFO, &n.Notifier.LVS},
	} {
		if f.cfg.Path == "" {
			continue
		}
		owner := user
		if f.cfg.User != "" {
			if owner, err = notify.LookupCredential(f.cfg.User, f.cfg.Group); err != nil {
				n.close()
				return nil, fmt.Errorf("notify FIFO %s: %w", f.cfg.Path, err)
			}
		}
		fifo, err := notify.OpenFIFO(f.cfg.Path, owner)
		if err != nil {
			n.close()
			return nil, err
		}
		n.fifos = append(n.fifos, fifo)
		*f.dest = fifo
		if s := f.cfg.Script; s != nil {
			script, err := notify.NewScript("notify_fifo_script", s.Cmd, s.User, s.Group, &user)
			if err != nil {
				log.Errorf("notify FIFO script %s: %v", s.Cmd, err)
				continue
			}
			if err := n.runner.StartFIFOScript(script, f.cfg.Path); err != nil {
				log.Errorf("starting notify FIFO script %s: %v", s.Cmd, err)
			}
		}
	}
	return n, nil
}

// close stops the scripts, giving running ones a moment to finish, and
// closes the FIFOs.
func (n *notifier) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.runner.Close(ctx)
	if n.mailer != nil {
		n.mailer.Close(ctx)
	}
	for _, f := range n.fifos {
		f.Close()
	}
}
