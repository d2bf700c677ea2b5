package vrrpd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// loadConf parses text; keepalived's own complaints about it are part
// of what the tests check the effect of.
func loadConf(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, _ := config.Parse("keepalived.conf", []byte(text), config.Options{})
	return cfg
}

// newLoop is a Loop whose router is never run: enough for the mapping of a
// configuration and the reports of transitions.
func newLoop(t *testing.T, cfg *config.Config) *Loop {
	t.Helper()
	log := logrus.New()
	log.Out = io.Discard
	hub, err := notifyhub.New(&cfg.Global, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	return &Loop{log: log, hub: hub, events: make(chan vrrp.Transition, 16)}
}

const groupConf = `vrrp_script own {
    script /bin/true
    weight 10
}
vrrp_script shared {
    script /bin/true
    weight 7
}
vrrp_track_file flag {
    file /tmp/vrrpd-test-flag
    weight 3
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_script {
        shared weight 5
    }
    track_file {
        flag
    }
    track_interface {
        lo weight -20
        eth1 weight -20
    }
%s
}
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 1
    priority %d
    virtual_ipaddress {
        192.0.2.1/32
    }
    track_script {
        own
        shared weight 2
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface lo
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.2/32
    }
}
`

type trackWeights struct {
	scripts map[string]int
	files   map[string]int
	ifaces  map[string]int
}

func weightsOf(nc vrrp.NetConfig) trackWeights {
	w := trackWeights{map[string]int{}, map[string]int{}, map[string]int{}}
	for _, s := range nc.TrackScripts {
		w.scripts[s.Script.Name] = s.Weight
	}
	for _, f := range nc.TrackFiles {
		w.files[f.File.Name] = f.Weight
	}
	for _, i := range nc.TrackInterfaces {
		w.ifaces[i.Name] = i.Weight
	}
	return w
}

// TestPlanSyncGroupTracking requires keepalived 2.2.7's tracking rules for
// sync group members: a member's own trackers lose their weights unless
// sync_group_tracking_weight, the group's trackers keep theirs (the
// group's entry's, or the script's or file's own) and are added to every
// member once (a script the member tracks itself takes the group's weight
// unless the member's is 0, as keepalived's add_vrrp_to_track_script
// does; the members' own interface, lo, is tracked with weight 0 already
// and keeps no group entry, as keepalived's add_vrrp_to_interface
// leaves it), and an address owner in the group clears the group's
// weights.
func TestPlanSyncGroupTracking(t *testing.T) {
	for _, c := range []struct {
		name       string
		groupExtra string
		prio       int
		vi1, vi2   trackWeights
	}{
		{
			name: "member weights ignored",
			prio: 100,
			vi1:  trackWeights{map[string]int{"own": 0, "shared": 0}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
			vi2:  trackWeights{map[string]int{"shared": 5}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
		},
		{
			name:       "sync_group_tracking_weight",
			groupExtra: "    sync_group_tracking_weight",
			prio:       100,
			vi1:        trackWeights{map[string]int{"own": 10, "shared": 5}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
			vi2:        trackWeights{map[string]int{"shared": 5}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
		},
		{
			// global_tracking is its old name, which keepalived 2.2.7
			// still takes, with a deprecation message.
			name:       "global_tracking",
			groupExtra: "    global_tracking",
			prio:       100,
			vi1:        trackWeights{map[string]int{"own": 10, "shared": 5}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
			vi2:        trackWeights{map[string]int{"shared": 5}, map[string]int{"flag": 3}, map[string]int{"eth1": -20}},
		},
		{
			name: "address owner",
			prio: 255,
			vi1:  trackWeights{map[string]int{"own": 0, "shared": 0}, map[string]int{"flag": 0}, map[string]int{"eth1": 0}},
			vi2:  trackWeights{map[string]int{"shared": 0}, map[string]int{"flag": 0}, map[string]int{"eth1": 0}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadConf(t, fmt.Sprintf(groupConf, c.groupExtra, c.prio))
			p := newLoop(t, cfg).plan(cfg)
			if len(p.specs) != 2 || len(p.groupSpecs) != 1 {
				t.Fatalf("%d specs and %d groups, want 2 and 1", len(p.specs), len(p.groupSpecs))
			}
			for k, want := range []trackWeights{c.vi1, c.vi2} {
				got := weightsOf(p.specs[k].Net)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: weights %v, want %v", p.specs[k].Config.Name, got, want)
				}
			}
			if g := p.byName["VI_1"].group; g != "G" {
				t.Errorf("VI_1's group %q, want G", g)
			}
		})
	}
}

// mailConf is a sync group G of VI_1 (with smtp_alert) and VI_2
// (without), mailing to the sink at addr, with extra global_defs lines.
func mailConf(t *testing.T, addr, extra string) *config.Config {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	return loadConf(t, fmt.Sprintf(`global_defs {
    router_id lb
    smtp_server %s %s
%s    notification_email {
        ops@example.com
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    smtp_alert
}
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 1
    priority 100
    smtp_alert
    virtual_ipaddress {
        192.0.2.1/32
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface lo
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.2/32
    }
}
`, host, port, extra))
}

// requireMails reports the transitions to a loop of cfg and requires the
// sink to receive the mails of want, with those subjects, and no more.
func requireMails(t *testing.T, sink *nettest.SMTPSink, cfg *config.Config, trs []vrrp.Transition, want []string) {
	t.Helper()
	l := newLoop(t, cfg)
	p := l.plan(cfg)
	l.instances, l.byName, l.groups = p.instances, p.byName, p.groups
	for _, tr := range trs {
		l.notify(tr)
	}
	nettest.Eventually(5*time.Second, func() bool { return len(sink.Messages()) >= len(want) })
	time.Sleep(200 * time.Millisecond) // and no more
	var got []string
	for _, m := range sink.Messages() {
		s, _, _ := strings.Cut(nettest.MailSummary(m), " | ")
		got = append(got, s)
	}
	if strings.Join(sorted(got), "\n") != strings.Join(sorted(want), "\n") {
		t.Errorf("mails:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNotifyMailsStateOnce requires keepalived's smtp_alert rule: an
// instance's state is mailed when it is entered, not again when it is
// entered once more, and a sync group's states likewise; instances
// without smtp_alert are not mailed.
func TestNotifyMailsStateOnce(t *testing.T) {
	sink, ln := nettest.ListenSMTPSink(t)
	requireMails(t, sink, mailConf(t, ln.Addr().String(), ""), []vrrp.Transition{
		{Instance: "VI_1", From: vrrp.StateInit, To: vrrp.StateBackup},
		{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateMaster},
		{Instance: "VI_1", From: vrrp.StateMaster, To: vrrp.StateMaster},
		{Instance: "VI_2", From: vrrp.StateBackup, To: vrrp.StateMaster},
		{Instance: "G", Group: true, From: vrrp.StateBackup, To: vrrp.StateMaster},
		{Instance: "G", Group: true, From: vrrp.StateMaster, To: vrrp.StateMaster},
	}, []string{
		"[lb] VRRP Instance VI_1 - Entering BACKUP state",
		"[lb] VRRP Instance VI_1 - Entering MASTER state",
		"[lb] VRRP Group G - Entering MASTER state",
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

// TestReportContainsPanic requires a panic while reporting a transition to
// be counted and the next transition reported as usual.
func TestReportContainsPanic(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	cfg := loadConf(t, fmt.Sprintf(`global_defs {
    vrrp_notify_fifo %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.1/32
    }
}
`, fifo))
	l := newLoop(t, cfg)
	p := l.plan(cfg)
	l.instances, l.byName, l.groups = p.instances, p.byName, p.groups
	l.reportOne(vrrp.Transition{Instance: "VI_1", From: vrrp.StateMaster, To: vrrp.StateMaster, Event: vrrp.Event(200)})
	if n := l.panics.Load(); n != 1 {
		t.Fatalf("panics counted: %d, want 1", n)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l.reportOne(vrrp.Transition{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateMaster, Priority: 100})
	buf := make([]byte, 256)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "INSTANCE \"VI_1\" MASTER 100\n" {
		t.Errorf("FIFO after the panic: %q", got)
	}
}

// TestInitTrackFiles requires keepalived's init_file rules: a missing
// file is created with the value, an existing one kept unless overwrite,
// overwritten only at start-up, never when it is not a regular file, and
// a symlink at the path is replaced, not followed.
func TestInitTrackFiles(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	os.WriteFile(path("kept"), []byte("3\n"), 0o644)
	os.WriteFile(path("over"), []byte("3\n"), 0o644)
	os.Mkdir(path("dir"), 0o755)
	os.WriteFile(path("target"), []byte("3\n"), 0o644)
	os.Symlink(path("target"), path("link"))
	conf := ""
	for _, f := range []struct{ name, init string }{
		{"new", "init_file 5"}, {"kept", "init_file 5"}, {"over", "init_file 5 overwrite"},
		{"dir", "init_file 5 overwrite"}, {"link", "init_file 5 overwrite"},
	} {
		conf += fmt.Sprintf("vrrp_track_file %s {\n    file %s\n    %s\n}\n", f.name, path(f.name), f.init)
	}
	cfg := loadConf(t, conf)
	l := newLoop(t, cfg)
	l.fileMode = func() os.FileMode { return 0o600 }
	read := func(name string) string { b, _ := os.ReadFile(path(name)); return string(b) }

	os.WriteFile(path("over"), []byte("3\n"), 0o644)
	l.initTrackFiles(cfg, true)
	if got := read("over"); got != "3\n" {
		t.Errorf("overwrite on reload: %q, want the file kept", got)
	}
	l.initTrackFiles(cfg, false)
	for name, want := range map[string]string{"new": "5\n", "kept": "3\n", "over": "5\n", "target": "3\n"} {
		if got := read(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if st, err := os.Lstat(path("link")); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("link: %v, %v; want a regular 0600 file in its place", st, err)
	}
	if st, err := os.Stat(path("dir")); err != nil || !st.IsDir() {
		t.Errorf("dir: %v, %v; want the directory kept", st, err)
	}
}

// TestNoEmailFaults: with no_email_faults, an instance's and a sync
// group's FAULT are not mailed, and the next state is mailed as after
// the state before the fault, as keepalived's notifiers do.
func TestNoEmailFaults(t *testing.T) {
	sink, ln := nettest.ListenSMTPSink(t)
	requireMails(t, sink, mailConf(t, ln.Addr().String(), "    no_email_faults\n"), []vrrp.Transition{
		{Instance: "VI_1", From: vrrp.StateInit, To: vrrp.StateBackup},
		{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateFault},
		{Instance: "G", Group: true, From: vrrp.StateBackup, To: vrrp.StateFault},
		{Instance: "VI_1", From: vrrp.StateFault, To: vrrp.StateBackup},
		{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateMaster},
	}, []string{
		"[lb] VRRP Instance VI_1 - Entering BACKUP state",
		"[lb] VRRP Instance VI_1 - Entering MASTER state",
	})
}
