package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// The IPVS generic netlink family's messages, from linux/ip_vs.h: how
// each request is encoded and each reply decoded. Services and
// destinations are programmed here rather than through a library such as
// moby/ipvs, which sends neither the tunnel attributes nor the
// destination's own address family (so an IPv4 real server behind an IPv6
// service), and whose exchange allocates 64 KiB for every reply.

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdFlush      = 17
)

// Attributes of a command.
const (
	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrDaemon        = 3
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// Attributes of a service.
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrPEName    = 11
)

// Attributes of a destination.
const (
	destAttrAddr       = 1
	destAttrPort       = 2
	destAttrFwdMethod  = 3
	destAttrWeight     = 4
	destAttrUThresh    = 5
	destAttrLThresh    = 6
	destAttrAddrFamily = 11
	destAttrTunType    = 13
	destAttrTunPort    = 14
	destAttrTunFlags   = 15

	// fwdMethodMask keeps the forwarding method of the connection flags
	// the kernel reads back.
	fwdMethodMask = 0x7
)

// Attributes of a sync daemon.
const (
	daemonAttrState      = 1
	daemonAttrMcastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxLen = 4
	daemonAttrMcastGroup = 5
	daemonAttrMcastGrp6  = 6
	daemonAttrMcastPort  = 7
	daemonAttrMcastTTL   = 8
)

// The generic netlink controller's, from linux/genetlink.h.
const (
	genlCtrlAttrFamilyID   = 1
	genlCtrlAttrFamilyName = 2
)

// serviceKey appends the part of a service the kernel looks it up by.
func (e *encoder) serviceKey(s *Service) {
	start := e.Nest(cmdAttrService)
	e.serviceKeyFields(s)
	e.EndNest(start)
}

// serviceKeyFields appends a service's key, the one place it is encoded:
// its family, then its firewall mark or its protocol, address and port.
func (e *encoder) serviceKeyFields(s *Service) {
	e.Uint16(svcAttrAF, uint16(s.family()))
	if s.FWMark != 0 {
		e.Uint32(svcAttrFWMark, s.FWMark)
		return
	}
	e.Uint16(svcAttrProtocol, uint16(s.Protocol))
	e.addr(svcAttrAddr, s.Addr.Addr())
	e.Uint16BE(svcAttrPort, s.Addr.Port())
}

// addr appends an address in as many bytes as its family takes.
func (e *encoder) addr(typ uint16, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		e.Bytes(typ, b[:])
		return
	}
	b := a.As16()
	e.Bytes(typ, b[:])
}

// service appends the whole service, as adding or updating it takes it.
func (e *encoder) service(s *Service) {
	start := e.Nest(cmdAttrService)
	e.serviceKeyFields(s)
	e.String(svcAttrSchedName, s.Scheduler)
	// struct ip_vs_flags: the flags, then the mask of those to set; all
	// of them, as ipvsadm does. The kernel's HASHED flag is its own.
	var flags [8]byte
	binary.NativeEndian.PutUint32(flags[:], uint32(s.Flags&^flagHashed))
	binary.NativeEndian.PutUint32(flags[4:], ^uint32(0))
	e.Bytes(svcAttrFlags, flags[:])
	e.Uint32(svcAttrTimeout, uint32(s.Timeout/time.Second))
	e.Uint32(svcAttrNetmask, s.netmaskBits())
	if s.PE != "" {
		e.String(svcAttrPEName, s.PE)
	}
	e.EndNest(start)
}

// destination appends a destination with its own address family, which
// is not its service's under a tunnel carrying IPv4 in IPv6 or the
// reverse: the kernel takes the service's family for a destination
// without one.
func (e *encoder) destination(d *Destination) {
	start := e.Nest(cmdAttrDest)
	a := d.Addr.Addr()
	if a.Is4() {
		e.Uint16(destAttrAddrFamily, uint16(IPv4))
	} else {
		e.Uint16(destAttrAddrFamily, uint16(IPv6))
	}
	e.addr(destAttrAddr, a)
	e.Uint16BE(destAttrPort, d.Addr.Port())
	e.Uint32(destAttrFwdMethod, uint32(d.Method))
	e.Uint32(destAttrWeight, uint32(d.Weight))
	e.Uint32(destAttrUThresh, d.UpperThreshold)
	e.Uint32(destAttrLThresh, d.LowerThreshold)
	e.Uint8(destAttrTunType, uint8(d.TunnelType))
	e.Uint16BE(destAttrTunPort, d.TunnelPort)
	e.Uint16(destAttrTunFlags, uint16(d.TunnelFlags))
	e.EndNest(start)
}

// syncDaemon appends a sync daemon, the fields left zero taking the
// kernel's defaults. A daemon to stop needs only its state.
func (e *encoder) syncDaemon(d *SyncDaemon, stop bool) {
	start := e.Nest(cmdAttrDaemon)
	e.Uint32(daemonAttrState, uint32(d.State))
	if !stop {
		e.String(daemonAttrMcastIfn, d.Interface)
		// The kernel's policy takes the id as 32 bits.
		e.Uint32(daemonAttrSyncID, uint32(d.SyncID))
		if d.MaxLen != 0 {
			e.Uint16(daemonAttrSyncMaxLen, d.MaxLen)
		}
		if d.Port != 0 {
			// In host byte order: the kernel converts it.
			e.Uint16(daemonAttrMcastPort, d.Port)
		}
		if d.TTL != 0 {
			e.Uint8(daemonAttrMcastTTL, d.TTL)
		}
		switch {
		case d.Group.Is4():
			e.addr(daemonAttrMcastGroup, d.Group)
		case d.Group.Is6():
			e.addr(daemonAttrMcastGrp6, d.Group)
		}
	}
	e.EndNest(start)
}

// timeouts appends the timeouts to set, in seconds. A zero one is left
// out, which leaves the kernel's unchanged.
func (e *encoder) timeouts(t *Timeouts) {
	for _, a := range [...]struct {
		typ uint16
		d   time.Duration
	}{
		{cmdAttrTimeoutTCP, t.TCP},
		{cmdAttrTimeoutTCPFin, t.TCPFin},
		{cmdAttrTimeoutUDP, t.UDP},
	} {
		if a.d > 0 {
			e.Uint32(a.typ, uint32(a.d/time.Second))
		}
	}
}

// addrOf reads an address the kernel sends in a 16-byte field whatever
// its family: the family says how much of it is the address.
func addrOf(f Family, b []byte) (netip.Addr, bool) {
	switch {
	case f == IPv4 && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), true
	case f == IPv6 && len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), true
	}
	return netip.Addr{}, false
}

// parseService decodes one reply of a service dump or lookup, without
// destinations. The flags read back lose the kernel's HASHED bit.
func parseService(m []byte) (Service, error) {
	top := decodeMessage(m)
	for top.Next() {
		if top.Type() != cmdAttrService {
			continue
		}
		var (
			s      Service
			ad     = top.Nested()
			addr   []byte
			port   uint16
			proto  uint16
			family Family
			mask   uint32
		)
		for ad.Next() {
			switch ad.Type() {
			case svcAttrAF:
				family = Family(ad.Uint16())
			case svcAttrProtocol:
				proto = ad.Uint16()
			case svcAttrAddr:
				addr = ad.Bytes()
			case svcAttrPort:
				port = ad.Uint16BE()
			case svcAttrFWMark:
				s.FWMark = ad.Uint32()
			case svcAttrSchedName:
				s.Scheduler = ad.String()
			case svcAttrFlags:
				// struct ip_vs_flags, whose mask means nothing read back.
				if v := ad.BytesN(8); v != nil {
					s.Flags = ServiceFlags(binary.NativeEndian.Uint32(v)) &^ flagHashed
				}
			case svcAttrTimeout:
				s.Timeout = time.Duration(ad.Uint32()) * time.Second
			case svcAttrNetmask:
				mask = ad.Uint32()
			case svcAttrPEName:
				s.PE = ad.String()
			}
		}
		if err := ad.Err(); err != nil {
			return Service{}, fmt.Errorf("reading IPVS service: %w", err)
		}
		if family != IPv4 && family != IPv6 {
			return Service{}, fmt.Errorf("reading IPVS service: unsupported %v", family)
		}
		s.Netmask = netmaskFromBits(family, mask)
		if s.FWMark != 0 {
			s.Family = family
			return s, nil
		}
		a, ok := addrOf(family, addr)
		if !ok {
			return Service{}, fmt.Errorf("reading IPVS service: bad %v address %x", family, addr)
		}
		s.Addr = netip.AddrPortFrom(a, port)
		s.Protocol = Protocol(proto)
		return s, nil
	}
	if err := top.Err(); err != nil {
		return Service{}, fmt.Errorf("reading IPVS service: %w", err)
	}
	return Service{}, errors.New("reading IPVS service: no service in message")
}

// parseDestination decodes one reply of a destination dump. It allocates
// nothing, for a dump of tens of thousands of them.
func parseDestination(m []byte) (Destination, error) {
	top := decodeMessage(m)
	for top.Next() {
		if top.Type() != cmdAttrDest {
			continue
		}
		var (
			d    Destination
			ad   = top.Nested()
			addr []byte
			port uint16
			af   Family
		)
		for ad.Next() {
			switch ad.Type() {
			case destAttrAddr:
				addr = ad.Bytes()
			case destAttrPort:
				port = ad.Uint16BE()
			case destAttrAddrFamily:
				af = Family(ad.Uint16())
			case destAttrFwdMethod:
				d.Method = Method(ad.Uint32() & fwdMethodMask)
			case destAttrWeight:
				d.Weight = int(ad.Uint32())
			case destAttrUThresh:
				d.UpperThreshold = ad.Uint32()
			case destAttrLThresh:
				d.LowerThreshold = ad.Uint32()
			case destAttrTunType:
				d.TunnelType = TunnelType(ad.Uint8())
			case destAttrTunPort:
				d.TunnelPort = ad.Uint16BE()
			case destAttrTunFlags:
				d.TunnelFlags = TunnelFlags(ad.Uint16())
			}
		}
		if err := ad.Err(); err != nil {
			return Destination{}, err
		}
		ip, ok := addrOf(af, addr)
		if !ok {
			return Destination{}, fmt.Errorf("destination address %x of %v", addr, af)
		}
		d.Addr = netip.AddrPortFrom(ip, port)
		return d, nil
	}
	if err := top.Err(); err != nil {
		return Destination{}, err
	}
	return Destination{}, errors.New("no destination in message")
}

// parseSyncDaemon decodes one reply of a sync daemon dump.
func parseSyncDaemon(m []byte) (SyncDaemon, error) {
	var d SyncDaemon
	top := decodeMessage(m)
	for top.Next() {
		if top.Type() != cmdAttrDaemon {
			continue
		}
		ad := top.Nested()
		for ad.Next() {
			switch ad.Type() {
			case daemonAttrState:
				d.State = SyncState(ad.Uint32())
			case daemonAttrMcastIfn:
				d.Interface = ad.String()
			case daemonAttrSyncID:
				d.SyncID = uint8(ad.Uint32())
			case daemonAttrSyncMaxLen:
				d.MaxLen = ad.Uint16()
			case daemonAttrMcastPort:
				d.Port = ad.Uint16()
			case daemonAttrMcastTTL:
				d.TTL = ad.Uint8()
			case daemonAttrMcastGroup, daemonAttrMcastGrp6:
				// The kernel reports the group of the daemon's family,
				// unspecified when none was set.
				if g, ok := netip.AddrFromSlice(ad.Bytes()); ok && !g.IsUnspecified() {
					d.Group = g
				}
			}
		}
		top.Adopt(&ad)
	}
	if err := top.Err(); err != nil {
		return SyncDaemon{}, err
	}
	return d, nil
}

// parseTimeouts decodes the reply to a timeouts request.
func parseTimeouts(m []byte) (Timeouts, error) {
	var t Timeouts
	ad := decodeMessage(m)
	for ad.Next() {
		switch ad.Type() {
		case cmdAttrTimeoutTCP:
			t.TCP = time.Duration(ad.Uint32()) * time.Second
		case cmdAttrTimeoutTCPFin:
			t.TCPFin = time.Duration(ad.Uint32()) * time.Second
		case cmdAttrTimeoutUDP:
			t.UDP = time.Duration(ad.Uint32()) * time.Second
		}
	}
	return t, ad.Err()
}

// parseFamilyID decodes the generic netlink controller's reply naming a
// family, returning its id, zero when the reply has none.
func parseFamilyID(m []byte) (uint16, error) {
	ad := decodeMessage(m)
	for ad.Next() {
		if ad.Type() == genlCtrlAttrFamilyID {
			id := ad.Uint16()
			return id, ad.Err()
		}
	}
	return 0, ad.Err()
}
