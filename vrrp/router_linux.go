package vrrp

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NewRouter returns a router that manages addresses through nl (nil: the
// caller's network namespace) and logs to log.
func NewRouter(nl *netlink.Handle, log logrus.FieldLogger) *Router {
	if nl == nil {
		nl = &netlink.Handle{}
	}
	return newRouter(&host{nl: nl, log: log}, log)
}

// host is a Router's Linux side: rtnetlink for links, addresses, routes
// and VMAC interfaces, and the announcers' sockets.
type host struct {
	nl         *netlink.Handle
	log        logrus.FieldLogger
	announcers announcerPool
	// fw is the VIP firewall, nil without one.
	fw *firewall
}

// SetFirewall gives the router keepalived's nftables VIP firewall, for
// the instances whose NetConfig asks for it; a config with no Table
// gives none. Only the first call counts: keepalived keeps its firewall
// settings over a reload.
func (r *Router) SetFirewall(cfg FirewallConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.host.fw == nil && cfg.Table != "" {
		r.host.fw = newFirewall(cfg, r.log, nil)
	}
}

// subscribeLinks reports the carrier changes of the host's interfaces
// until done is closed; the channel closes if the subscription fails.
func (h *host) subscribeLinks(ctx context.Context, done <-chan struct{}) (<-chan linkUpdate, error) {
	nu := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribeWithOptions(nu, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				h.log.Errorf("netlink link subscription: %v", err)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("subscribing to link changes: %w", err)
	}
	out := make(chan linkUpdate, 16)
	go func() {
		defer close(out)
		for u := range nu {
			lu := linkUpdate{index: int(u.Index), name: u.Attrs().Name, up: running(u.IfInfomsg.Flags)}
			select {
			case out <- lu:
			case <-done:
				return
			}
		}
	}()
	return out, nil
}

// subscribeAddrs reports the addresses deleted from the host's
// interfaces until done is closed; the channel closes if the
// subscription fails.
func (h *host) subscribeAddrs(ctx context.Context, done <-chan struct{}) (<-chan netip.Addr, error) {
	nu := make(chan netlink.AddrUpdate, 16)
	if err := netlink.AddrSubscribeWithOptions(nu, done, netlink.AddrSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				h.log.Errorf("netlink address subscription: %v", err)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("subscribing to address changes: %w", err)
	}
	out := make(chan netip.Addr, 16)
	go func() {
		defer close(out)
		for u := range nu {
			if u.NewAddr {
				continue
			}
			a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			select {
			case out <- a.Unmap():
			case <-done:
				return
			}
		}
	}()
	return out, nil
}

// carrier reports whether interface idx has carrier.
func (h *host) carrier(idx int) bool {
	link, err := h.nl.LinkByIndex(idx)
	return err == nil && running(link.Attrs().RawFlags)
}

// linkName returns interface idx's name, or its number when it has
// gone.
func (h *host) linkName(idx int) string {
	link, err := h.nl.LinkByIndex(idx)
	if err != nil {
		return fmt.Sprintf("interface %d", idx)
	}
	return link.Attrs().Name
}

// running reports carrier as keepalived reads it: administratively up and
// IFF_RUNNING.
func running(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}
