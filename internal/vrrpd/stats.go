package vrrpd

import (
	"fmt"
	"io"
	"maps"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

// The files keepalived writes on SIGUSR2 and on its JSON signal are read
// by tools such as keepalived-exporter, so their layouts are keepalived's.

// keepalivedStats are an instance's counters under keepalived's names.
type keepalivedStats struct {
	AdvertRcvd        uint64 `json:"advert_rcvd"`
	AdvertSent        uint64 `json:"advert_sent"`
	BecomeMaster      uint64 `json:"become_master"`
	ReleaseMaster     uint64 `json:"release_master"`
	PacketLenErr      uint64 `json:"packet_len_err"`
	AdvertIntervalErr uint64 `json:"advert_interval_err"`
	IPTTLErr          uint64 `json:"ip_ttl_err"`
	InvalidTypeRcvd   uint64 `json:"invalid_type_rcvd"`
	AddrListErr       uint64 `json:"addr_list_err"`
	InvalidAuthType   uint64 `json:"invalid_authtype"`
	AuthTypeMismatch  uint64 `json:"authtype_mismatch"`
	AuthFailure       uint64 `json:"auth_failure"`
	PriZeroRcvd       uint64 `json:"pri_zero_rcvd"`
	PriZeroSent       uint64 `json:"pri_zero_sent"`
}

// keepalivedCounters maps an instance's counters, less a baseline taken
// at the last STATS_CLEAR, to keepalived's. A bad checksum is a length
// error to keepalived, which checks both as one.
func keepalivedCounters(s, base vrrp.Stats) keepalivedStats {
	d := func(r vrrp.DropReason) uint64 { return s.Drops[r] - base.Drops[r] }
	return keepalivedStats{
		AdvertRcvd:        s.AdvertsReceived - base.AdvertsReceived,
		AdvertSent:        s.AdvertsSent - base.AdvertsSent,
		BecomeMaster:      s.BecameMaster - base.BecameMaster,
		ReleaseMaster:     s.ReleasedMaster - base.ReleasedMaster,
		PacketLenErr:      d(vrrp.DropLength) + d(vrrp.DropChecksum),
		AdvertIntervalErr: d(vrrp.DropInterval),
		IPTTLErr:          d(vrrp.DropTTL),
		InvalidTypeRcvd:   d(vrrp.DropType) + d(vrrp.DropVersion),
		AddrListErr:       d(vrrp.DropAddresses),
		AuthFailure:       d(vrrp.DropAuth),
		PriZeroRcvd:       s.PriorityZeroReceived - base.PriorityZeroReceived,
		PriZeroSent:       s.PriorityZeroSent - base.PriorityZeroSent,
	}
}

// WriteStats writes keepalived's statistics file. With clear, the counters
// start again from zero afterwards, as keepalived's STATS_CLEAR signal does.
func (l *Loop) WriteStats(w io.Writer, clear bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, in := range l.instances {
		if in.vrrp == nil {
			continue
		}
		st := in.vrrp.Status()
		k := keepalivedCounters(st.Stats, in.baseline)
		if clear {
			in.baseline = cloneStats(st.Stats)
		}
		fmt.Fprintf(w, "VRRP Instance: %s\n", st.Name)
		fmt.Fprintf(w, "  Advertisements:\n    Received: %d\n    Sent: %d\n", k.AdvertRcvd, k.AdvertSent)
		fmt.Fprintf(w, "  Became master: %d\n  Released master: %d\n", k.BecomeMaster, k.ReleaseMaster)
		fmt.Fprintf(w, "  Packet Errors:\n    Length: %d\n    TTL: %d\n    Invalid Type: %d\n    Advertisement Interval: %d\n    Address List: %d\n",
			k.PacketLenErr, k.IPTTLErr, k.InvalidTypeRcvd, k.AdvertIntervalErr, k.AddrListErr)
		fmt.Fprintf(w, "  Authentication Errors:\n    Invalid Type: %d\n    Type Mismatch: %d\n    Failure: %d\n",
			k.InvalidAuthType, k.AuthTypeMismatch, k.AuthFailure)
		fmt.Fprintf(w, "  Priority Zero:\n    Received: %d\n    Sent: %d\n", k.PriZeroRcvd, k.PriZeroSent)
	}
}

func cloneStats(s vrrp.Stats) vrrp.Stats {
	c := s
	c.Drops = maps.Clone(s.Drops)
	return c
}
