package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

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
	_, err := h.genl(cmdNewDest, 0, serviceKeyAttr(&s), destAttr(&d))
	return err
}

// UpdateDestination implements Kernel.
func (h *Handle) UpdateDestination(s Service, d Destination) error {
	_, err := h.genl(cmdSetDest, 0, serviceKeyAttr(&s), destAttr(&d))
	return err
}

// DelDestination implements Kernel.
func (h *Handle) DelDestination(s Service, d Destination) error {
	_, err := h.genl(cmdDelDest, 0, serviceKeyAttr(&s), destAttr(&d))
	return err
}

// Destinations implements Kernel.
func (h *Handle) Destinations(s Service) ([]Destination, error) {
	msgs, err := h.genl(cmdGetDest, unix.NLM_F_DUMP, serviceKeyAttr(&s))
	if err != nil {
		return nil, fmt.Errorf("listing destinations of service %s: %w", s, err)
	}
	out := make([]Destination, 0, len(msgs))
	for _, m := range msgs {
		d, err := parseDestination(m)
		if err != nil {
			return nil, fmt.Errorf("reading destination of service %s: %w", s, err)
		}
		out = append(out, d)
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

// serviceAttr is the whole service, as adding or updating it takes it.
func serviceAttr(s *Service) *nl.RtAttr {
	a := serviceKeyAttr(s)
	a.AddRtAttr(svcAttrSchedName, nl.ZeroTerminated(s.Scheduler))
	// struct ip_vs_flags: the flags, then the mask of those to set; all
	// of them, as ipvsadm does.
	flags := binary.NativeEndian.AppendUint32(nil, uint32(s.Flags&^flagHashed))
	flags = binary.NativeEndian.AppendUint32(flags, ^uint32(0))
	a.AddRtAttr(svcAttrFlags, flags)
	a.AddRtAttr(svcAttrTimeout, nl.Uint32Attr(uint32(s.Timeout/time.Second)))
	a.AddRtAttr(svcAttrNetmask, nl.Uint32Attr(s.netmaskBits()))
	return a
}

func destAttr(d *Destination) *nl.RtAttr {
	a := nl.NewRtAttr(cmdAttrDest|unix.NLA_F_NESTED, nil)
	f := IPv6
	if d.Addr.Addr().Is4() {
		f = IPv4
	}
	a.AddRtAttr(destAttrAddrFamily, nl.Uint16Attr(uint16(f)))
	a.AddRtAttr(destAttrAddr, d.Addr.Addr().AsSlice())
	a.AddRtAttr(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
	a.AddRtAttr(destAttrFwdMethod, nl.Uint32Attr(uint32(d.Method)))
	a.AddRtAttr(destAttrWeight, nl.Uint32Attr(uint32(d.Weight)))
	a.AddRtAttr(destAttrUThresh, nl.Uint32Attr(d.UpperThreshold))
	a.AddRtAttr(destAttrLThresh, nl.Uint32Attr(d.LowerThreshold))
	a.AddRtAttr(destAttrTunType, nl.Uint8Attr(uint8(d.TunnelType)))
	a.AddRtAttr(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
	a.AddRtAttr(destAttrTunFlags, nl.Uint16Attr(uint16(d.TunnelFlags)))
	return a
}

// parseDestination decodes one reply of a destination dump.
func parseDestination(m []byte) (Destination, error) {
	if len(m) < nl.SizeofGenlmsg {
		return Destination{}, errors.New("short message")
	}
	top, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
	if err != nil {
		return Destination{}, err
	}
	ne := nl.NativeEndian()
	for _, t := range top {
		if t.Attr.Type&^unix.NLA_F_NESTED != cmdAttrDest {
			continue
		}
		attrs, err := nl.ParseRouteAttr(t.Value)
		if err != nil {
			return Destination{}, err
		}
		var (
			d    Destination
			addr []byte
			port uint16
			af   Family
		)
		for _, a := range attrs {
			v := a.Value
			if len(v) == 0 {
				continue
			}
			switch a.Attr.Type {
			case destAttrAddr:
				addr = v
			case destAttrPort:
				port = binary.BigEndian.Uint16(v)
			case destAttrAddrFamily:
				af = Family(ne.Uint16(v))
			case destAttrFwdMethod:
				d.Method = Method(ne.Uint32(v) & fwdMethodMask)
			case destAttrWeight:
				d.Weight = int(ne.Uint32(v))
			case destAttrUThresh:
				d.UpperThreshold = ne.Uint32(v)
			case destAttrLThresh:
				d.LowerThreshold = ne.Uint32(v)
			case destAttrTunType:
				d.TunnelType = TunnelType(v[0])
			case destAttrTunPort:
				d.TunnelPort = binary.BigEndian.Uint16(v)
			case destAttrTunFlags:
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
