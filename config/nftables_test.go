package config

import (
	"slices"
	"strings"
	"testing"
)

// TestNFTablesKeywords checks nftables, nftables_priority,
// nftables_ifindex and nftables_counters as keepalived's global_parser.c
// reads them: nftables names the table ("keepalived" without a name)
// and resets the priority to -1, the default; a second nftables is
// ignored.
func TestNFTablesKeywords(t *testing.T) {
	type fw struct {
		table    string
		prio     int32
		ifindex  bool
		counters bool
	}
	tests := []struct {
		name, global string
		want         fw
		diags        []string
	}{
		{"none", "", fw{"", -1, false, false}, nil},
		{"default name", "nftables", fw{"keepalived", -1, false, false}, nil},
		{"name and all", "nftables ka\nnftables_priority -20\nnftables_ifindex\nnftables_counters", fw{"ka", -20, true, true}, nil},
		{"priority before nftables is reset", "nftables_priority 7\nnftables ka", fw{"ka", -1, false, false}, nil},
		{"priority alone", "nftables_priority 7", fw{"", 7, false, false}, nil},
		{"twice", "nftables a\nnftables b", fw{"a", -1, false, false}, []string{"nftables already specified - ignoring"}},
		{"bad priority", "nftables_priority x", fw{"", -1, false, false}, []string{"invalid nftables chain priority 'x'"}},
		{"long name", "nftables " + strings.Repeat("n", 256), fw{"", -1, false, false}, []string{"nftables table name too long - ignoring"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds := Parse("t.conf", []byte("global_defs {\n"+tt.global+"\n}\n"+vi1+"}\n"), Options{ConfigID: "main"})
			var msgs []string
			for _, d := range ds.Keepalived() {
				msgs = append(msgs, d.Msg)
			}
			if !slices.Equal(msgs, tt.diags) {
				t.Errorf("diagnostics %q, want %q", msgs, tt.diags)
			}
			g := cfg.Global
			if got := (fw{g.NFTables, g.NFTablesPriority, g.NFTablesIfindex, g.NFTablesCounters}); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
