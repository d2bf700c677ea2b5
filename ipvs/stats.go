package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The netlink attributes of the kernel's counters (IPVS_SVC_ATTR_STATS,
// IPVS_DEST_ATTR_*CONNS and their IPVS_STATS_ATTR_* members).
const (
	svcAttrStats         = 10
	svcAttrStats64       = 12
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrStats64      = 12

	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
)

// Counters are the kernel's statistics of a service or a destination:
// totals since it was added, and rates estimated over the last seconds.
type Counters struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	// Per second: connections, packets and bytes.
	CPS, InPPS, OutPPS, InBPS, OutBPS uint64
}

// ServiceCounters are a service's counters and its destinations'.
type ServiceCounters struct {
	Counters
	Destinations []DestinationCounters
}

// DestinationCounters are a destination's counters and connections.
type DestinationCounters struct {
	Destination
	Counters
	ActiveConns, InactConns, PersistConns uint32
}

// ServiceCounters reads the counters of service s and of its
// destinations; ok is false when the kernel has no such service.
func (h *Handle) ServiceCounters(s Service) (sc ServiceCounters, ok bool, err error) {
	n := 0
	err = h.request(cmdGetService, 0, func(e *encoder) { e.serviceKey(&s) }, func(m []byte) error {
		n++
		return parseCounters(m, cmdAttrService, svcAttrStats, svcAttrStats64, &sc.Counters, nil)
	})
	switch {
	case errors.Is(err, unix.ESRCH):
		return ServiceCounters{}, false, nil
	case err != nil:
		return ServiceCounters{}, false, fmt.Errorf("reading the counters of IPVS service %s: %w", s, err)
	case n != 1:
		return ServiceCounters{}, false, fmt.Errorf("reading the counters of IPVS service %s: %d replies", s, n)
	}
	err = h.request(cmdGetDest, unix.NLM_F_DUMP, func(e *encoder) { e.serviceKey(&s) }, func(m []byte) error {
		d, err := parseDestination(m)
		if err != nil {
			return err
		}
		dc := DestinationCounters{Destination: d}
		if err := parseCounters(m, cmdAttrDest, destAttrStats, destAttrStats64, &dc.Counters, &dc); err != nil {
			return err
		}
		sc.Destinations = append(sc.Destinations, dc)
		return nil
	})
	if err != nil {
		return ServiceCounters{}, false, fmt.Errorf("reading the counters of the destinations of IPVS service %s: %w", s, err)
	}
	return sc, true, nil
}

// parseCounters reads the counters of the object attribute top of m:
// the 64-bit set when the kernel sends it, the older one otherwise. conns
// receives a destination's connection counts.
func parseCounters(m []byte, top, stats, stats64 uint16, c *Counters, conns *DestinationCounters) error {
	d := decodeMessage(m)
	for d.Next() {
		if d.Type() != top {
			continue
		}
		ad := d.Nested()
		have64 := false
		for ad.Next() {
			switch t := ad.Type(); {
			case t == stats64 || (t == stats && !have64):
				have64 = have64 || t == stats64
				sd := ad.Nested()
				readCounters(&sd, c)
				if err := sd.Err(); err != nil {
					return err
				}
			case conns != nil && t == destAttrActiveConns:
				conns.ActiveConns = ad.Uint32()
			case conns != nil && t == destAttrInactConns:
				conns.InactConns = ad.Uint32()
			case conns != nil && t == destAttrPersistConns:
				conns.PersistConns = ad.Uint32()
			}
		}
		return ad.Err()
	}
	return d.Err()
}

// readCounters reads one set of IPVS_STATS_ATTR_* values, each 32 or 64
// bits wide.
func readCounters(sd *decoder, c *Counters) {
	fields := map[uint16]*uint64{
		statsAttrConns: &c.Conns, statsAttrInPkts: &c.InPkts, statsAttrOutPkts: &c.OutPkts,
		statsAttrInBytes: &c.InBytes, statsAttrOutBytes: &c.OutBytes, statsAttrCPS: &c.CPS,
		statsAttrInPPS: &c.InPPS, statsAttrOutPPS: &c.OutPPS, statsAttrInBPS: &c.InBPS, statsAttrOutBPS: &c.OutBPS,
	}
	for sd.Next() {
		p := fields[sd.Type()]
		if p == nil {
			continue
		}
		switch v := sd.Bytes(); len(v) {
		case 4:
			*p = uint64(binary.NativeEndian.Uint32(v))
		case 8:
			*p = binary.NativeEndian.Uint64(v)
		}
	}
}
