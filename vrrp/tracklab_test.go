package vrrp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouterTracking makes the master's tracker fail and recover: a
// track_script testing for a flag file, or a track_file. With a negative
// weight the master's priority drops below the backup's, which takes
// over; with weight 0 the master goes to FAULT. Once the tracker
// recovers, the master preempts again.
func TestRouterTracking(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		file   bool // a track_file; otherwise a track_script
		weight int
		want   []string // logged by the master on failure
	}{
		{"script weight -60", false, -60, []string{"Script `chk_flag` now returning 1",
			"VRRP_Script(chk_flag) failed (exited with status 1)", "(VI_1) Changing effective priority from 150 to 90"}},
		{"script weight 0", false, 0, []string{"VRRP_Script(chk_flag) failed (exited with status 1)", "(VI_1) Entering FAULT STATE"}},
		{"file weight -60", true, -60, []string{"(VI_1) Changing effective priority from 150 to 90"}},
		{"file weight 0", true, 0, []string{"(VI_1) Entering FAULT STATE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := nettest.NewLab(t)
			a := l.AddHost("a", "10.99.0.1/24")
			b := l.AddHost("b", "10.99.0.2/24")
			path := filepath.Join(t.TempDir(), "tracked")
			write := func(content string) {
				t.Helper()
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sa := ourSpec(150)
			// Up: the flag file exists, or the track file holds 0.
			fail, restore := func() { os.Remove(path) }, func() { write("") }
			if tt.file {
				sa.Files = []helperFile{{Name: "tf", Path: path, Weight: tt.weight}}
				fail, restore = func() { write("1\n") }, func() { write("0\n") }
			} else {
				sa.Scripts = []helperScript{{
					Name: "chk_flag", Args: []string{"/bin/sh", "-c", "test -e " + path},
					Interval: 200 * time.Millisecond, Weight: tt.weight,
				}}
			}
			restore()
			da := startOurs(t, a, sa)
			db := startOurs(t, b, ourSpec(100))
			waitVIP(t, a, labVIP, 10*time.Second, da, db)
			oneMaster(t, labVIP, time.Second, a, b)

			fail()
			waitVIP(t, b, labVIP, 10*time.Second, da, db)
			if _, ok := nettest.Eventually(2*time.Second, func() bool { return !a.HasAddr(labVIP) }); !ok {
				t.Fatal("a kept the VIP with its tracker failing")
			}
			for _, msg := range tt.want {
				if !strings.Contains(da.Output(), msg) {
					t.Fatalf("%q not logged:\n%s", msg, da.Output())
				}
			}
			oneMaster(t, labVIP, time.Second, a, b)

			restore()
			waitVIP(t, a, labVIP, 10*time.Second, da, db)
			if _, ok := nettest.Eventually(2*time.Second, func() bool { return !b.HasAddr(labVIP) }); !ok {
				t.Fatal("b kept the VIP after a's tracker recovered")
			}
			oneMaster(t, labVIP, time.Second, a, b)
			st := stopOurs(t, da)
			if st.Stats.BecameMaster != 2 || st.EffectivePriority != 150 {
				t.Fatalf("master's status %+v: want master twice, back at priority 150", st)
			}
		})
	}
}
