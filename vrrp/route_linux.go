package vrrp

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A RouteSet adds and removes an instance's virtual routes with
// rtnetlink.
type RouteSet struct {
	nl     *netlink.Handle
	routes []Route
}

// NewRouteSet returns the set of routes. A nil handle works in the
// caller's network namespace.
func NewRouteSet(nl *netlink.Handle, routes []Route) *RouteSet {
	if nl == nil {
		nl = &netlink.Handle{}
	}
	return &RouteSet{nl: nl, routes: routes}
}

// Add adds every route; one already present is not an error.
func (s *RouteSet) Add() error {
	var errs []error
	for _, rt := range s.routes {
		r, err := s.resolve(rt)
		if err == nil {
			switch rt.Mode {
			case RouteAdd:
				err = s.nl.RouteAdd(r)
			case RouteAppend:
				err = s.nl.RouteAppend(r)
			default:
				// keepalived's default: NLM_F_CREATE alone.
				err = s.nl.RouteAddEcmp(r)
			}
			if errors.Is(err, unix.EEXIST) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("adding route %v: %w", rt, err))
		}
	}
	return errors.Join(errs...)
}

// Remove removes every route; one already absent is not an error.
func (s *RouteSet) Remove() error {
	var errs []error
	for _, rt := range s.routes {
		r, err := s.resolve(rt)
		if err == nil {
			err = s.nl.RouteDel(r)
			if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing route %v: %w", rt, err))
		}
	}
	return errors.Join(errs...)
}

func (s *RouteSet) resolve(rt Route) (*netlink.Route, error) {
	r := &netlink.Route{
		Dst:      &net.IPNet{IP: rt.Dst.Addr().AsSlice(), Mask: net.CIDRMask(rt.Dst.Bits(), rt.Dst.Addr().BitLen())},
		Type:     int(rt.Type),
		Table:    rt.Table,
		Priority: rt.Metric,
		Scope:    netlink.Scope(rt.Scope),
		Protocol: netlink.RouteProtocol(rt.protocol()),
		Family:   netlink.FAMILY_V4,
	}
	if rt.OnLink {
		r.Flags = int(netlink.FLAG_ONLINK)
	}
	if rt.Dst.Addr().Is6() {
		r.Family = netlink.FAMILY_V6
	}
	if r.Type == 0 {
		r.Type = unix.RTN_UNICAST
	}
	if rt.Src.IsValid() {
		r.Src = rt.Src.AsSlice()
	}
	if rt.Gateway.IsValid() {
		r.Gw = rt.Gateway.AsSlice()
	}
	if rt.Device != "" {
		link, err := s.nl.LinkByName(rt.Device)
		if err != nil {
			return nil, err
		}
		r.LinkIndex = link.Attrs().Index
	}
	r.Tos, r.Realm = int(rt.Tos), int(rt.Realms)
	m := rt.Metrics
	r.MTU, r.MTULock, r.Hoplimit, r.AdvMSS = int(m.MTU), m.MTULock, int(m.Hoplimit), int(m.AdvMSS)
	r.Rtt, r.RttVar, r.Reordering, r.Window = int(m.RTT), int(m.RTTVar), int(m.Reordering), int(m.Window)
	r.Cwnd, r.Ssthresh, r.RtoMin, r.RtoMinLock = int(m.Cwnd), int(m.Ssthresh), int(m.RtoMin), m.RtoMinLock
	r.InitCwnd, r.InitRwnd, r.QuickACK = int(m.InitCwnd), int(m.InitRwnd), int(m.QuickACK)
	r.FastOpenNoCookie, r.Congctl = int(m.FastOpenNoCookie), m.Congctl
	if m.FeatureECN {
		r.Features = unix.RTAX_FEATURE_ECN
	}
	for _, nh := range rt.Nexthops {
		info := &netlink.NexthopInfo{Hops: max(nh.Weight, 1) - 1}
		if nh.Gateway.IsValid() {
			info.Gw = nh.Gateway.AsSlice()
		}
		if nh.OnLink {
			info.Flags = int(netlink.FLAG_ONLINK)
		}
		if nh.Device != "" {
			link, err := s.nl.LinkByName(nh.Device)
			if err != nil {
				return nil, err
			}
			info.LinkIndex = link.Attrs().Index
		}
		r.MultiPath = append(r.MultiPath, info)
	}
	return r, nil
}
