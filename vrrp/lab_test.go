package vrrp

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// routerSpec is one instance of ours, as the helper process runs it.
type routerSpec struct {
	Name      string
	VRID      uint8
	Priority  uint8
	Version   int
	Interval  time.Duration
	AuthPass  string
	AuthAH    bool // AuthPass is AH's key
	Nopreempt bool
	Interface string
	VIPs      []string // prefixes
	Peers     []netip.Addr
	Source    netip.Addr
	Track     []TrackedInterface
	Scripts   []helperScript
	Excluded  []string // prefixes
	// ExcludedVIPs are excluded VIPs with options, after Excluded.
	ExcludedVIPs []VIP
	Routes       []Route
	CheckSrc     bool
	Files        []helperFile
	VMAC         bool
	XmitBase     bool
}

// helperFile is a track_file of a routerSpec.
type helperFile struct {
	Name, Path string
	Weight     int
}

// helperScript is a track_script of a routerSpec.
type helperScript struct {
	Name     string
	Args     []string
	Interval time.Duration
	Weight   int
	Reverse  bool
}

// helperSpec is what the helper process runs: instances, joined in a
// sync group when Group is set.
type helperSpec struct {
	Group     string
	Instances []routerSpec
	// Reload names a file holding the helperSpec the router applies
	// on SIGHUP.
	Reload string
	// BreakSockets makes SIGUSR1 close every VRRP socket of the
	// router under it, as a socket failure would.
	BreakSockets bool
}

// helperReport is what the helper process prints when it stops.
type helperReport struct {
	Instances    []Status
	SocketDrops  map[DropReason]uint64
	SocketErrors uint64
}

const statusPrefix = "vrrp-status: "

// TestHelperProcess is not a test: it is our router, run by the lab tests
// inside a namespace with ip netns exec, so that it can be killed with
// SIGKILL like a real daemon. On SIGTERM it stops and prints its status.
func TestHelperProcess(t *testing.T) {
	args := flag.Args()
	if len(args) != 2 || args[0] != "vrrp-router" {
		return
	}
	var spec helperSpec
	if err := json.Unmarshal([]byte(args[1]), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(runRouter(spec))
}

func runRouter(spec helperSpec) int {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.DebugLevel)
	l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000"})
	log := logrus.NewEntry(l)
	r := NewRouter(nil, log)
	specs, err := spec.specs()
	if err != nil {
		log.Error(err)
		return 2
	}
	var insts []*Instance
	for _, s := range specs {
		inst, err := r.Add(s.Config, s.Net)
		if err != nil {
			log.Error(err)
			return 1
		}
		insts = append(insts, inst)
	}
	if spec.Group != "" {
		if _, err := NewSyncGroup(spec.Group, nil, log, insts...); err != nil {
			log.Error(err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if spec.Reload != "" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := reload(r, spec.Reload); err != nil {
					log.Errorf("reload: %v", err)
				} else {
					log.Info("reload: applied")
				}
			}
		}()
	}
	if spec.BreakSockets {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		defer signal.Stop(usr1)
		go func() {
			for range usr1 {
				r.mu.Lock()
				for _, c := range r.conns {
					c.sockMu.RLock()
					c.pc.Close()
					c.sockMu.RUnlock()
				}
				r.mu.Unlock()
				log.Info("sockets closed under the router")
			}
		}()
	}
	if err := r.Run(ctx); err != nil {
		log.Error(err)
		return 1
	}
	rep := helperReport{SocketDrops: r.Drops(), SocketErrors: r.SocketErrors()}
	for _, inst := range r.Instances() {
		rep.Instances = append(rep.Instances, inst.Status())
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintf(os.Stderr, "%s%s\n", statusPrefix, b)
	return 0
}

// reload applies the helperSpec in file to r.
func reload(r *Router, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var hs helperSpec
	if err := json.Unmarshal(b, &hs); err != nil {
		return err
	}
	specs, err := hs.specs()
	if err != nil {
		return err
	}
	var groups []GroupSpec
	if hs.Group != "" {
		g := GroupSpec{Name: hs.Group}
		for _, s := range specs {
			g.Members = append(g.Members, s.Config.Name)
		}
		groups = append(groups, g)
	}
	return r.Apply(specs, groups)
}

// specs returns the instances of hs as the Router takes them.
func (hs helperSpec) specs() ([]Spec, error) {
	var out []Spec
	for _, is := range hs.Instances {
		cfg := Config{
			Name: is.Name, VRID: is.VRID, Priority: is.Priority, Version: is.Version,
			Interval: is.Interval, Nopreempt: is.Nopreempt,
			GarpMasterRepeat: DefaultGarpMasterRepeat, GarpMasterDelay: DefaultGarpMasterDelay,
		}
		if is.AuthAH {
			cfg.AuthType, cfg.AuthPass = AuthAH, is.AuthPass
		} else if is.AuthPass != "" {
			cfg.AuthType, cfg.AuthPass = AuthPass, is.AuthPass
		}
		cfg.CheckUnicastSrc = is.CheckSrc
		nc := NetConfig{Interface: is.Interface, Peers: is.Peers, Source: is.Source, TrackInterfaces: is.Track, Routes: is.Routes, UseVMAC: is.VMAC, VMACXmitBase: is.XmitBase}
		for _, s := range is.Excluded {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			v := VIP{Prefix: p}
			nc.ExcludedVIPs = append(nc.ExcludedVIPs, v)
		}
		nc.ExcludedVIPs = append(nc.ExcludedVIPs, is.ExcludedVIPs...)
		for _, hf := range is.Files {
			nc.TrackFiles = append(nc.TrackFiles, TrackedFile{File: &TrackFile{Name: hf.Name, Path: hf.Path}, Weight: hf.Weight})
		}
		for _, hs := range is.Scripts {
			nc.TrackScripts = append(nc.TrackScripts, TrackedScript{
				Script: &TrackScript{Name: hs.Name, Args: hs.Args, Interval: hs.Interval},
				Weight: hs.Weight, Reverse: hs.Reverse,
			})
		}
		for _, s := range is.VIPs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			v := VIP{Prefix: p}
			nc.VIPs = append(nc.VIPs, v)
		}
		out = append(out, Spec{Config: cfg, Net: nc})
	}
	return out, nil
}

// startOurs runs our router with the instances of spec in h's namespace.
func startOurs(t *testing.T, h *nettest.Host, spec ...routerSpec) *nettest.Daemon {
	t.Helper()
	return startOursGroup(t, h, "", spec...)
}

// startOursGroup runs our router with a sync group of instances.
func startOursGroup(t *testing.T, h *nettest.Host, group string, specs ...routerSpec) *nettest.Daemon {
	t.Helper()
	return startHelper(t, h, helperSpec{Group: group}, specs...)
}

// startHelper runs our router with hs and the instances of specs.
func startHelper(t *testing.T, h *nettest.Host, hs helperSpec, specs ...routerSpec) *nettest.Daemon {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s.Interface == "" {
			s.Interface = h.Link
		}
		hs.Instances = append(hs.Instances, s)
	}
	b, err := json.Marshal(hs)
	if err != nil {
		t.Fatal(err)
	}
	return h.Start(t, exe, "-test.run=^TestHelperProcess$", "--", "vrrp-router", string(b))
}

// stopOurs stops our router with SIGTERM and returns the final status of
// its first instance.
func stopOurs(t *testing.T, d *nettest.Daemon) Status {
	t.Helper()
	return stopOursReport(t, d).Instances[0]
}

// stopOursReport stops our router with SIGTERM and returns its report.
func stopOursReport(t *testing.T, d *nettest.Daemon) helperReport {
	t.Helper()
	if err := d.Stop(t, 5*time.Second); err != nil {
		t.Fatalf("router exited with %v:\n%s", err, d.Output())
	}
	out := d.Output()
	k := strings.LastIndex(out, statusPrefix)
	if k < 0 {
		t.Fatalf("router printed no status:\n%s", out)
	}
	line, _, _ := strings.Cut(out[k+len(statusPrefix):], "\n")
	var rep helperReport
	if err := json.Unmarshal([]byte(line), &rep); err != nil || len(rep.Instances) == 0 {
		t.Fatalf("router status %q: %v", line, err)
	}
	return rep
}

// keepalivedConf is a keepalived.conf of one instance; extra lines go in
// the vrrp_instance block.
func keepalivedConf(prio int, vip string, extra ...string) string {
	return fmt.Sprintf(`vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 1
  %s
  virtual_ipaddress {
    %s
  }
}
`, prio, strings.Join(extra, "\n  "), vip)
}

// waitVIP waits until h has ip, or fails the test with the daemons'
// output.
func waitVIP(t *testing.T, h *nettest.Host, ip string, timeout time.Duration, ds ...*nettest.Daemon) time.Duration {
	t.Helper()
	took, ok := nettest.Eventually(timeout, func() bool { return h.HasAddr(ip) })
	if !ok {
		for _, d := range ds {
			t.Logf("daemon output:\n%s", d.Output())
		}
		t.Fatalf("%s did not get %s within %v", h.Name, ip, timeout)
	}
	return took
}

// oneMaster checks for d that exactly one of hs holds ip the whole time,
// and returns it.
func oneMaster(t *testing.T, ip string, d time.Duration, hs ...*nettest.Host) *nettest.Host {
	t.Helper()
	var owner *nettest.Host
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var have []*nettest.Host
		for _, h := range hs {
			if h.HasAddr(ip) {
				have = append(have, h)
			}
		}
		if len(have) != 1 {
			names := make([]string, len(have))
			for k, h := range have {
				names[k] = h.Name
			}
			t.Fatalf("%d routers hold %s: %v", len(have), ip, names)
		}
		if owner != nil && owner != have[0] {
			t.Fatalf("%s moved from %s to %s in steady state", ip, owner.Name, have[0].Name)
		}
		owner = have[0]
	}
	return owner
}
