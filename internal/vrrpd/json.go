package vrrpd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// keepalivedJSON is one element of keepalived's JSON file (vrrp_json.c).
type keepalivedJSON struct {
	Data  keepalivedData  `json:"data"`
	Stats keepalivedStats `json:"stats"`
}

// keepalivedData is an instance's "data" object, its fields in
// keepalived's order and of keepalived's JSON types: flags keepalived
// writes as unsigned numbers are numbers here too.
type keepalivedData struct {
	Iname                string  `json:"iname"`
	DontTrackPrimary     uint    `json:"dont_track_primary"`
	SkipCheckAdvAddr     uint    `json:"skip_check_adv_addr"`
	StrictMode           uint    `json:"strict_mode"`
	VMACIfname           string  `json:"vmac_ifname"`
	IfpIfname            string  `json:"ifp_ifname,omitempty"`
	MasterPriority       int     `json:"master_priority"`
	LastTransition       float64 `json:"last_transition"`
	GarpDelay            float64 `json:"garp_delay"`
	GarpRefresh          int     `json:"garp_refresh"`
	GarpRep              int     `json:"garp_rep"`
	GarpRefreshRep       int     `json:"garp_refresh_rep"`
	GarpLowerPrioDelay   int     `json:"garp_lower_prio_delay"`
	GarpLowerPrioRep     int     `json:"garp_lower_prio_rep"`
	LowerPrioNoAdvert    uint    `json:"lower_prio_no_advert"`
	HigherPrioSendAdvert uint    `json:"higher_prio_send_advert"`
	Vrid                 int     `json:"vrid"`
	BasePriority         int     `json:"base_priority"`
	EffectivePriority    int     `json:"effective_priority"`
	Vipset               bool    `json:"vipset"`
	PromoteSecondaries   bool    `json:"promote_secondaries"`
	AdverInt             float64 `json:"adver_int"`
	MasterAdverInt       float64 `json:"master_adver_int"`
	Accept               uint    `json:"accept"`
	Nopreempt            bool    `json:"nopreempt"`
	PreemptDelay         int     `json:"preempt_delay"`
	State                int     `json:"state"`
	Wantstate            int     `json:"wantstate"`
	Version              int     `json:"version"`
	SMTPAlert            bool    `json:"smtp_alert"`
	NotifyDeleted        bool    `json:"notify_deleted"`

	ScriptBackup           string `json:"script_backup,omitempty"`
	ScriptMaster           string `json:"script_master,omitempty"`
	ScriptFault            string `json:"script_fault,omitempty"`
	ScriptStop             string `json:"script_stop,omitempty"`
	ScriptDeleted          string `json:"script_deleted,omitempty"`
	Script                 string `json:"script,omitempty"`
	ScriptMasterRxLowerPri string `json:"script_master_rx_lower_pri,omitempty"`

	Vips        []string `json:"vips,omitempty"`
	Evips       []string `json:"evips,omitempty"`
	Vroutes     []string `json:"vroutes,omitempty"`
	Vrules      []string `json:"vrules,omitempty"`
	TrackIfp    []string `json:"track_ifp,omitempty"`
	TrackScript []string `json:"track_script,omitempty"`

	AuthType int    `json:"auth_type"`
	AuthData string `json:"auth_data,omitempty"`
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

// flag is a boolean as keepalived's jsonw_uint_field writes a flag bit.
func flag(b bool) uint {
	if b {
		return 1
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
		out = append(out, keepalivedJSON{Data: jsonData(st, in), Stats: keepalivedCounters(st.Stats, in.baseline)})
	}
	return json.NewEncoder(w).Encode(out)
}

func jsonData(st vrrp.Status, in *instance) keepalivedData {
	ci := in.cfg
	version := ci.Version
	if version == 0 {
		version = 2
	}
	master := st.State == vrrp.StateMaster
	d := keepalivedData{
		Iname:                st.Name,
		DontTrackPrimary:     flag(ci.DontTrackPrimary),
		SkipCheckAdvAddr:     flag(ci.SkipCheckAdvAddr),
		StrictMode:           flag(ci.StrictMode),
		IfpIfname:            ci.Interface,
		MasterPriority:       int(st.AdvertPriority),
		GarpDelay:            ci.GarpMasterDelay.Seconds(),
		GarpRefresh:          int(ci.GarpMasterRefresh.Seconds()),
		GarpRep:              ci.GarpMasterRepeat,
		GarpRefreshRep:       ci.GarpMasterRefreshRepeat,
		GarpLowerPrioDelay:   int(ci.GarpLowerPrioDelay.Seconds()),
		GarpLowerPrioRep:     ci.GarpLowerPrioRepeat,
		LowerPrioNoAdvert:    flag(ci.LowerPrioNoAdvert),
		HigherPrioSendAdvert: flag(ci.HigherPrioSendAdvert),
		Vrid:                 int(st.VRID),
		BasePriority:         int(st.Priority),
		EffectivePriority:    int(st.EffectivePriority),
		Vipset:               master && len(ci.VirtualIPs) > 0,
		PromoteSecondaries:   ci.PromoteSecondaries,
		AdverInt:             ci.AdvertInt.Seconds(),
		MasterAdverInt:       st.MasterInterval.Seconds(),
		Accept:               flag(ci.Accept),
		Nopreempt:            ci.Nopreempt,
		PreemptDelay:         int(ci.PreemptDelay.Seconds()),
		State:                keepalivedState(st.State),
		Wantstate:            keepalivedState(st.State),
		Version:              version,
		SMTPAlert:            ci.SMTPAlert,
		NotifyDeleted:        ci.Notify.Deleted != nil,
		TrackIfp:             in.trackIfs,
		TrackScript:          in.trackScripts,
	}
	d.VMACIfname = in.vmac
	if d.MasterAdverInt == 0 {
		d.MasterAdverInt = d.AdverInt
	}
	if !st.LastTransition.IsZero() {
		d.LastTransition = float64(st.LastTransition.UnixMicro()) / 1e6
	}
	if s := in.scripts; s != nil {
		d.ScriptBackup = cmdStr(s.Backup)
		d.ScriptMaster = cmdStr(s.Master)
		d.ScriptFault = cmdStr(s.Fault)
		d.ScriptStop = cmdStr(s.Stop)
		d.ScriptDeleted = cmdStr(s.Deleted)
		d.Script = cmdStr(s.Notify)
		d.ScriptMasterRxLowerPri = cmdStr(s.MasterRxLowerPri)
	}
	for _, a := range ci.VirtualIPs {
		d.Vips = append(d.Vips, dataAddress(a, ci.Interface, master))
	}
	for _, a := range ci.ExcludedVIPs {
		d.Evips = append(d.Evips, dataAddress(a, ci.Interface, master))
	}
	for _, r := range ci.VirtualRoutes {
		d.Vroutes = append(d.Vroutes, formatRoute(r, ci.Interface))
	}
	for _, r := range ci.VirtualRules {
		d.Vrules = append(d.Vrules, formatRule(r))
	}
	if a := ci.Auth; a != nil && version == 2 {
		switch a.Type {
		case config.AuthPass:
			d.AuthType, d.AuthData = 1, a.Pass
		case config.AuthAH:
			d.AuthType, d.AuthData = 2, a.Pass
		}
	}
	return d
}

// cmdStr is keepalived's cmd_str of a script: each word quoted.
func cmdStr(s *notify.Script) string {
	if s == nil {
		return ""
	}
	return dump.QuoteArgs(s.Args)
}

// formatRoute writes a virtual route as keepalived's format_iproute
// does: numbers for tables, protocols and scopes.
func formatRoute(r config.Route, iface string) string {
	var b strings.Builder
	// keepalived 2.2.7 shows a typed route as added and any other as
	// prepended, the kernel's default.
	if r.Type != config.RouteUnspec && r.Type != config.RouteUnicast {
		b.WriteString("add " + r.Type.String() + " ")
	} else {
		b.WriteString("prepend ")
	}
	if r.To.IsValid() && r.To.Bits() != 0 {
		b.WriteString(prefixText(r.To))
	} else {
		b.WriteString("default")
	}
	if r.Src.IsValid() {
		fmt.Fprintf(&b, " src %s", r.Src)
	}
	if r.Via.IsValid() {
		family := "inet"
		if r.Via.Is6() {
			family = "inet6"
		}
		fmt.Fprintf(&b, " via %s %s", family, r.Via)
	}
	if r.Dev != "" {
		fmt.Fprintf(&b, " dev %s", r.Dev)
	}
	if r.Table != config.TableUnspec && r.Table != config.TableMain {
		fmt.Fprintf(&b, " table %d", uint32(r.Table))
	}
	switch {
	case r.Protocol != 0:
		fmt.Fprintf(&b, " proto %d", uint8(r.Protocol))
	case !r.NoTrack || r.Dev == "":
		// keepalived marks the routes it tracks as its own before it
		// gives up tracking one without an interface.
		fmt.Fprintf(&b, " proto %d", uint8(config.RouteProtocolKeepalived))
	}
	if r.Scope != config.ScopeGlobal {
		fmt.Fprintf(&b, " scope %d", uint8(r.Scope))
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.NoTrack {
		b.WriteString(" no_track")
	}
	return b.String()
}

// formatRule writes a virtual rule as keepalived's format_iprule does.
func formatRule(r config.Rule) string {
	var b strings.Builder
	if r.IPv6 && !r.From.IsValid() && !r.To.IsValid() {
		b.WriteString("inet6 ")
	}
	if r.Invert {
		b.WriteString("not ")
	}
	if r.From.IsValid() {
		fmt.Fprintf(&b, "from %s", prefixText(r.From))
	} else {
		b.WriteString("from all")
	}
	if r.To.IsValid() {
		fmt.Fprintf(&b, " to %s", prefixText(r.To))
	}
	if r.Priority != 0 {
		fmt.Fprintf(&b, " priority %d", r.Priority)
	}
	b.WriteString(" tos 0x0")
	if f := r.Fwmark; f != nil {
		fmt.Fprintf(&b, " fwmark 0x%x", f.Mark)
		if f.HasMask && f.Mask != 0xffffffff {
			fmt.Fprintf(&b, "/0x%x", f.Mask)
		}
	}
	if r.Iif != "" {
		fmt.Fprintf(&b, " iif %s", r.Iif)
	}
	if r.Oif != "" {
		fmt.Fprintf(&b, " oif %s", r.Oif)
	}
	switch {
	case r.Protocol != 0:
		fmt.Fprintf(&b, " protocol %d", r.Protocol)
	case !r.NoTrack:
		fmt.Fprintf(&b, " protocol %d", uint8(config.RouteProtocolKeepalived))
	}
	switch r.Action {
	case config.RuleToTable:
		fmt.Fprintf(&b, " lookup %d", uint32(r.Table))
	case config.RuleGoto:
		fmt.Fprintf(&b, " goto %d", r.Goto)
	case config.RuleNop:
		b.WriteString(" nop")
	default:
		fmt.Fprintf(&b, " type %s", r.Action)
	}
	if r.NoTrack {
		b.WriteString(" no_track")
	}
	return b.String()
}

// prefixText is an address as keepalived's ipaddresstos writes it: the
// prefix length only when it is not the whole address.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
