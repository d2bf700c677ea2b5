package vrrpd

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"

	"github.com/gokeepalived/gokeepalived/config"
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

// keepalivedJSON is one element of keepalived's JSON file.
type keepalivedJSON struct {
	Data  keepalivedData  `json:"data"`
	Stats keepalivedStats `json:"stats"`
}

type keepalivedData struct {
	Iname             string   `json:"iname"`
	IfpIfname         string   `json:"ifp_ifname"`
	Vrid              int      `json:"vrid"`
	BasePriority      int      `json:"base_priority"`
	EffectivePriority int      `json:"effective_priority"`
	MasterPriority    int      `json:"master_priority"`
	LastTransition    float64  `json:"last_transition"`
	State             int      `json:"state"`
	Wantstate         int      `json:"wantstate"`
	Version           int      `json:"version"`
	AdverInt          float64  `json:"adver_int"`
	MasterAdverInt    float64  `json:"master_adver_int"`
	Nopreempt         bool     `json:"nopreempt"`
	PreemptDelay      float64  `json:"preempt_delay"`
	Vips              []string `json:"vips"`
	AuthType          int      `json:"auth_type"`
}

// keepalivedState numbers states as keepalived's JSON does.
func keepalivedState(s vrrp.State) int {
	switch s {
	case vrrp.StateBackup:
		return 1
	case vrrp.StateMaster:
		return 2
	case vrrp.StateFault:
		return 3
	case vrrp.StateStop:
		return 98 // VRRP_STATE_STOP
	}
	return 0
}

// WriteJSON writes keepalived's JSON file: each instance's data and stats.
func (l *Loop) WriteJSON(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []keepalivedJSON{}
	for _, in := range l.instances {
		if in.vrrp == nil {
			continue
		}
		st := in.vrrp.Status()
		ci := in.cfg
		d := keepalivedData{
			Iname:             st.Name,
			IfpIfname:         ci.Interface,
			Vrid:              int(st.VRID),
			BasePriority:      int(st.Priority),
			EffectivePriority: int(st.EffectivePriority),
			MasterPriority:    int(st.MasterPriority),
			State:             keepalivedState(st.State),
			Wantstate:         keepalivedState(st.State),
			Version:           ci.Version,
			AdverInt:          ci.AdvertInt.Seconds(),
			MasterAdverInt:    st.MasterInterval.Seconds(),
			Nopreempt:         ci.Nopreempt,
			PreemptDelay:      ci.PreemptDelay.Seconds(),
			Vips:              []string{},
		}
		if !st.LastTransition.IsZero() {
			d.LastTransition = float64(st.LastTransition.UnixMicro()) / 1e6
		}
		if ci.Auth != nil && ci.Auth.Type == config.AuthPass {
			d.AuthType = 1
		}
		for _, a := range ci.VirtualIPs {
			dev := a.Dev
			if dev == "" {
				dev = ci.Interface
			}
			line := fmt.Sprintf("%s dev %s scope %s", a.Prefix, dev, a.Scope)
			if st.State == vrrp.StateMaster {
				line += " set"
			}
			d.Vips = append(d.Vips, line)
		}
		out = append(out, keepalivedJSON{Data: d, Stats: keepalivedCounters(st.Stats, in.baseline)})
	}
	return json.NewEncoder(w).Encode(out)
}
