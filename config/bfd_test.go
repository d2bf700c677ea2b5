package config

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBFDInstanceValues reads bfd_instance blocks into the model: the
// values given, keepalived's defaults (10 ms, 10 ms, 1 s, 5, TTL 255 or
// hop limit 64), and whom each sends its events to.
func TestBFDInstanceValues(t *testing.T) {
	src, err := os.ReadFile("testdata/bfd.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, ds := parse("bfd.conf", string(src), Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	want := []BFDInstance{
		{Pos: Pos{"bfd.conf", 1}, Name: "B1", Neighbor: netip.MustParseAddr("10.9.0.2"), Source: netip.MustParseAddr("10.9.0.1"),
			MinRx: 5000, MinTx: 7500, IdleTx: 1500000, Multiplier: 3, TTL: 254, MaxHops: 2, VRRP: true, Checker: true,
			Weight: 20, WeightReverse: true},
		{Pos: Pos{"bfd.conf", 12}, Name: "B2", Neighbor: netip.MustParseAddr("fd00::2"),
			MinRx: 10000, MinTx: 10000, IdleTx: 1000000, Multiplier: 5, Passive: true, TTL: 60, VRRP: true},
		{Pos: Pos{"bfd.conf", 18}, Name: "B3", Neighbor: netip.MustParseAddr("10.9.0.3"),
			MinRx: 10000, MinTx: 10000, IdleTx: 1000000, Multiplier: 5, TTL: 255, MaxHops: -1, Checker: true},
	}
	if !slices.Equal(cfg.BFDInstances, want) {
		t.Errorf("got  %+v\nwant %+v", cfg.BFDInstances, want)
	}
	// Written out and read back, the blocks are the same.
	var text bytes.Buffer
	if err := cfg.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	again, ds := parse("bfd.conf", text.String(), Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() {
		t.Fatalf("%v\n%s", ds, text.String())
	}
	for i := range again.BFDInstances {
		again.BFDInstances[i].Pos = want[i].Pos
	}
	if !slices.Equal(again.BFDInstances, want) {
		t.Errorf("read back:\n%+v\nfrom:\n%s", again.BFDInstances, text.String())
	}
}

// TestBFDInstanceMessagesAsKeepalived checks every message about
// testdata/refused-bfd.conf against keepalived -t's: the same lines, with
// the same text, as many times (keepalived's checker and VRRP processes
// read the blocks too and say so).
func TestBFDInstanceMessagesAsKeepalived(t *testing.T) {
	keepalived, err := exec.LookPath("keepalived")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root and keepalived")
		}
		t.Skip("needs root and keepalived")
	}
	path, _ := filepath.Abs("testdata/refused-bfd.conf")
	pids := t.TempDir()
	cmd := exec.Command(keepalived, "-t", "-f", path, "-p", pids+"/p", "-r", pids+"/r", "-c", pids+"/c", "-b", pids+"/b")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("keepalived -t accepts the file")
	}
	prefix := regexp.MustCompile(`^\([^)]*: Line (\d+)\) `)
	var theirs []string
	for l := range strings.Lines(stderr.String()) {
		if m := prefix.FindStringSubmatch(l); m != nil {
			theirs = append(theirs, m[1]+": "+strings.TrimSpace(l[len(m[0]):]))
		}
	}
	_, ds, err := Load(path, Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, d := range ds.Keepalived() {
		ours = append(ours, strings.TrimPrefix(d.String(), path+":"))
	}
	slices.Sort(theirs)
	slices.Sort(ours)
	if len(theirs) < 20 || !slices.Equal(ours, theirs) {
		t.Errorf("gokeepalived:\n%s\nkeepalived:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}

// TestTrackBFDMessagesAsKeepalived checks the messages about the
// track_bfd entries of testdata/refused-track-bfd.conf, in an instance
// and a sync group, against keepalived -t's: the same lines, with the
// same text.
func TestTrackBFDMessagesAsKeepalived(t *testing.T) {
	keepalived, err := exec.LookPath("keepalived")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root and keepalived")
		}
		t.Skip("needs root and keepalived")
	}
	path, _ := filepath.Abs("testdata/refused-track-bfd.conf")
	pids := t.TempDir()
	cmd := exec.Command(keepalived, "-t", "-f", path, "-p", pids+"/p", "-r", pids+"/r", "-c", pids+"/c", "-b", pids+"/b")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("keepalived -t accepts the file")
	}
	// The entries' messages, and the range errors of their weights.
	about := regexp.MustCompile(`track bfd|track_bfd|outside range`)
	prefix := regexp.MustCompile(`^\([^)]*: Line (\d+)\) `)
	var theirs []string
	for l := range strings.Lines(stderr.String()) {
		if m := prefix.FindStringSubmatch(l); m != nil && about.MatchString(l) {
			theirs = append(theirs, m[1]+": "+strings.TrimSpace(l[len(m[0]):]))
		}
	}
	_, ds, err := Load(path, Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, d := range ds.Keepalived() {
		if s := d.String(); about.MatchString(s) {
			ours = append(ours, strings.TrimPrefix(s, path+":"))
		}
	}
	slices.Sort(theirs)
	slices.Sort(ours)
	if len(theirs) < 9 || !slices.Equal(ours, theirs) {
		t.Errorf("gokeepalived:\n%s\nkeepalived:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}
