package checkerd

import (
	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
	"github.com/gokeepalived/gokeepalived/notify"
)

// reportViolation logs keepalived's warning when check scripts run without
// enable_script_security, as its checker process's
// check_check_script_security does at start-up and on reload: MISC_CHECK,
// notify_up, notify_down, quorum_up and quorum_down scripts and the
// notify_fifo and lvs_notify_fifo scripts count, and only when there are
// virtual servers. The scripts themselves are judged, with their
// messages, where they are built.
func reportViolation(log logrus.FieldLogger, cfg *config.Config, out Outputs) {
	if len(cfg.VirtualServers) == 0 || cfg.Global.EnableScriptSecurity {
		return
	}
	// The hub knows the default script user; other outputs run
	// scripts as their own user only.
	var user *notify.Credential
	if u, ok := out.(interface{ ScriptUser() *notify.Credential }); ok {
		user = u.ScriptUser()
	}
	sec := notify.Security{}
	check := func(keyword string, n *config.Notify) {
		if n == nil {
			return
		}
		if s, err := notify.NewScript(keyword, n.Cmd, n.User, n.Group, user); err == nil {
			sec.Check(s)
		}
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		check("quorum_up", vs.QuorumUp)
		check("quorum_down", vs.QuorumDown)
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			check("notify_up", rs.NotifyUp)
			check("notify_down", rs.NotifyDown)
			for k := range rs.Checkers {
				if c := &rs.Checkers[k]; c.Type == config.MiscCheck {
					check("misc_path", &config.Notify{Cmd: c.Misc.Path, User: c.Misc.User, Group: c.Misc.Group})
				}
			}
		}
	}
	for _, f := range []config.FIFO{cfg.Global.NotifyFIFO, cfg.Global.LVSNotifyFIFO} {
		if s, err := notifyhub.FIFOScript(f, user); err == nil {
			sec.Check(s)
		}
	}
	if v := sec.Violation("check scripts"); v != "" {
		log.Info(v)
	}
}
