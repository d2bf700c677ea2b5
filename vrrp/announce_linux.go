package vrrp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/sirupsen/logrus"
	"golang.org/x/net/ipv6"
)

// An Announcer tells the hosts of a segment that the virtual addresses
// now live at this interface's link-layer address: gratuitous ARP for
// IPv4 (RFC 5227 section 3), unsolicited neighbour advertisements for
// IPv6 (RFC 4861 section 7.2.6). It paces one instance's announcements;
// the sockets they go out on belong to its interface's linkAnnouncer.
type Announcer struct {
	name     string // instance, for logs
	ifi      *net.Interface
	addrs    []netip.Addr
	interval time.Duration
	// next is when the next packet may go with an interval; a.mu
	// guards it.
	next  time.Time
	log   logrus.FieldLogger
	guard *guard
	link  *linkAnnouncer

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // one round at a time
	wg     sync.WaitGroup
	closed sync.Once
}

// NewAnnouncer returns an announcer for addrs on ifi that waits interval
// (keepalived's garp_interval or gna_interval) between packets, on
// sockets of its own.
func NewAnnouncer(name string, ifi *net.Interface, addrs []netip.Addr, interval time.Duration, log logrus.FieldLogger) (*Announcer, error) {
	return newAnnouncer(&linkAnnouncer{ifi: ifi}, name, addrs, interval, log)
}

// newAnnouncer returns an announcer on link, which it holds until Close.
func newAnnouncer(link *linkAnnouncer, name string, addrs []netip.Addr, interval time.Duration, log logrus.FieldLogger) (*Announcer, error) {
	if err := link.acquire(addrs); err != nil {
		log.Warnf("(%s) %v; trying again when announcing", name, err)
	}
	a := &Announcer{name: name, ifi: link.ifi, addrs: addrs, interval: interval, log: log, guard: &guard{log: log}, link: link}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// Announce sends rounds announcements of every address. Without an
// interval it returns once they are sent; with one, they go out in the
// background, one every interval.
func (a *Announcer) Announce(rounds int) error {
	return a.announce(a.addrs, rounds)
}

// announce announces addrs, some of the announcer's.
func (a *Announcer) announce(addrs []netip.Addr, rounds int) error {
	for _, ip := range addrs {
		what := "gratuitous ARPs"
		if ip.Is6() {
			what = "Unsolicited Neighbour Adverts"
		}
		a.log.Infof("(%s) Sending/queueing %s on %s for %v", a.name, what, a.ifi.Name, ip)
	}
	if a.interval == 0 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.send(addrs, rounds)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.guard.run("("+a.name+") gratuitous ARP", func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if err := a.send(addrs, rounds); err != nil {
				a.log.Warnf("(%s) %v", a.name, err)
			}
		})
	}()
	return nil
}

func (a *Announcer) send(addrs []netip.Addr, rounds int) error {
	if a.interval > 0 {
		return a.sendSpaced(addrs, rounds)
	}
	var errs []error
	for range rounds {
		for _, ip := range addrs {
			if err := a.sendOne(ip); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// sendSpaced sends with the interval between packets as keepalived's
// garp_interval and gna_interval do: the first packet goes at once if
// the interval since the last has passed, and every other address
// waits for its turn, in order. An address that waits is sent once,
// however many rounds asked for it: keepalived marks it pending rather
// than counting, so that two rounds of two addresses are three packets.
func (a *Announcer) sendSpaced(addrs []netip.Addr, rounds int) error {
	if rounds <= 0 || len(addrs) == 0 {
		return nil
	}
	var errs []error
	pending := addrs
	if now := time.Now(); !now.Before(a.next) {
		if err := a.sendOne(addrs[0]); err != nil {
			errs = append(errs, err)
		}
		a.next = now.Add(a.interval)
		if rounds == 1 {
			pending = addrs[1:]
		}
	}
	for _, ip := range pending {
		select {
		case <-a.ctx.Done():
			return errors.Join(errs...)
		case <-time.After(time.Until(a.next)):
		}
		if err := a.sendOne(ip); err != nil {
			errs = append(errs, err)
		}
		a.next = time.Now().Add(a.interval)
	}
	return errors.Join(errs...)
}

func (a *Announcer) sendOne(ip netip.Addr) error {
	arpConn, ndpConn, openErr := a.link.sockets(ip)
	if ip.Is4() {
		a.log.Infof("Sending gratuitous ARP on %s for %v", a.ifi.Name, ip)
		// A request from the address to itself: every Linux host
		// updates an entry it has for the sender from it.
		p, err := arp.NewPacket(arp.OperationRequest, a.ifi.HardwareAddr, ip, ethernet.Broadcast, ip)
		var pb, fb []byte
		if err == nil {
			pb, err = p.MarshalBinary()
		}
		if err == nil {
			f := &ethernet.Frame{Destination: ethernet.Broadcast, Source: a.ifi.HardwareAddr, EtherType: ethernet.EtherTypeARP, Payload: pb}
			fb, err = f.MarshalBinary()
		}
		if err == nil {
			// Unpadded, as keepalived sends it: a NIC pads a short
			// frame itself.
			fb = fb[:14+len(pb)]
		}
		if err == nil && arpConn == nil {
			err = openErr
		}
		if err == nil {
			_, err = arpConn.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
		}
		if err != nil {
			return fmt.Errorf("sending gratuitous ARP on %s for %v: %w", a.ifi.Name, ip, err)
		}
		return nil
	}
	a.log.Infof("Sending unsolicited Neighbour Advert on %s for %v", a.ifi.Name, ip)
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options: []ndp.Option{&ndp.LinkLayerAddress{
			Direction: ndp.Target,
			Addr:      a.ifi.HardwareAddr,
		}},
	}
	if ndpConn == nil {
		return fmt.Errorf("sending unsolicited neighbour advert on %s for %v: %w", a.ifi.Name, ip, openErr)
	}
	// From the address itself, as keepalived sends it; from the
	// interface's own address if the kernel will not take it (still
	// tentative, say).
	err := ndpConn.WriteTo(na, &ipv6.ControlMessage{Src: ip.AsSlice(), IfIndex: a.ifi.Index}, netip.IPv6LinkLocalAllNodes())
	if err != nil {
		err = ndpConn.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes())
	}
	if err != nil {
		return fmt.Errorf("sending unsolicited neighbour advert on %s for %v: %w", a.ifi.Name, ip, err)
	}
	return nil
}

// announces reports whether a announces addrs on ifi as instance name,
// every interval: whether it can serve a new configuration unchanged.
func (a *Announcer) announces(name string, ifi *net.Interface, addrs []netip.Addr, interval time.Duration) bool {
	return a != nil && a.name == name && a.ifi.Index == ifi.Index && a.ifi.Name == ifi.Name &&
		bytes.Equal(a.ifi.HardwareAddr, ifi.HardwareAddr) && slices.Equal(a.addrs, addrs) && a.interval == interval
}

// Close stops announcements under way and lets go of the interface's
// sockets, which close with the last announcer using them.
func (a *Announcer) Close() error {
	var err error
	a.closed.Do(func() {
		a.cancel()
		a.wg.Wait()
		err = a.link.release()
	})
	return err
}
