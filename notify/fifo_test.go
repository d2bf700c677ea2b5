package notify

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFIFOLines(t *testing.T) {
	vs4 := VirtualServer{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Protocol: TCP}
	vs6 := VirtualServer{Addr: netip.MustParseAddrPort("[fd00::1]:53"), Protocol: UDP}
	fwm := VirtualServer{FWMark: 5, Protocol: TCP}
	grp := VirtualServer{Group: "web", Addr: netip.AddrPortFrom(netip.Addr{}, 0), Protocol: SCTP}
	tests := []struct {
		got, want string
	}{
		{InstanceLine("VI_1", Master, 100), "INSTANCE \"VI_1\" MASTER 100\n"},
		{InstanceLine("VI_1", Backup, 90), "INSTANCE \"VI_1\" BACKUP 90\n"},
		{InstanceLine("VI_1", Fault, 0), "INSTANCE \"VI_1\" FAULT 0\n"},
		{InstanceLine("VI_1", Stop, 255), "INSTANCE \"VI_1\" STOP 255\n"},
		{InstanceLine("VI_1", Deleted, 100), "INSTANCE \"VI_1\" DELETED 100\n"},
		{InstanceLine("VI_1", MasterRxLowerPri, 100), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"},
		{InstanceLine("VI_1", MasterPriority, 80), "INSTANCE \"VI_1\" MASTER_PRIORITY 80\n"},
		{InstanceLine("VI_1", BackupPriority, 80), "INSTANCE \"VI_1\" BACKUP_PRIORITY 80\n"},
		{InstanceLine("VI_1", State(0), 1), "INSTANCE \"VI_1\" {UNKNOWN} 1\n"},
		{GroupLine("G1", Backup), "GROUP \"G1\" BACKUP 0\n"},
		{VirtualServerLine(vs4, true), "VS [10.0.0.1]:tcp:80 UP\n"},
		{VirtualServerLine(vs6, false), "VS [fd00::1]:udp:53 DOWN\n"},
		{VirtualServerLine(fwm, true), "VS FWM 5 UP\n"},
		{VirtualServerLine(grp, false), "VS [web]:0 DOWN\n"},
		{RealServerLine(netip.MustParseAddrPort("10.0.0.2:8080"), vs4, false), "RS [10.0.0.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n"},
		{RealServerLine(netip.MustParseAddrPort("[fd00::2]:53"), vs6, true), "RS [fd00::2]:udp:53 [fd00::1]:udp:53 UP\n"},
		{RealServerLine(netip.MustParseAddrPort("[::ffff:10.0.0.3]:0"), fwm, true), "RS [10.0.0.3]:tcp:0 FWM 5 UP\n"},
		{RealServerLine(netip.MustParseAddrPort("10.0.0.4:443"), grp, true), "RS [10.0.0.4]:sctp:443 [web]:0 UP\n"},
		{Protocol(0).String() + Protocol(99).String(), "none?"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func ourCred() Credential {
	return Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}

func TestFIFOWithoutReaderNeverBlocks(t *testing.T) {
	name := filepath.Join(t.TempDir(), "fifo")
	f, err := OpenFIFO(name, ourCred())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	umask := unix.Umask(0)
	unix.Umask(umask)
	if st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o644&^os.FileMode(umask) {
		t.Errorf("created %v, want a FIFO with mode %v", st.Mode(), 0o644&^os.FileMode(umask))
	}

	// Fill the pipe: every write must return at once, the ones that do
	// not fit with EAGAIN.
	line := InstanceLine("VI_1", Master, 100)
	start := time.Now()
	var full error
	for i := 0; i < 1<<16 && full == nil; i++ {
		full = f.WriteLine(line)
	}
	if !errors.Is(full, unix.EAGAIN) {
		t.Fatalf("writing into a full FIFO: %v, want EAGAIN", full)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("filling the FIFO took %v", d)
	}

	// A reader that comes later gets the lines that fitted, whole.
	r, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	if !sc.Scan() || sc.Text()+"\n" != line {
		t.Fatalf("late reader read %q, want %q", sc.Text(), line)
	}
}

func TestFIFOCreateAndRemove(t *testing.T) {
	dir := t.TempDir()

	created := filepath.Join(dir, "created")
	f, err := OpenFIFO(created, ourCred())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(created); !os.IsNotExist(err) {
		t.Errorf("a FIFO OpenFIFO created survives Close: %v", err)
	}
	if err := f.WriteLine("x\n"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteLine after Close: %v, want ErrClosed", err)
	}

	existing := filepath.Join(dir, "existing")
	if err := unix.Mkfifo(existing, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFIFO(existing, ourCred())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat(existing); err != nil {
		t.Errorf("Close removed a FIFO it did not create: %v", err)
	}

	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, nil, 0o644)
	if _, err := OpenFIFO(regular, ourCred()); err == nil {
		t.Error("OpenFIFO accepted a regular file")
	}
	if _, err := OpenFIFO(filepath.Join(dir, "missing", "fifo"), ourCred()); err == nil {
		t.Error("OpenFIFO succeeded in a missing directory")
	}
}

func TestFIFOOwner(t *testing.T) {
	requireRoot(t)
	name := filepath.Join(t.TempDir(), "fifo")
	f, err := OpenFIFO(name, Credential{UID: 65534, GID: 65534})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("FIFO owned by %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}

// requireRoot skips a test that needs root, except under CI=true where
// it must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root (CI=true: privileged tests must run)")
	}
	t.Skip("needs root")
}

// TestFIFOUnderKeepalivedUmask: with keepalived's umask 0177, which the
// daemon sets, a new FIFO is 0600; a symlink at the name is not followed.
func TestFIFOUnderKeepalivedUmask(t *testing.T) {
	old := unix.Umask(0o177)
	defer unix.Umask(old)
	dir := t.TempDir()
	name := filepath.Join(dir, "fifo")
	f, err := OpenFIFO(name, ourCred())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("created %v, want a FIFO 0600", st.Mode())
	}

	link := filepath.Join(dir, "link")
	if err := os.Symlink(name, link); err != nil {
		t.Fatal(err)
	}
	if g, err := OpenFIFO(link, ourCred()); err == nil {
		g.Close()
		t.Error("OpenFIFO followed a symlink")
	}
}
