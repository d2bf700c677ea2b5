package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Services and destinations are programmed here rather than through the
// moby/ipvs library, which sends neither the tunnel attributes nor the
// destination's own address family (so an IPv4 real server behind an IPv6
// service), and whose exchange allocates 64 KiB for every reply.

// Generic netlink values from linux/ip_vs.h.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3

	cmdNewDest = 5
	cmdSetDest = 6
	cmdDelDest = 7
	cmdGetDest = 8

	cmdAttrService = 1
	cmdAttrDest    = 2

	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9

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

	fwdMethodMask = 0x7
)

// NewDestination implements Kernel.
func (h *Handle) NewDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: AddDestination, Service: s, Destination: d})
}

// UpdateDestination implements Kernel.
func (h *Handle) UpdateDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: UpdateDestination, Service: s, Destination: d})
}

// DelDestination implements Kernel.
func (h *Handle) DelDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: DeleteDestination, Service: s, Destination: d})
}

// Destinations implements Kernel.
func (h *Handle) Destinations(s Service) ([]Destination, error) {
	family, err := h.ipvsFamily()
	if err != nil {
		return nil, fmt.Errorf("listing destinations of service %s: %w", s, err)
	}
	var out []Destination
	err = h.conn.each(family, cmdGetDest, unix.NLM_F_DUMP, func(m []byte) error {
		d, err := parseDestination(m)
		if err != nil {
			return fmt.Errorf("reading destination of service %s: %w", s, err)
		}
		out = append(out, d)
		return nil
	}, serviceKeyAttr(&s))
	if err != nil {
		return nil, fmt.Errorf("listing destinations of service %s: %w", s, err)
	}
	return out, nil
}

// serviceKeyAttr is the part of a service the kernel looks it up by.
func serviceKeyAttr(s *Service) *nl.RtAttr {
	a := nl.NewRtAttr(cmdAttrService|unix.NLA_F_NESTED, nil)
	a.AddRtAttr(svcAttrAF, nl.Uint16Attr(uint16(s.family())))
	if s.FWMark != 0 {
		a.AddRtAttr(svcAttrFWMark, nl.Uint32Attr(s.FWMark))
		return a
	}
	a.AddRtAttr(svcAttrProtocol, nl.Uint16Attr(uint16(s.Protocol)))
	a.AddRtAttr(svcAttrAddr, s.Addr.Addr().AsSlice())
	a.AddRtAttr(svcAttrPort, binary.BigEndian.AppendUint16(nil, s.Addr.Port()))
	return a
}

// parseDestination decodes one reply of a destination dump.
func parseDestination(m []byte) (Destination, error) {
	if len(m) < nl.SizeofGenlmsg {
		return Destination{}, errors.New("short message")
	}
	ne := binary.NativeEndian
	for top := m[nl.SizeofGenlmsg:]; len(top) > 0; {
		typ, nested, next, err := nextAttr(top)
		if err != nil {
			return Destination{}, err
		}
		top = next
		if typ != cmdAttrDest {
			continue
		}
		var (
			d    Destination
			addr []byte
			port uint16
			af   Family
		)
		for attrs := nested; len(attrs) > 0; {
			typ, v, next, err := nextAttr(attrs)
			if err != nil {
				return Destination{}, err
			}
			attrs = next
			if len(v) == 0 {
				continue
			}
			switch {
			case typ == destAttrAddr:
				addr = v
			case typ == destAttrPort && len(v) >= 2:
				port = binary.BigEndian.Uint16(v)
			case typ == destAttrAddrFamily && len(v) >= 2:
				af = Family(ne.Uint16(v))
			case typ == destAttrFwdMethod && len(v) >= 4:
				d.Method = Method(ne.Uint32(v) & fwdMethodMask)
			case typ == destAttrWeight && len(v) >= 4:
				d.Weight = int(ne.Uint32(v))
			case typ == destAttrUThresh && len(v) >= 4:
				d.UpperThreshold = ne.Uint32(v)
			case typ == destAttrLThresh && len(v) >= 4:
				d.LowerThreshold = ne.Uint32(v)
			case typ == destAttrTunType:
				d.TunnelType = TunnelType(v[0])
			case typ == destAttrTunPort && len(v) >= 2:
				d.TunnelPort = binary.BigEndian.Uint16(v)
			case typ == destAttrTunFlags && len(v) >= 2:
				d.TunnelFlags = TunnelFlags(ne.Uint16(v))
			}
		}
		// The kernel sends every address in a 16-byte field; the family
		// says how much of it is the address.
		var ip netip.Addr
		switch {
		case af == IPv4 && len(addr) >= 4:
			ip = netip.AddrFrom4([4]byte(addr[:4]))
		case af == IPv6 && len(addr) >= 16:
			ip = netip.AddrFrom16([16]byte(addr[:16]))
		default:
			return Destination{}, fmt.Errorf("destination address %x of %v", addr, af)
		}
		d.Addr = netip.AddrPortFrom(ip, port)
		return d, nil
	}
	return Destination{}, errors.New("no destination in message")
}
