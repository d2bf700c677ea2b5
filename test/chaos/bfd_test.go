package chaos

import (
	"strings"
	"testing"
	"time"
)

// TestBFDConf checks, without root, the BFD variant's configurations:
// each director has a session toward each other one, and every instance
// names in bfd_takeover the session to its master when all are well.
func TestBFDConf(t *testing.T) {
	// The usual master of VI_1 is d1, of VI_2 d2, of VI_3 d3; the master
	// itself names the next in priority.
	want := [][nDirectors]int{{1, 0, 0}, {1, 2, 1}, {2, 2, 0}}
	for i, in := range instances {
		for k := range nDirectors {
			if got := takeoverPeer(in, k); got != want[i][k] {
				t.Errorf("%s on %s: bfd_takeover toward %s, want %s", in.name, dirName(k), dirName(got), dirName(want[i][k]))
			}
		}
	}
	c := makeConf(1, 500*time.Millisecond, "/flag", true)
	for _, s := range []string{
		"bfd_instance D1 {\n    neighbor_ip 10.66.0.11\n    source_ip 10.66.0.12\n    min_rx 100\n    min_tx 100\n",
		"bfd_instance D3 {\n    neighbor_ip 10.66.0.13\n    source_ip 10.66.0.12\n",
		"    multiplier 3\n",
		"bfd_takeover D1\n", "bfd_takeover D3\n",
	} {
		if !strings.Contains(c, s) {
			t.Errorf("d2's configuration lacks %q:\n%s", s, c)
		}
	}
	if strings.Contains(c, "bfd_instance D2") || strings.Count(c, "bfd_takeover") != len(instances) {
		t.Errorf("d2's configuration:\n%s", c)
	}
	if c := makeConf(1, 500*time.Millisecond, "/flag", false); strings.Contains(c, "bfd") {
		t.Errorf("without BFD:\n%s", c)
	}
}
