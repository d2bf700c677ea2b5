package ipvs

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A Protocol is the transport protocol of an address-based service.
type Protocol uint16

// Protocols a virtual server can balance.
const (
	TCP  Protocol = unix.IPPROTO_TCP
	UDP  Protocol = unix.IPPROTO_UDP
	SCTP Protocol = unix.IPPROTO_SCTP
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("protocol(%d)", uint16(p))
}

// A Family is an address family, IPv4 or IPv6.
type Family uint16

// Address families.
const (
	IPv4 Family = unix.AF_INET
	IPv6 Family = unix.AF_INET6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// A Method is how packets are forwarded to a destination: keepalived's
// lb_kind.
type Method uint32

// Forwarding methods, with the kernel's IP_VS_CONN_F_* values.
const (
	NAT         Method = 0 // masquerading, lb_kind NAT
	Tunnel      Method = 2 // IP-in-IP, lb_kind TUN
	DirectRoute Method = 3 // direct routing, lb_kind DR
)

func (m Method) String() string {
	switch m {
	case NAT:
		return "NAT"
	case Tunnel:
		return "TUN"
	case DirectRoute:
		return "DR"
	}
	return fmt.Sprintf("method(%d)", uint32(m))
}

// A TunnelType is the encapsulation of the Tunnel method, keepalived's
// tun_type.
type TunnelType uint8

// Tunnel types, the kernel's IP_VS_CONN_F_TUNNEL_TYPE_* values.
const (
	IPIP TunnelType = 0
	GUE  TunnelType = 1
	GRE  TunnelType = 2
)

func (t TunnelType) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return fmt.Sprintf("tunnel(%d)", uint8(t))
}

// TunnelFlags are the checksum options of GUE and GRE tunnels, keepalived's
// tun_flags.
type TunnelFlags uint16

// Tunnel flags, the kernel's IP_VS_TUNNEL_ENCAP_FLAG_* values. No flag
// means no checksum.
const (
	TunnelChecksum       TunnelFlags = 1 << 0 // csum
	TunnelRemoteChecksum TunnelFlags = 1 << 1 // remcsum
)

// option is ipvsadm's option for the method.
func (m Method) option() string {
	switch m {
	case NAT:
		return "-m"
	case Tunnel:
		return "-i"
	case DirectRoute:
		return "-g"
	}
	return m.String()
}

// ServiceFlags are a service's IP_VS_SVC_F_* flags.
type ServiceFlags uint32

// Service flags. The scheduler flags mean what the service's scheduler
// makes of them; FlagSHFallback and the like name them for sh and mh.
const (
	FlagPersistent ServiceFlags = 0x0001 // persistence_timeout
	FlagOnePacket  ServiceFlags = 0x0004 // ops: one-packet scheduling
	FlagSched1     ServiceFlags = 0x0008
	FlagSched2     ServiceFlags = 0x0010
	FlagSched3     ServiceFlags = 0x0020

	FlagSHFallback = FlagSched1 // sh-fallback
	FlagSHPort     = FlagSched2 // sh-port
	FlagMHFallback = FlagSched1 // mh-fallback
	FlagMHPort     = FlagSched2 // mh-port

	// flagHashed is set by the kernel on every service it has hashed into
	// its tables; it is never ours to set or compare.
	flagHashed ServiceFlags = 0x0002
)

// A Service is one virtual server and the real servers behind it.
//
// It is identified either by Addr and Protocol or, when FWMark is not
// zero, by FWMark and Family.
type Service struct {
	Addr     netip.AddrPort
	Protocol Protocol

	// FWMark, when not zero, makes this a firewall-mark service: Addr and
	// Protocol are then ignored and Family says which family it balances.
	FWMark uint32
	Family Family

	Scheduler string // lb_algo: rr, wrr, lc, wlc, sh, mh, ...
	Flags     ServiceFlags

	// Timeout is the persistence timeout, in whole seconds, used with
	// FlagPersistent.
	Timeout time.Duration

	// Netmask is the persistence granularity. Nil means a single client
	// address (255.255.255.255 or /128), the kernel's and ipvsadm's default.
	Netmask net.IPMask

	// PE is the persistence engine, such as "sip" (keepalived's
	// persistence_engine, ipvsadm's --pe); empty means none.
	PE string

	Destinations []Destination
}

// A Destination is one real server of a service.
type Destination struct {
	Addr   netip.AddrPort
	Method Method
	Weight int

	// Connection thresholds; zero means no limit.
	UpperThreshold uint32
	LowerThreshold uint32

	// Encapsulation of the Tunnel method; TunnelPort is GUE's UDP port.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags
}

// A ServiceKey identifies a service in the kernel's table: its address
// and protocol, or its firewall mark and family. Keys are comparable, so
// they can index maps.
type ServiceKey struct {
	family   Family
	protocol Protocol
	addr     netip.AddrPort
	fwmark   uint32
}

// Key returns the key that identifies the service in the kernel's table.
func (s Service) Key() ServiceKey {
	if s.FWMark != 0 {
		return ServiceKey{family: s.family(), fwmark: s.FWMark}
	}
	return ServiceKey{family: s.family(), protocol: s.Protocol, addr: s.Addr}
}

// String formats the key as Service.String does.
func (k ServiceKey) String() string {
	s := k.service()
	return s.String()
}

// service returns a service bearing only the key, enough for the kernel to
// find the one it names.
func (k ServiceKey) service() Service {
	if k.fwmark != 0 {
		return Service{FWMark: k.fwmark, Family: k.family}
	}
	return Service{Addr: k.addr, Protocol: k.protocol}
}

// valid reports whether the key can name a service at all: the zero key
// cannot.
func (k ServiceKey) valid() bool {
	return k.fwmark != 0 || k.addr.IsValid()
}

func (s *Service) family() Family {
	if s.FWMark != 0 {
		if s.Family == 0 {
			return IPv4
		}
		return s.Family
	}
	if s.Addr.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

// destKey identifies a destination within its service.
type destKey = netip.AddrPort

// String formats the service the way ipvsadm names it on its command line:
// "-t 192.0.2.1:80", "-u [2001:db8::1]:53", "-f 1".
func (s Service) String() string {
	if s.FWMark != 0 {
		if s.family() == IPv6 {
			return fmt.Sprintf("-f %d -6", s.FWMark)
		}
		return fmt.Sprintf("-f %d", s.FWMark)
	}
	var opt string
	switch s.Protocol {
	case TCP:
		opt = "-t"
	case UDP:
		opt = "-u"
	case SCTP:
		opt = "--sctp-service"
	default:
		opt = s.Protocol.String()
	}
	return opt + " " + s.Addr.String()
}

func (d Destination) String() string {
	return "-r " + d.Addr.String()
}

// describe formats the destination with its options, in ipvsadm's words.
func (d *Destination) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s -w %d", d, d.Method.option(), d.Weight)
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		fmt.Fprintf(&b, " -x %d -y %d", d.UpperThreshold, d.LowerThreshold)
	}
	if d.Method == Tunnel && (d.TunnelType != IPIP || d.TunnelFlags != 0) {
		b.WriteString(" --tun-type " + d.TunnelType.String())
		if d.TunnelPort != 0 {
			fmt.Fprintf(&b, " --tun-port %d", d.TunnelPort)
		}
		switch {
		case d.TunnelFlags&TunnelRemoteChecksum != 0:
			b.WriteString(" --tun-remcsum")
		case d.TunnelFlags&TunnelChecksum != 0:
			b.WriteString(" --tun-csum")
		}
	}
	return b.String()
}

// netmaskBits is the persistence granularity as the kernel takes it: an
// IPv4 netmask as a network-order 32-bit value in native byte order, or an
// IPv6 prefix length.
func (s *Service) netmaskBits() uint32 {
	if s.family() == IPv6 {
		if s.Netmask == nil {
			return 128
		}
		ones, _ := s.Netmask.Size()
		return uint32(ones)
	}
	m := s.Netmask
	switch len(m) {
	case net.IPv6len:
		m = m[12:]
	case net.IPv4len:
	default:
		m = net.CIDRMask(32, 32)
	}
	return binary.NativeEndian.Uint32(m)
}

// netmaskFromBits is the inverse of netmaskBits, always returning a non-nil
// mask so that kernel and desired state compare equal.
func netmaskFromBits(f Family, bits uint32) net.IPMask {
	if f == IPv6 {
		return net.CIDRMask(int(min(bits, 128)), 128)
	}
	m := make(net.IPMask, net.IPv4len)
	binary.NativeEndian.PutUint32(m, bits)
	return m
}

// sameAttributes reports whether the service's attributes that an update
// can change (not its key, not its destinations) are equal.
func sameAttributes(a, b *Service) bool {
	return a.Scheduler == b.Scheduler &&
		a.Flags&^flagHashed == b.Flags&^flagHashed &&
		a.Timeout.Truncate(time.Second) == b.Timeout.Truncate(time.Second) &&
		a.netmaskBits() == b.netmaskBits() &&
		a.PE == b.PE
}

// Validate reports whether the service can be programmed: its identity is
// complete, the scheduler is named and no destination is listed twice.
func (s *Service) Validate() error {
	switch {
	case s.FWMark == 0 && !s.Addr.IsValid():
		return fmt.Errorf("service has neither an address nor a firewall mark")
	case s.FWMark == 0 && (s.Addr.Addr().Is4In6() || s.Addr.Addr().Zone() != ""):
		// The kernel's table knows neither form: the same service would
		// never compare equal to what it reads back.
		return fmt.Errorf("service %s: address must be plain IPv4 or IPv6", s)
	case s.FWMark == 0 && s.Protocol != TCP && s.Protocol != UDP && s.Protocol != SCTP:
		return fmt.Errorf("service %s: unsupported %v", s, s.Protocol)
	case s.FWMark != 0 && s.Family != 0 && s.Family != IPv4 && s.Family != IPv6:
		return fmt.Errorf("service %s: unsupported %v", s, s.Family)
	case s.FWMark == 0 && s.Family != 0 && s.Family != s.family():
		return fmt.Errorf("service %s: address is not %v", s, s.Family)
	case s.Scheduler == "":
		return fmt.Errorf("service %s: no scheduler", s)
	case s.Timeout < 0:
		return fmt.Errorf("service %s: negative persistence timeout", s)
	}
	seen := make(map[destKey]bool, len(s.Destinations))
	for _, d := range s.Destinations {
		switch {
		case !d.Addr.IsValid():
			return fmt.Errorf("service %s: destination without an address", s)
		case d.Addr.Addr().Is4In6() || d.Addr.Addr().Zone() != "":
			return fmt.Errorf("service %s: destination %s: address must be plain IPv4 or IPv6", s, d.Addr)
		case d.Addr.Addr().Is4() != (s.family() == IPv4) && d.Method != Tunnel:
			// Only a tunnel can carry one family inside the other.
			return fmt.Errorf("service %s: destination %s is not %v", s, d.Addr, s.family())
		case d.Method != Tunnel && (d.TunnelType != IPIP || d.TunnelPort != 0 || d.TunnelFlags != 0):
			return fmt.Errorf("service %s: destination %s: tunnel options without the tunnel method", s, d.Addr)
		case d.TunnelType > GRE:
			return fmt.Errorf("service %s: destination %s: unsupported %v", s, d.Addr, d.TunnelType)
		case d.TunnelType == GUE && d.TunnelPort == 0:
			return fmt.Errorf("service %s: destination %s: GUE tunnel without a port", s, d.Addr)
		case d.Weight < 0 || d.Weight > 65535:
			return fmt.Errorf("service %s: destination %s: weight %d out of range", s, d.Addr, d.Weight)
		case d.Method != NAT && d.Method != Tunnel && d.Method != DirectRoute:
			return fmt.Errorf("service %s: destination %s: unsupported %v", s, d.Addr, d.Method)
		case seen[d.Addr]:
			return fmt.Errorf("service %s: destination %s listed twice", s, d.Addr)
		}
		seen[d.Addr] = true
	}
	return nil
}

// header returns a copy of the service without its destinations, the form
// operations and kernel calls carry.
func (s *Service) header() Service {
	h := *s
	h.Destinations = nil
	h.Netmask = slices.Clone(s.Netmask)
	return h
}

// describe returns a one-line description used by Op.String.
func (s *Service) describe() string {
	var b strings.Builder
	b.WriteString(s.String())
	fmt.Fprintf(&b, " -s %s", s.Scheduler)
	if s.Flags&FlagPersistent != 0 {
		fmt.Fprintf(&b, " -p %d", int(s.Timeout/time.Second))
	}
	if s.PE != "" {
		fmt.Fprintf(&b, " --pe %s", s.PE)
	}
	if f := s.Flags &^ (FlagPersistent | flagHashed); f != 0 {
		fmt.Fprintf(&b, " flags %#x", uint32(f))
	}
	return b.String()
}
