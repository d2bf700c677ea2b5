package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/sirupsen/logrus"
)

// A linkAnnouncer holds the sockets one interface's announcements go out
// on, shared by the Announcers of every instance there: a packet socket
// per instance would receive a copy of every frame, and each closes only
// after an RCU grace period, tens of milliseconds.
type linkAnnouncer struct {
	ifi *net.Interface
	// done runs once the last announcer lets go, with the sockets
	// closed; nil for an announcer's own.
	done func(*linkAnnouncer)

	mu   sync.Mutex
	refs int
	arp  net.PacketConn // raw ARP frames: the interface may have no IPv4 address (use_vmac)
	ndp  *ndp.Conn
}

// acquire takes a reference to l and opens the sockets addrs need that
// it lacks. A socket that cannot be opened yet, such as the NDP socket of
// an interface whose link-local address is still being set up, is no
// failure of the instance: the error is returned for the log, the
// reference is taken, and sockets tries again at the next announcement.
func (l *linkAnnouncer) acquire(addrs []netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs++
	return l.openLocked(addrs)
}

// openLocked opens the sockets addrs need that l lacks. l.mu is held.
func (l *linkAnnouncer) openLocked(addrs []netip.Addr) error {
	var errs []error
	for _, ip := range addrs {
		var err error
		switch {
		case ip.Is4() && l.arp == nil:
			// Protocol 0: the socket only sends. Bound to ARP it would
			// receive a copy of every ARP frame on the link, and
			// nothing reads them.
			l.arp, err = packet.Listen(l.ifi, packet.Raw, 0, nil)
		case ip.Is6() && l.ndp == nil:
			l.ndp, _, err = ndp.Listen(l.ifi, ndp.LinkLocal)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("opening announcer for %v on %s: %w", ip, l.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// errClosed is the error of an announcement after its announcer closed.
var errClosed = errors.New("announcer closed")

// sockets returns the sockets addrs need, opening those that could not be
// opened before; nil for those that are still not open, or when l is
// closed.
func (l *linkAnnouncer) sockets(addrs ...netip.Addr) (net.PacketConn, *ndp.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refs == 0 {
		return nil, nil, errClosed
	}
	err := l.openLocked(addrs)
	return l.arp, l.ndp, err
}

// release lets go of a reference; the last closes the sockets.
func (l *linkAnnouncer) release() error {
	l.mu.Lock()
	l.refs--
	if l.refs > 0 {
		l.mu.Unlock()
		return nil
	}
	err := l.closeSockets()
	l.mu.Unlock()
	if l.done != nil {
		l.done(l)
	}
	return err
}

func (l *linkAnnouncer) closeSockets() error {
	var errs []error
	if l.arp != nil {
		errs = append(errs, l.arp.Close())
		l.arp = nil
	}
	if l.ndp != nil {
		errs = append(errs, l.ndp.Close())
		l.ndp = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing announcer on %s: %w", l.ifi.Name, err)
	}
	return nil
}

// An announcerPool gives the instances on one interface one
// linkAnnouncer, open while at least one of them uses it.
type announcerPool struct {
	mu    sync.Mutex
	links map[linkKey]*linkAnnouncer
}

// A linkKey names an interface as it is now: a VMAC interface deleted
// and created again may come back with the same name.
type linkKey struct {
	index int
	name  string
	mac   string
}

// announcer returns an Announcer for instance name's addrs on ifi,
// sharing ifi's sockets with the pool's other announcers there.
func (p *announcerPool) announcer(name string, ifi *net.Interface, addrs []netip.Addr, interval time.Duration, log logrus.FieldLogger) (*Announcer, error) {
	key := linkKey{index: ifi.Index, name: ifi.Name, mac: string(ifi.HardwareAddr)}
	// Held while acquiring, so that drop cannot forget a linkAnnouncer
	// being taken.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.links == nil {
		p.links = make(map[linkKey]*linkAnnouncer)
	}
	l := p.links[key]
	if l == nil {
		l = &linkAnnouncer{ifi: ifi, done: p.drop}
	}
	a, err := newAnnouncer(l, name, addrs, interval, log)
	if err != nil {
		return nil, err
	}
	p.links[key] = l
	return a, nil
}

// drop forgets l, unless it was taken again meanwhile.
func (p *announcerPool) drop(l *linkAnnouncer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range p.links {
		if v == l && l.refs == 0 {
			delete(p.links, k)
		}
	}
}

// len returns how many interfaces the pool has sockets on.
func (p *announcerPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}
