// Package dump holds the vocabulary of keepalived's dump files (the USR1
// data files of its VRRP and checker processes): its words for booleans,
// its time formats, its quoting of commands and its "Global definitions"
// section, so that every part of gokeepalived's dumps writes them alike.
package dump

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
)

// YesNo is keepalived's "yes" or "no".
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// OnOff is keepalived's "ON" or "OFF", as its checker dump writes flags.
func OnOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// Enabled is keepalived's "enabled" or "disabled".
func Enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// SetUnset is keepalived's "set" or "unset".
func SetUnset(b bool) string {
	if b {
		return "set"
	}
	return "unset"
}

// Int is a boolean as keepalived prints its bit fields: 1 or 0.
func Int(b bool) int {
	if b {
		return 1
	}
	return 0
}

// OrInt is v, or def when v is zero: a keyword left at its default.
func OrInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Time formats a time as keepalived's VRRP data file does:
// "1796172154.397689 (Wed Dec  2 00:42:34.397689 2026)".
func Time(t time.Time) string {
	t = t.Local()
	us := t.Nanosecond() / 1000
	return fmt.Sprintf("%d.%06d (%s.%06d %d)", t.Unix(), us, t.Format("Mon Jan _2 15:04:05"), us, t.Year())
}

// CTimeMicro formats a time as keepalived's checker dumps do:
// "1796172211.135366 (Wed Dec  2 00:43:31 2026.135366)"; the zero time is
// the epoch, as for a checker that has not run.
func CTimeMicro(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.Local()
	us := t.Nanosecond() / 1000
	return fmt.Sprintf("%d.%06d (%s.%06d)", t.Unix(), us, t.Format("Mon Jan _2 15:04:05 2006"), us)
}

// QuoteArgs writes a command as keepalived's cmd_str: each word quoted.
func QuoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if i == 0 && filepath.IsAbs(a) {
			// keepalived shows the program in its directory's real
			// path; the program itself may stay a link.
			if dir, err := filepath.EvalSymlinks(filepath.Dir(a)); err == nil {
				a = filepath.Join(dir, filepath.Base(a))
			}
		}
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, " ")
}

// Command is a configured command line as keepalived's dump quotes it:
// split into its words, or whole when it does not split.
func Command(cmd string) string {
	args, err := notify.SplitWords(cmd)
	if err != nil || len(args) == 0 {
		args = []string{cmd}
	}
	return QuoteArgs(args)
}

// Global writes the first lines of keepalived's "Global definitions"
// section, those that describe what gokeepalived has; keepalived goes on
// with its process and kernel settings, which are left out. Both data
// files begin with it.
func Global(w io.Writer, g *config.Global) {
	p := func(format string, a ...any) { fmt.Fprintf(w, " "+format+"\n", a...) }
	fmt.Fprintf(w, "------< Global definitions >------\n")
	p("Network namespace = %s", orText(g.NetNamespace, "(default)"))
	if ipvs := g.NetNamespaceIPVS; ipvs != nil {
		p("Network namespace ipvs = %s", orText(*ipvs, "(default)"))
	} else {
		p("Network namespace ipvs = (main namespace)")
	}
	if g.InstanceName != "" {
		p("Instance name = %s", g.InstanceName)
	}
	p("Router ID = %s", g.RouterID)
	if g.SMTPServer != "" {
		p("Smtp server = %s", g.SMTPServer)
		p("Smtp server port = %d", OrInt(int(g.SMTPPort), notify.DefaultSMTPPort))
	}
	if g.SMTPHeloName != "" {
		p("Smtp HELO name = %s", g.SMTPHeloName)
	}
	if g.SMTPServer != "" {
		p("Smtp server connection timeout = %d", int(g.SMTPConnectTimeout.Seconds()))
	}
	if g.NotificationEmailFrom != "" {
		p("Email notification from = %s", g.NotificationEmailFrom)
	}
	if len(g.NotificationEmail) > 0 {
		p("Email notification to:")
		for _, e := range g.NotificationEmail {
			p("  %s", e)
		}
	}
	p("Default smtp_alert = %s", optBool(g.SMTPAlert))
	p("Default smtp_alert_vrrp = %s", optBool(g.SMTPAlertVRRP))
	p("Default smtp_alert_checker = %s", optBool(g.SMTPAlertChecker))
}

func optBool(b *bool) string {
	switch {
	case b == nil:
		return "unset"
	case *b:
		return "on"
	}
	return "off"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
