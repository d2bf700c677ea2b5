package notify

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestKeepalivedVRRP records what real keepalived passes to its notify
// scripts and writes to its FIFOs through the scenario, and checks that
// the Notifier, fed the same transitions, does exactly the same. Run with
// -update to rewrite the golden files from keepalived.
func TestKeepalivedVRRP(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.231.0.1/24")
	b := lab.AddHost("b", "10.231.0.2/24")

	dir := t.TempDir()
	rec := writeRecorder(t, dir)
	ka := a.StartKeepalived(t, keepalivedConf(dir, rec, prio1, prio2), "-P")

	// keepalived creates the FIFOs; open them as soon as they appear.
	var modes []os.FileMode
	var readers []*fifoReader
	for _, name := range []string{"global.fifo", "vrrp.fifo"} {
		path := filepath.Join(dir, name)
		if _, ok := nettest.Eventually(10*time.Second, func() bool { _, err := os.Stat(path); return err == nil }); !ok {
			t.Fatalf("keepalived did not create %s:\n%s", name, ka.Output())
		}
		st, _ := os.Stat(path)
		modes = append(modes, st.Mode())
		readers = append(readers, readFIFO(t, path))
	}
	vrrp := readers[1]

	step := func(what string, lines ...string) {
		t.Helper()
		want := map[string]int{}
		for _, l := range lines {
			want[l]++
		}
		_, ok := nettest.Eventually(20*time.Second, func() bool {
			for l, n := range want {
				if vrrp.Count(l) < n {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("%s: keepalived wrote %q, want at least %q\n%s", what, vrrp.Lines(), lines, ka.Output())
		}
	}
	step("start", `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_2" MASTER 90`, `GROUP "G1" MASTER 0`)

	b.StartKeepalived(t, keepalivedConf("", "", 200, 200), "-P")
	step("higher priority peer", `GROUP "G1" BACKUP 0`, `GROUP "G1" BACKUP 0`, `INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" BACKUP 100`)

	lab.SetPort(a, false)
	step("link down", `GROUP "G1" FAULT 0`, `INSTANCE "VI_1" FAULT 100`)

	lab.SetPort(a, true)
	step("link up", `GROUP "G1" BACKUP 0`, `GROUP "G1" BACKUP 0`, `GROUP "G1" BACKUP 0`,
		`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" BACKUP 100`)

	// Scripts still running when keepalived stops die with it.
	settle(filepath.Join(dir, "argv"))
	ka.Stop(t, 10*time.Second)
	for _, r := range readers {
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatal("keepalived's FIFO stayed open after it stopped")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "vrrp.fifo")); !os.IsNotExist(err) {
		t.Errorf("keepalived left the FIFO it created: %v", err)
	}
	if strings.Contains(ka.Output(), "SECURITY VIOLATION") || strings.Contains(ka.Output(), "Unsafe") {
		t.Errorf("keepalived refused the scenario's scripts:\n%s", ka.Output())
	}

	// Scripts finish on their own after keepalived reports the event.
	ourDir := t.TempDir()
	ours := runScenario(t, ourDir).normalize(ourDir)
	var theirs recording
	nettest.Eventually(5*time.Second, func() bool {
		theirs = recording{Argv: readLines(t, filepath.Join(dir, "argv")), GlobalFIFO: readers[0].Lines(), FIFO: vrrp.Lines()}
		return len(theirs.Argv) >= len(ours.Argv)
	})
	time.Sleep(200 * time.Millisecond) // any run beyond ours would show up now
	theirs.Argv = readLines(t, filepath.Join(dir, "argv"))
	theirs = theirs.normalize(dir)

	diffLines(t, "keepalived's notify_fifo and vrrp_notify_fifo lines", theirs.GlobalFIFO, theirs.FIFO)
	diffLines(t, "script arguments (ours vs keepalived's)", ours.Argv, theirs.Argv)
	diffLines(t, "notify_fifo lines (ours vs keepalived's)", ours.GlobalFIFO, theirs.GlobalFIFO)
	diffLines(t, "vrrp_notify_fifo lines (ours vs keepalived's)", ours.FIFO, theirs.FIFO)

	// Under keepalived's umask, our FIFOs get keepalived's mode.
	old := unix.Umask(0o177) // keepalived's default
	f, err := OpenFIFO(filepath.Join(t.TempDir(), "fifo"), ourCred())
	unix.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		if m != st.Mode() {
			t.Errorf("keepalived created a FIFO with mode %v; OpenFIFO creates %v", m, st.Mode())
		}
	}

	if *update {
		writeGolden(t, theirs)
		return
	}
	argv, fifo := readGolden(t)
	diffLines(t, "script arguments (keepalived vs "+goldenArgv+")", theirs.Argv, argv)
	diffLines(t, "FIFO lines (keepalived vs "+goldenFIFO+")", theirs.FIFO, fifo)
}

// settle waits until no script has recorded for a while.
func settle(argv string) {
	var last int64 = -1
	nettest.Eventually(5*time.Second, func() bool {
		st, err := os.Stat(argv)
		if err != nil || st.Size() != last {
			if err == nil {
				last = st.Size()
			}
			time.Sleep(300 * time.Millisecond)
			return false
		}
		return true
	})
}

// TestKeepalivedScriptSecurity checks that Security refuses the scripts
// keepalived refuses, with keepalived's words.
func TestKeepalivedScriptSecurity(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.231.1.1/24")

	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o755))
	worldWritable := writeScript(t, dir, "world", "exit 0\n")
	must(t, os.Chmod(worldWritable, 0o757))
	notExecutable := writeScript(t, dir, "noexec", "exit 0\n")
	must(t, os.Chmod(notExecutable, 0o644))
	sub := filepath.Join(dir, "sub")
	must(t, os.Mkdir(sub, 0o777))
	must(t, os.Chmod(sub, 0o777))
	inOpenDir := writeScript(t, sub, "script", "exit 0\n")
	ownedByNobody := writeScript(t, dir, "nobody", "exit 0\n")
	must(t, os.Chown(ownedByNobody, nobody, nobody))
	missing := filepath.Join(dir, "missing")
	safe := writeScript(t, dir, "safe", "exit 0\n")

	scripts := []string{worldWritable, notExecutable, inOpenDir, ownedByNobody, missing, safe}
	for _, enabled := range []bool{true, false} {
		t.Run(fmt.Sprintf("enable_script_security=%v", enabled), func(t *testing.T) {
			var conf strings.Builder
			conf.WriteString("global_defs {\n  script_user root\n")
			if enabled {
				conf.WriteString("  enable_script_security\n")
			}
			conf.WriteString("}\n")
			for i, s := range scripts {
				fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority 100\n  virtual_ipaddress {\n    10.231.1.%d/24\n  }\n  notify_master %s\n}\n",
					i, 70+i, 100+i, s)
			}
			ka := a.StartKeepalived(t, conf.String(), "-P")
			if !ka.WaitOutput("Startup complete", 10*time.Second) {
				t.Fatalf("keepalived did not start:\n%s", ka.Output())
			}
			ka.Stop(t, 10*time.Second)

			log, hook := test.NewNullLogger()
			sec := &Security{Enabled: enabled, Log: log}
			for _, s := range scripts {
				sec.Check(&Script{Args: []string{s}})
			}
			var ours []string
			for _, m := range messages(hook) {
				ours = append(ours, m)
			}
			if v := sec.Violation("scripts"); v != "" {
				ours = append(ours, v)
			}
			// One message for each of the five bad scripts at least.
			if len(ours) < 5 {
				t.Errorf("we log only %q", ours)
			}
			t.Logf("both log: %q", ours)
			for _, m := range ours {
				if !strings.Contains(ka.Output(), ": "+m+"\n") {
					t.Errorf("we log %q; keepalived does not:\n%s", m, ka.Output())
				}
			}
			// And every script message keepalived logs, we log.
			for _, l := range strings.Split(ka.Output(), "\n") {
				_, msg, ok := strings.Cut(l, ": ")
				if !ok || !strings.Contains(msg, dir) && !strings.HasPrefix(msg, "SECURITY VIOLATION") {
					continue
				}
				if !contains(ours, msg) {
					t.Errorf("keepalived logs %q; we do not (we log %q)", msg, ours)
				}
			}
		})
	}
}
