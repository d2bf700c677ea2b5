package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// dataConf has two instances with the same options, so that the director
// that is master of one and backup of the other shows both layouts.
func dataConf(self, peer string, prio1, prio2 int) string {
	inst := func(name string, vrid, prio int, vip string) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        %s/24
    }
    notify_master "/bin/true master"
}
`, name, vrid, prio, self, peer, vip)
	}
	return "global_defs {\n    router_id data\n}\n" +
		inst("VI_1", 51, prio1, "10.77.0.101") + inst("VI_2", 52, prio2, "10.77.0.102") +
		`vrrp_instance VI_3 {
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority 100
    advert_int 1
    nopreempt
    debug 2
    virtual_ipaddress {
        10.77.0.103/24
    }
}
`
}

var digits = regexp.MustCompile(`[0-9]+`)

// dataSection returns the lines of the section of a data file that
// starts with header, up to the next top-level section, with every number
// masked.
func dataSection(file, header string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(file, "\n") {
		if strings.HasPrefix(l, "------<") {
			in = l == header
			continue
		}
		// The socket descriptors are keepalived's own; gokeepalived
		// shares one socket between instances and leaves the line out.
		if in && l != "" && !strings.HasPrefix(l, "   fd_in ") {
			out = append(out, digits.ReplaceAllString(l, "N"))
		}
	}
	return out
}

// blocks splits masked lines into blocks that start with a line of one
// space of indent, sorted, so that the same blocks in another order
// compare equal.
func blocks(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "  ") || len(out) == 0 {
			out = append(out, l)
			continue
		}
		out[len(out)-1] += "\n" + l
	}
	sort.Strings(out)
	return out
}

// diffBlocks reports the blocks one side has and the other does not.
func diffBlocks(t *testing.T, what string, ours, theirs []string) {
	t.Helper()
	if strings.Join(ours, "\n") == strings.Join(theirs, "\n") {
		return
	}
	t.Errorf("%s layout differs from keepalived's\nours:\n%s\nkeepalived:\n%s", what, strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
}

// fetchData sends SIGUSR1 to pid and returns the file it writes.
func fetchData(t *testing.T, name string, pid int) string {
	t.Helper()
	os.Remove(name)
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	var b []byte
	waitFor(t, name+" written", 5*time.Second, func() bool {
		b, _ = os.ReadFile(name)
		return len(b) > 0 && b[len(b)-1] == '\n'
	})
	// keepalived writes in several calls; let it finish.
	time.Sleep(200 * time.Millisecond)
	b, _ = os.ReadFile(name)
	return string(b)
}

// TestDaemonDataFile compares the VRRP Topology of the USR1 data file
// with keepalived's, on two directors that are each master of one
// instance and backup of another, with numbers masked: the same lines,
// in the same order, for a master, a backup and a multicast backup (whose
// debug level, keepalived's only use of debug, shows).
func TestDaemonDataFile(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(dataConf("10.77.0.1", "10.77.0.2", 150, 100)), 0o644)
	ours := m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
	theirs := b.StartKeepalived(t, dataConf("10.77.0.2", "10.77.0.1", 100, 150), "-P")
	waitFor(t, "each director masters one instance", 10*time.Second, func() bool {
		return m.HasAddr("10.77.0.101") && b.HasAddr("10.77.0.102") && !m.HasAddr("10.77.0.102") && !b.HasAddr("10.77.0.101")
	})
	// VI_3 (multicast, nopreempt, same priority) settles on one of them.
	waitFor(t, "VI_3 has a master", 10*time.Second, func() bool { return m.HasAddr("10.77.0.103") || b.HasAddr("10.77.0.103") })
	time.Sleep(1500 * time.Millisecond)
	vpid, err := nettest.PidFromFile(filepath.Join(theirs.Dir, "vrrp.pid"))
	if err != nil {
		t.Fatal(err)
	}
	theirFile := fetchData(t, dataFile, vpid)
	ourFile := fetchData(t, dataFile, ours.Pid())
	// VI_3 is master on one side only: compare it apart, by state.
	o, k := blocks(dataSection(ourFile, "------< VRRP Topology >------")), blocks(dataSection(theirFile, "------< VRRP Topology >------"))
	if len(o) != 3 || len(k) != 3 {
		t.Fatalf("instances in the data files: ours %d, keepalived's %d\nours:\n%s\nkeepalived:\n%s", len(o), len(k), ourFile, theirFile)
	}
	pick := func(bs []string, multicast bool) (out []string) {
		for _, b := range bs {
			if strings.Contains(b, "Multicast address") == multicast {
				out = append(out, b)
			}
		}
		return out
	}
	diffBlocks(t, "VRRP Topology (unicast master and backup)", pick(o, false), pick(k, false))
	om, km := pick(o, true), pick(k, true)
	if len(om) == 1 && len(km) == 1 {
		// One side is master of VI_3 and the other backup: compare
		// the lines both states have.
		strip := func(b string) string {
			var keep []string
			for _, l := range strings.Split(b, "\n") {
				if !strings.Contains(l, "Master router") && !strings.Contains(l, "Master priority") {
					keep = append(keep, strings.NewReplacer("MASTER", "S", "BACKUP", "S", " set", "").Replace(l))
				}
			}
			return strings.Join(keep, "\n")
		}
		diffBlocks(t, "VRRP Topology (multicast)", []string{strip(om[0])}, []string{strip(km[0])})
	}
	if !strings.HasPrefix(ourFile, "------< Global definitions >------\n Network namespace = (default)\n") {
		t.Errorf("our data file starts:\n%.200s", ourFile)
	}
}

// TestGuestDataFile compares the checker data file (keepalived_check.data)
// of keepalived and gokeepalived for the same checker configuration, with
// numbers masked, in the kernel guest.
func TestGuestDataFile(t *testing.T) {
	requireGuest(t)
	exec.Command("ip", "link", "set", "lo", "up").Run()
	rs := &toggleServer{addr: "127.0.0.1:18080"}
	rs.up(t)
	t.Cleanup(rs.down)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go (&nettest.SMTPSink{}).Serve(ln)
	conf := fmt.Sprintf(checkMailConf, ln.Addr().(*net.TCPAddr).Port, 18080, 18081)
	conf = strings.Replace(conf, "virtual_server 192.0.2.10 80 {", `virtual_server 192.0.2.10 80 {
    quorum 1
    hysteresis 0
    sorry_server 127.0.0.9 80
    persistence_timeout 50
    quorum_up "/bin/true up"`, 1)
	conf = strings.Replace(conf, "        smtp_alert off\n", `        smtp_alert off
        notify_down "/bin/true down"
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 2
        }
`, 1)
	conf += `virtual_server fwmark 7 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    real_server 127.0.0.3 80 {
        weight 2
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
`
	files := map[bool]string{}
	for _, ours := range []bool{false, true} {
		d := startGuest(t, ours, conf, "-C")
		time.Sleep(3 * time.Second)
		pidFile := ""
		for i, a := range d.cmd.Args {
			if a == "-c" {
				pidFile = d.cmd.Args[i+1]
			}
		}
		pid, err := nettest.PidFromFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		files[ours] = fetchData(t, checkDataFile, pid)
		d.stop(t)
	}
	for _, sec := range []string{"------< LVS Topology >------", "------< Health checkers >------"} {
		o, k := dataSection(files[true], sec), dataSection(files[false], sec)
		diffBlocks(t, sec, o, k)
	}
}
