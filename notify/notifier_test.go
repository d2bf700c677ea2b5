package notify

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
)

// TestNotifierMatchesKeepalived feeds the Notifier the scenario and
// compares what its scripts and FIFOs received with what keepalived 2.2.7
// did (testdata/*.golden, recorded by TestKeepalivedVRRP -update).
func TestNotifierMatchesKeepalived(t *testing.T) {
	dir := t.TempDir()
	got := runScenario(t, dir).normalize(dir)
	argv, fifo := readGolden(t)
	if len(argv) == 0 || len(fifo) == 0 {
		t.Fatal("golden files are empty")
	}
	diffLines(t, "script arguments", got.Argv, argv)
	diffLines(t, "vrrp_notify_fifo lines", got.FIFO, fifo)
	diffLines(t, "notify_fifo lines", got.GlobalFIFO, fifo)
}

// notifierUnderTest returns a Notifier whose scripts record to dir/argv,
// and readers of its three FIFOs.
func notifierUnderTest(t *testing.T, dir string) (n *Notifier, global, vrrp, lvs *fifoReader) {
	t.Helper()
	log, _ := test.NewNullLogger()
	n = &Notifier{Runner: NewRunner(log, RunnerConfig{}), Log: log}
	var err error
	for _, f := range []struct {
		fifo   **FIFO
		reader **fifoReader
		name   string
	}{{&n.Global, &global, "global"}, {&n.VRRP, &vrrp, "vrrp"}, {&n.LVS, &lvs, "lvs"}} {
		if *f.fifo, err = OpenFIFO(filepath.Join(dir, f.name+".fifo"), ourCred()); err != nil {
			t.Fatal(err)
		}
		*f.reader = readFIFO(t, (*f.fifo).Name())
	}
	return n, global, vrrp, lvs
}

// finish closes the notifier's runner and FIFOs and waits for the readers.
func finish(t *testing.T, n *Notifier, readers ...*fifoReader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Runner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*FIFO{n.Global, n.VRRP, n.LVS} {
		if f != nil {
			f.Close()
		}
	}
	for _, r := range readers {
		<-r.done
	}
}

func TestNotifierEvents(t *testing.T) {
	dir := t.TempDir()
	rec := writeRecorder(t, dir)
	script := func(tag string) *Script { return &Script{Args: []string{rec, tag}, Cred: ourCred()} }
	n, global, vrrp, lvs := notifierUnderTest(t, dir)

	vi := &Instance{Name: "VI_1", MasterRxLowerPri: script("rxlower"), Notify: script("notify"), Deleted: script("deleted")}
	n.InstanceEvent(vi, MasterRxLowerPri, 100)
	n.InstanceEvent(vi, MasterPriority, 80)
	n.InstanceEvent(vi, BackupPriority, 70)
	n.InstanceState(vi, Deleted, 100)

	vs := VirtualServer{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Protocol: TCP}
	rs := &RealServer{Addr: netip.MustParseAddrPort("10.0.0.2:8080"), Up: script("up"), Down: script("down")}
	q := &Quorum{Up: script("qup"), Down: script("qdown")}
	n.RealServerState(rs, vs, false, false)
	n.QuorumState(q, vs, false, false)
	n.RealServerState(rs, vs, true, false)
	n.QuorumState(q, vs, true, false)
	// Not configured scripts are simply not run.
	n.RealServerState(&RealServer{Addr: netip.MustParseAddrPort("10.0.0.3:8080")}, vs, true, false)
	finish(t, n, global, vrrp, lvs)

	wantVRRP := []string{
		`INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100`,
		`INSTANCE "VI_1" MASTER_PRIORITY 80`,
		`INSTANCE "VI_1" BACKUP_PRIORITY 70`,
		`INSTANCE "VI_1" DELETED 100`,
	}
	wantLVS := []string{
		"RS [10.0.0.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN",
		"VS [10.0.0.1]:tcp:80 DOWN",
		"RS [10.0.0.2]:tcp:8080 [10.0.0.1]:tcp:80 UP",
		"VS [10.0.0.1]:tcp:80 UP",
		"RS [10.0.0.3]:tcp:8080 [10.0.0.1]:tcp:80 UP",
	}
	if got := vrrp.Lines(); !reflect.DeepEqual(got, wantVRRP) {
		t.Errorf("vrrp_notify_fifo got %q, want %q", got, wantVRRP)
	}
	if got := lvs.Lines(); !reflect.DeepEqual(got, wantLVS) {
		t.Errorf("lvs_notify_fifo got %q, want %q", got, wantLVS)
	}
	if got, want := global.Lines(), append(wantVRRP, wantLVS...); !reflect.DeepEqual(got, want) {
		t.Errorf("notify_fifo got %q, want %q", got, want)
	}

	got := recording{Argv: readLines(t, filepath.Join(dir, "argv"))}.normalize(dir).Argv
	want := []string{
		"deleted",
		"down",
		"notify\tINSTANCE\tVI_1\tDELETED\t100",
		"qdown",
		"qup",
		"rxlower",
		"up",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scripts ran with %q, want %q", got, want)
	}
}

// TestNotifierStopTimeout checks that notify_stop scripts get
// keepalived's one second, while other scripts get the Runner's timeout.
func TestNotifierStopTimeout(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	slow := writeScript(t, dir, "slow", "sleep 3; echo \"$1 done\" >>"+out+"\n")
	s := func(tag string) *Script { return &Script{Args: []string{slow, tag}, Cred: ourCred()} }
	log, _ := test.NewNullLogger()
	n := &Notifier{Runner: NewRunner(log, RunnerConfig{Timeout: 10 * time.Second})}
	start := time.Now()
	n.InstanceState(&Instance{Name: "VI_1", Stop: s("stop")}, Stop, 100)
	n.InstanceState(&Instance{Name: "VI_2", Master: s("master")}, Master, 100)
	n.RealServerState(&RealServer{Down: s("rsdown")}, VirtualServer{}, false, true)
	finish(t, n)
	if d := time.Since(start); d < 3*time.Second || d > 8*time.Second {
		t.Errorf("scripts took %v, want about 3s", d)
	}
	b, _ := os.ReadFile(out)
	if got := strings.TrimSpace(string(b)); got != "master done" {
		t.Errorf("finished: %q; want only the master script, the stop-time ones killed after a second", got)
	}
}
