package main

import (
	"context"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/logging"
	"github.com/gokeepalived/gokeepalived/internal/vrrpdbus"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// syncDBus starts, reloads or stops the VRRP D-Bus service as keepalived's
// VRRP process does: it runs with enable_dbus while VRRP runs. A reload
// that keeps it tells it of the instances that came and went; its name
// stays the one it started with.
func (d *daemon) syncDBus(ctx context.Context, cfg *config.Config, reload bool) {
	want := cfg.Global.EnableDBus && d.vrrpLoop() != nil
	switch cur := d.dbus.Load(); {
	case want && cur != nil:
		if reload {
			cur.Reload()
		}
	case want:
		if !reload {
			d.settleVRRP()
		}
		srv := vrrpdbus.New(vrrpdbus.Options{
			ServiceName: cfg.Global.DBusServiceName,
			Namespace:   d.place.namespace,
			Instance:    d.place.instance,
			Log:         logging.WithIdent(d.log, d.place.ident(logging.IdentVRRP)),
			Backend:     dbusBackend{d},
		})
		d.dbus.Store(srv)
		srv.Start(ctx)
	case cur != nil:
		d.stopDBus()
	}
}

// settleVRRP waits, up to a second, until every instance has left INIT
// and its first state has been reported. keepalived's instances take
// their first state before its D-Bus thread has connected, and the
// notifications of that state go out without a signal: the bus hears of
// it in VrrpStarted's wake.
func (d *daemon) settleVRRP() {
	v := d.vrrpLoop()
	if v == nil {
		return
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && slices.ContainsFunc(v.Statuses(), func(st vrrp.Status) bool { return st.State == vrrp.StateInit }) {
		time.Sleep(2 * time.Millisecond)
	}
	v.Flush(time.Until(deadline))
}

// stopDBus stops the D-Bus service, if it runs.
func (d *daemon) stopDBus() {
	if srv := d.dbus.Swap(nil); srv != nil {
		srv.Stop()
	}
}

// dbusInstanceState is the VRRP loop's report of an instance's state to
// the D-Bus service, which sends it as VrrpStatusChange.
func (d *daemon) dbusInstanceState(ci *config.Instance, s notify.State) {
	srv := d.dbus.Load()
	if srv == nil {
		return
	}
	var st vrrpdbus.State
	switch s {
	case notify.Master:
		st = vrrpdbus.Master
	case notify.Backup:
		st = vrrpdbus.Backup
	case notify.Fault:
		st = vrrpdbus.Fault
	case notify.Stop:
		st = vrrpdbus.Stop
	case notify.Deleted:
		st = vrrpdbus.Deleted
	default:
		return
	}
	srv.StateChanged(ci.Interface, uint8(ci.VirtualRouterID), dbusFamily(ci), st)
}

// dbusFamily is an instance's address family as keepalived settles it:
// that of its first virtual address, else of its source or first unicast
// peer, else IPv4.
func dbusFamily(ci *config.Instance) vrrpdbus.Family {
	is6 := func(v6 bool) vrrpdbus.Family {
		if v6 {
			return vrrpdbus.IPv6
		}
		return vrrpdbus.IPv4
	}
	switch {
	case len(ci.VirtualIPs) > 0:
		return is6(ci.VirtualIPs[0].Prefix.Addr().Is6())
	case ci.UnicastSrcIP.IsValid():
		return is6(ci.UnicastSrcIP.Is6())
	case ci.McastSrcIP.IsValid():
		return is6(ci.McastSrcIP.Is6())
	case len(ci.UnicastPeers) > 0:
		return is6(ci.UnicastPeers[0].Addr.Is6())
	}
	return vrrpdbus.IPv4
}

// dbusBackend is the daemon as the D-Bus service sees it.
type dbusBackend struct{ d *daemon }

// Instances lists the VRRP loop's instances in the configuration's order.
func (b dbusBackend) Instances() []vrrpdbus.Instance {
	v := b.d.vrrpLoop()
	if v == nil {
		return nil
	}
	b.d.mu.Lock()
	cfg := b.d.cfg
	b.d.mu.Unlock()
	byName := make(map[string]*config.Instance, len(cfg.Instances))
	for i := range cfg.Instances {
		byName[cfg.Instances[i].Name] = &cfg.Instances[i]
	}
	var out []vrrpdbus.Instance
	for _, st := range v.Statuses() {
		ci := byName[st.Name]
		if ci == nil {
			continue
		}
		out = append(out, vrrpdbus.Instance{
			Name:      st.Name,
			Interface: ci.Interface,
			VRID:      st.VRID,
			Family:    dbusFamily(ci),
			State:     dbusState(st.State),
		})
	}
	return out
}

// dbusState is keepalived's number for a state.
func dbusState(s vrrp.State) vrrpdbus.State {
	switch s {
	case vrrp.StateBackup:
		return vrrpdbus.Backup
	case vrrp.StateMaster:
		return vrrpdbus.Master
	case vrrp.StateFault:
		return vrrpdbus.Fault
	case vrrp.StateStop:
		return vrrpdbus.Stop
	}
	return vrrpdbus.Init
}

// onSignalLoop runs f on the signal loop and waits for it; it gives up if
// the service stops first.
func (b dbusBackend) onSignalLoop(f func()) {
	done := make(chan struct{})
	select {
	case b.d.requests <- func() { f(); close(done) }:
		<-done
	case <-b.d.stopping:
	}
}

// PrintData writes the VRRP data file, as keepalived's VRRP process does
// on the D-Bus request: its half of what SIGUSR1 writes.
func (b dbusBackend) PrintData() {
	b.onSignalLoop(func() {
		b.d.mu.Lock()
		cfg := b.d.cfg
		b.d.mu.Unlock()
		b.d.writeLoopData(cfg, dataFile, vrrpKind)
	})
}

// PrintStats writes the statistics file, as SIGUSR2 does, or as the
// STATS_CLEAR signal does with clear.
func (b dbusBackend) PrintStats(clear bool) {
	b.onSignalLoop(func() { b.d.writeStats(clear) })
}

// Reload asks for a reload as keepalived's service does, with SIGHUP to
// the daemon: the reply goes out first, then the reload runs.
func (b dbusBackend) Reload() {
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		b.d.log.Errorf("Reload on D-Bus request: %v", err)
	}
}

// SendGarp announces the addresses of the named instance.
func (b dbusBackend) SendGarp(name string) bool {
	v := b.d.vrrpLoop()
	return v != nil && v.SendGarp(name)
}
