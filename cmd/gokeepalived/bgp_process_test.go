package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestBGPNotLinked: the daemon links neither GoBGP nor gRPC; they live in
// gokeepalived-bgp, which links GoBGP.
func TestBGPNotLinked(t *testing.T) {
	deps := func(pkg string) string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		return string(out)
	}
	for _, dep := range []string{"github.com/osrg/gobgp", "google.golang.org/grpc"} {
		if strings.Contains(deps("."), dep) {
			t.Errorf("gokeepalived depends on %s", dep)
		}
	}
	if !strings.Contains(deps("../gokeepalived-bgp"), "github.com/osrg/gobgp/v4/pkg/server") {
		t.Error("gokeepalived-bgp does not link GoBGP's server")
	}
}

// TestBGPSpeakerStartedOnlyForBGP puts beside a copy of the daemon a
// gokeepalived-bgp that leaves a mark when run: -t and -v of a BGP
// configuration, and a daemon running a configuration without
// bgp_speaker, never run it; a daemon whose configuration has one does.
func TestBGPSpeakerStartedOnlyForBGP(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gokeepalived")
	data, err := os.ReadFile(gokeepalivedBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	mark := filepath.Join(dir, "ran")
	// The mark, and no speaker: the daemon logs the failure and runs on.
	script := "#!/bin/sh\necho $$ >>" + mark + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "gokeepalived-bgp"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ran := func() bool {
		_, err := os.Stat(mark)
		return err == nil
	}
	conf := filepath.Join(dir, "bgp.conf")
	if err := os.WriteFile(conf, []byte(bgpDirectorConf(2, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-t", "-f", conf}, {"-v"}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("gokeepalived %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if ran() {
			t.Fatalf("gokeepalived %s ran gokeepalived-bgp", strings.Join(args, " "))
		}
	}

	lab := nettest.NewLab(t)
	h := lab.AddHost("d", "10.99.0.12/24")
	// The director's configuration without its BGP blocks.
	vrrpOnly, _, _ := strings.Cut(bgpDirectorConf(2, dir), "bgp_speaker {")
	if err := os.WriteFile(filepath.Join(dir, "health"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ddir := t.TempDir()
	d := startOursOn(t, h, bin, ddir, vrrpOnly)
	if !d.WaitOutput("Entering MASTER STATE", 5*time.Second) {
		t.Fatalf("no MASTER:\n%s", d.Output())
	}
	time.Sleep(200 * time.Millisecond)
	if ran() {
		t.Fatal("a daemon without bgp_speaker ran gokeepalived-bgp")
	}
	if err := d.Stop(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	// The same director with its BGP blocks runs it, which shows that
	// the mark would be there.
	d = startOursOn(t, h, bin, t.TempDir(), bgpDirectorConf(2, dir))
	if _, ok := nettest.Eventually(5*time.Second, ran); !ok {
		t.Fatalf("a daemon with bgp_speaker did not run gokeepalived-bgp:\n%s", d.Output())
	}
	if err := d.Stop(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
