package config

import (
	"slices"
	"testing"
	"time"
)

// TestMinGarp checks vrrp_min_garp as keepalived's vrrp_min_garp_handler
// applies it: at its place in global_defs, to the gratuitous ARP settings
// still at their defaults, which the instances then inherit.
func TestMinGarp(t *testing.T) {
	type garp struct {
		delay          time.Duration
		repeat         int
		refresh        time.Duration
		refreshRepeat  int
		lowerPrioDelay time.Duration
		lowerPrioRep   int
	}
	tests := []struct {
		name, global string
		want         garp
	}{
		{"defaults", "", garp{5 * time.Second, 5, 0, 1, 5 * time.Second, 5}},
		{"min_garp", "vrrp_min_garp", garp{0, 1, 0, 0, 0, 1}},
		{"min_garp false", "vrrp_min_garp false", garp{5 * time.Second, 5, 0, 1, 5 * time.Second, 5}},
		{"set before stands", "vrrp_garp_master_repeat 3\nvrrp_min_garp", garp{0, 3, 0, 0, 0, 3}},
		{"default set before is replaced", "vrrp_garp_master_repeat 5\nvrrp_min_garp", garp{0, 1, 0, 0, 0, 1}},
		{"set after overrides", "vrrp_min_garp\nvrrp_garp_master_delay 2", garp{2 * time.Second, 1, 0, 0, 2 * time.Second, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds := Parse("t.conf", []byte("global_defs {\n"+tt.global+"\n}\n"+vi1+"}\n"), Options{ConfigID: "main"})
			if ds = ds.Keepalived(); len(ds) != 0 {
				t.Fatalf("diagnostics: %v", ds)
			}
			in := cfg.Instances[0]
			got := garp{in.GarpMasterDelay, in.GarpMasterRepeat, in.GarpMasterRefresh, in.GarpMasterRefreshRepeat,
				in.GarpLowerPrioDelay, in.GarpLowerPrioRepeat}
			if got != tt.want {
				t.Errorf("instance garp settings %+v, want %+v", got, tt.want)
			}
		})
	}
	_, ds := Parse("t.conf", []byte("global_defs {\nvrrp_min_garp maybe\n}\n"), Options{ConfigID: "main"})
	if ds = ds.Keepalived(); len(ds) != 1 || ds[0].String() != "t.conf:2: Invalid value for vrrp_min_garp specified" {
		t.Errorf("diagnostics: %v", ds)
	}
}

// TestGarpExtraIf checks garp_extra_if and vrrp_garp_extra_if, and their
// old names, against keepalived's handlers.
func TestGarpExtraIf(t *testing.T) {
	tests := []struct {
		src   string
		delay time.Duration
		all   bool
		diags []string
	}{
		{src: "vrrp_garp_extra_if 10 all", delay: 10 * time.Second, all: true},
		{src: "vrrp_garp_extra_if 0", diags: []string{"2: error: number '0' outside range [1, 86400]", "2: error: vrrp_garp_extra_if '0' invalid - ignoring"}},
		{src: "vrrp_garp_extra_if all", all: true, diags: []string{"2: error: vrrp_garp_extra_if specified without time - ignoring"}},
		{src: "vrrp_garp_extra_if 10 bar", diags: []string{"2: error: invalid number 'bar'", "2: error: vrrp_garp_extra_if 'bar' invalid - ignoring"}},
		{src: "vrrp_vmac_garp_intvl 7", delay: 7 * time.Second,
			diags: []string{`2: error: Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"`}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			cfg, diags := parseText(t, "global_defs {\n"+tt.src+"\n}\n")
			if g := cfg.Global; g.VRRPGarpExtraIf != tt.delay || g.VRRPGarpExtraIfAll != tt.all {
				t.Errorf("vrrp_garp_extra_if %v all %v, want %v %v", g.VRRPGarpExtraIf, g.VRRPGarpExtraIfAll, tt.delay, tt.all)
			}
			if !slices.Equal(diags, tt.diags) {
				t.Errorf("diagnostics %q, want %q", diags, tt.diags)
			}
		})
	}
	cfg, diags := parseText(t, "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 1\ngarp_extra_if 0 all\nvmac_garp_intvl x\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n")
	want := []string{
		`5: error: Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"`,
		"5: error: invalid number 'x'",
		"5: error: (VI_1): vmac_garp_intvl 'x' invalid - ignoring",
	}
	if !slices.Equal(diags, want) {
		t.Errorf("diagnostics %q, want %q", diags, want)
	}
	if in := cfg.Instances[0]; in.GarpExtraIf != 0 || !in.GarpExtraIfAll {
		t.Errorf("garp_extra_if %v all %v, want 0 true", in.GarpExtraIf, in.GarpExtraIfAll)
	}
}

// TestStrictForcesValues checks the values strict mode forces on an
// instance, as keepalived's vrrp_complete_instance does, so that -d shows
// them and the VRRP loop runs with them: settings written in global_defs
// give way silently, those the instance writes itself with a message.
func TestStrictForcesValues(t *testing.T) {
	src := `global_defs {
    vrrp_strict
    vrrp_lower_prio_no_advert false
    vrrp_higher_prio_send_advert
    vrrp_garp_lower_prio_repeat 3
    vrrp_garp_lower_prio_delay 2
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    state MASTER
    authentication {
        auth_type PASS
        auth_pass secret
    }
    down_timer_adverts 5
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    lower_prio_no_advert false
    higher_prio_send_advert
    garp_lower_prio_repeat 2
    accept
    virtual_ipaddress {
        10.0.0.2
    }
}
`
	cfg, diags := parseText(t, src)
	want := []string{
		"8: error: (VI_1) down_timer_adverts is incompatible with strict mode - resetting",
		"21: error: (VI_2) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
		"21: error: (VI_2) Strict mode requires no repeat garps. resetting",
		"21: error: (VI_2) Strict mode requires no lower priority advert. resetting",
		"21: error: (VI_2) strict mode requires higher_prio_send_advert to be clear. resetting",
		"8: error: (VI_1) State MASTER must match being address owner",
		"12: error: (VI_1) Strict mode does not support authentication. Ignoring.",
	}
	if !slices.Equal(diags, want) {
		t.Errorf("diagnostics:\n got %q\nwant %q", diags, want)
	}
	for _, in := range cfg.Instances {
		if !in.StrictMode || in.Accept || !in.LowerPrioNoAdvert || in.HigherPrioSendAdvert ||
			in.GarpLowerPrioRepeat != 0 || in.GarpLowerPrioDelay != 0 || in.DownTimerAdverts != 3 ||
			in.Auth != nil || in.State != StateBackup {
			t.Errorf("%s: strict mode's values not forced: %+v", in.Name, in)
		}
	}
}
