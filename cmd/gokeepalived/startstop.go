package main

import (
	"context"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
)

// runStartStop runs global_defs' startup_script or shutdown_script and
// waits for it, as keepalived does before it starts its processes and
// after they have stopped. A script that script security refuses, or
// whose user does not exist, is logged and not run, as
// keepalived's check_start_stop_script_secure drops it.
func (d *daemon) runStartStop(ctx context.Context, kind string, g *config.Global, n *config.Notify, timeout time.Duration) {
	if n == nil {
		return
	}
	def, err := notify.DefaultUser(g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity)
	defp := &def
	if err != nil {
		defp = nil
	}
	s, err := notify.NewScript(kind, n.Cmd, n.User, n.Group, defp)
	if err != nil {
		d.log.Errorf("%s: %v", n.Pos, err)
		return
	}
	sec := notify.Security{Enabled: g.EnableScriptSecurity, Log: d.log}
	if !sec.Check(s) {
		d.log.Errorf("%s: %s script %s refused by script security - not run", n.Pos, kind, n.Cmd)
		return
	}
	ss := notify.StartStop{Kind: kind, Script: s, Timeout: timeout, Detail: d.s.logDetail}
	ss.Run(ctx, d.log)
}
