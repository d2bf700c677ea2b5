package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
)

// statusInterval is how often the status line systemd shows is brought
// up to date: a state change shows within it.
const statusInterval = time.Second

// namedInstances is the most instances the status line names one by one;
// beyond it, it counts them by state.
const namedInstances = 3

// reportStatus keeps the one-line status of the unit ("systemctl status",
// StatusText) equal to statusLine of the daemon's status until ctx ends.
// keepalived sends no status line; the line is what an operator looks
// for first: is this director master, and are its real servers up.
func (d *daemon) reportStatus(ctx context.Context) {
	if !d.sd.Enabled() {
		return
	}
	tick := time.NewTicker(statusInterval)
	defer tick.Stop()
	sent := ""
	for {
		if line := statusLine(d.status()); line != sent {
			if err := d.sd.Status(line); err == nil {
				sent = line
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// statusLine sums st up in one line: the state of each VRRP instance (or,
// for many, their count by state) and the real servers up.
//
//	VRRP: VI_1 MASTER, VI_2 BACKUP; LVS: 2 virtual servers, 3/4 real servers up
func statusLine(st control.Status) string {
	var parts []string
	if len(st.Instances) > 0 {
		parts = append(parts, "VRRP: "+vrrpSummary(st.Instances))
	}
	if len(st.VirtualServers) > 0 {
		parts = append(parts, "LVS: "+lvsSummary(st.VirtualServers))
	}
	if len(parts) == 0 {
		return "no VRRP instance and no virtual server"
	}
	return strings.Join(parts, "; ")
}

func vrrpSummary(ins []control.Instance) string {
	if len(ins) <= namedInstances {
		named := make([]string, len(ins))
		for i, in := range ins {
			named[i] = in.Name + " " + in.State
		}
		return strings.Join(named, ", ")
	}
	// States in the order an operator reads them, then any other.
	order := []string{"MASTER", "BACKUP", "FAULT"}
	count := make(map[string]int)
	for _, in := range ins {
		if count[in.State] == 0 && !slices.Contains(order, in.State) {
			order = append(order, in.State)
		}
		count[in.State]++
	}
	var out []string
	for _, s := range order {
		if n := count[s]; n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(out, ", ")
}

func lvsSummary(vss []control.VirtualServer) string {
	up, all, noQuorum, sorry := 0, 0, 0, 0
	for _, vs := range vss {
		for _, rs := range vs.RealServers {
			all++
			if rs.Alive {
				up++
			}
		}
		if !vs.QuorumUp {
			noQuorum++
		}
		if vs.SorryServer {
			sorry++
		}
	}
	s := fmt.Sprintf("%d virtual server%s, %d/%d real servers up", len(vss), plural(len(vss)), up, all)
	if noQuorum > 0 {
		s += fmt.Sprintf(", %d without quorum", noQuorum)
	}
	if sorry > 0 {
		s += fmt.Sprintf(", %d on the sorry server", sorry)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
