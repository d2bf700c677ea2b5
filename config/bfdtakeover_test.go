package config

import (
	"slices"
	"strings"
	"testing"
)

const bfdTakeoverConf = `bfd_instance MASTER_LINK {
    neighbor_ip 10.77.0.1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.10.10.10
    }
    bfd_takeover MASTER_LINK
}
`

// TestBFDTakeover reads bfd_takeover into the instance, with a notice
// naming the extension and nothing unimplemented, and reads back what
// WriteText makes of it.
func TestBFDTakeover(t *testing.T) {
	cfg, ds := parse("t.conf", bfdTakeoverConf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() {
		t.Fatalf("errors: %v", ds)
	}
	var notices []string
	for _, d := range ds {
		switch d.Severity {
		case Extension:
			notices = append(notices, d.String())
		case Unimplemented:
			t.Errorf("unexpected: %s", d)
		}
	}
	if want := []string{"t.conf:11: bfd_takeover: " + bfdTakeoverExtension}; !slices.Equal(notices, want) {
		t.Errorf("notices %q, want %q", notices, want)
	}
	if len(ds.Keepalived()) != 0 {
		t.Errorf("the notice counts as keepalived's: %v", ds.Keepalived())
	}
	if got := cfg.Instances[0].BFDTakeover; got != "MASTER_LINK" {
		t.Errorf("BFDTakeover %q, want MASTER_LINK", got)
	}
	var text strings.Builder
	if err := cfg.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	again, ds := parse("c.conf", text.String(), Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() || again.Instances[0].BFDTakeover != "MASTER_LINK" {
		t.Errorf("read back %q (%v) from:\n%s", again.Instances[0].BFDTakeover, ds, text.String())
	}
}

// TestBFDTakeoverErrors holds each mistake to its file:line message, and
// drops the keyword.
func TestBFDTakeoverErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"bfd_takeover MASTER_LINK", "bfd_takeover OTHER",
			"t.conf:11: (VI_1) bfd_takeover OTHER: no bfd_instance of that name sends to vrrp, ignoring..."},
		{"bfd_takeover MASTER_LINK", "bfd_takeover",
			"t.conf:11: (VI_1) bfd_takeover takes one bfd_instance name"},
		{"bfd_takeover MASTER_LINK", "bfd_takeover A B",
			"t.conf:11: (VI_1) bfd_takeover takes one bfd_instance name"},
		// A session that tells only the checkers is none of VRRP's.
		{"neighbor_ip 10.77.0.1", "neighbor_ip 10.77.0.1\n    checker",
			"t.conf:12: (VI_1) bfd_takeover MASTER_LINK: no bfd_instance of that name sends to vrrp, ignoring..."},
	} {
		conf := strings.Replace(bfdTakeoverConf, tc.from, tc.to, 1)
		cfg, ds := parse("t.conf", conf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		found := false
		for _, d := range ds.Errors() {
			found = found || d.String() == tc.want
		}
		if !found {
			t.Errorf("%q: got %v, want %q", tc.to, ds.Errors(), tc.want)
		}
		if got := cfg.Instances[0].BFDTakeover; got != "" {
			t.Errorf("%q: BFDTakeover %q kept", tc.to, got)
		}
	}
}
