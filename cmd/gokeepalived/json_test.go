package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// jsonConf sets every instance setting keepalived's JSON file shows:
// tracking, notify scripts, excluded VIPs, routes, rules, garp timers,
// preempt_delay, authentication.
func jsonConf(script string) string {
	return fmt.Sprintf(`global_defs {
    router_id json
    enable_script_security
    script_user root
}
vrrp_script chk {
    script "%[1]s track"
    interval 1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 79
    priority 150
    advert_int 1
    preempt_delay 3
    garp_master_delay 2
    garp_master_repeat 3
    garp_master_refresh 30
    garp_master_refresh_repeat 2
    garp_lower_prio_delay 4
    garp_lower_prio_repeat 6
    lower_prio_no_advert
    smtp_alert
    dont_track_primary
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        %[2]s/24
        10.77.0.101/24 dev eth0 label eth0:1
    }
    virtual_ipaddress_excluded {
        10.77.0.102/32
    }
    virtual_routes {
        10.99.0.0/24 via 10.77.0.254 dev eth0
        192.0.2.0/24 dev eth0 table 100 metric 5
        blackhole 198.51.100.0/24
        10.98.0.0/24 via 10.77.0.254
        10.97.0.0/24 via 10.77.0.254 dev eth0 no_track
        unreachable 198.51.101.0/24 metric 7
    }
    virtual_rules {
        from 10.77.0.100 table 100 priority 100
        to 192.0.2.0/24 lookup 100
        from 10.77.0.101 fwmark 0x10/0xff iif eth0 table 101 priority 110
        not from 10.77.0.102 goto 110 priority 105
    }
    track_interface {
        eth0
        eth1 weight 10
    }
    track_script {
        chk
    }
    notify_master "%[1]s master"
    notify_backup "%[1]s backup"
    notify_fault "%[1]s fault"
    notify_stop "%[1]s stop"
    notify "%[1]s any"
    notify_master_rx_lower_pri "%[1]s lower"
}
`, script, daemonVIP)
}

// TestDaemonJSONFileBesideKeepalived runs keepalived and then
// gokeepalived on the same instance, asks each for its JSON file once
// master, and compares every field: the same fields with the same
// values, but for the time of the last transition and the counters,
// which only have to be there.
func TestDaemonJSONFileBesideKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	// A second interface to track, besides the instance's own, which
	// both ignore.
	if out, err := exec.Command("ip", "-n", m.NS, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p").CombinedOutput(); err != nil {
		t.Fatalf("adding eth1: %v: %s", err, out)
	}
	files := map[bool][]map[string]map[string]any{}
	for _, ours := range []bool{false, true} {
		top := t.TempDir()
		os.Chmod(top, 0o755)
		script := filepath.Join(top, "s.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		conf := jsonConf(script)
		d := startEither(t, m, bin, ours, top, conf)
		pid := d.Pid
		if !ours {
			// keepalived's VRRP child writes the JSON file.
			pid = func() int {
				p, err := nettest.PidFromFile(filepath.Join(d.Dir, "vrrp.pid"))
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
		}
		waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
		time.Sleep(1500 * time.Millisecond) // the track script's first result
		os.Remove(jsonFile)
		syscall.Kill(pid(), sigJSON)
		var b []byte
		waitFor(t, "JSON file written", 5*time.Second, func() bool {
			b, _ = os.ReadFile(jsonFile)
			return len(b) > 0 && b[len(b)-1] == '\n'
		})
		// The scripts' directory differs between the runs; keepalived
		// escapes the slashes.
		b = bytes.ReplaceAll(b, []byte(top), []byte("DIR"))
		b = bytes.ReplaceAll(b, []byte(strings.ReplaceAll(top, "/", `\/`)), []byte("DIR"))
		var f []map[string]map[string]any
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("JSON file: %v\n%s", err, b)
		}
		if len(f) != 1 {
			t.Fatalf("JSON file holds %d instances:\n%s", len(f), b)
		}
		files[ours] = f
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ours, theirs := files[true][0], files[false][0]
	for _, part := range []string{"data", "stats"} {
		var keys []string
		for k := range ours[part] {
			keys = append(keys, k)
		}
		for k := range theirs[part] {
			if _, ok := ours[part][k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		same := 0
		for _, k := range keys {
			a, inOurs := ours[part][k]
			b, inTheirs := theirs[part][k]
			switch {
			case !inOurs:
				t.Errorf("%s.%s: missing; keepalived's %v", part, k, b)
			case !inTheirs:
				t.Errorf("%s.%s: %v; keepalived has no such field", part, k, a)
			case part == "stats" || k == "last_transition":
				if reflect.TypeOf(a) != reflect.TypeOf(b) {
					t.Errorf("%s.%s: %T, keepalived's %T", part, k, a, b)
				}
				same++
			case !reflect.DeepEqual(a, b):
				t.Errorf("%s.%s: %#v, keepalived's %#v", part, k, a, b)
			default:
				same++
			}
		}
		t.Logf("%s: %d fields, %d equal to keepalived's", part, len(keys), same)
	}
	if lt, _ := ours["data"]["last_transition"].(float64); time.Since(time.Unix(int64(lt), 0)) > time.Minute {
		t.Errorf("last_transition %v is not the recent transition to MASTER", lt)
	}
}
