package kstate

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNormAddr(t *testing.T) {
	got := line(normAddr("eth0", map[string]any{
		"local": "fd00::1", "valid_life_time": float64(forever), "preferred_life_time": float64(1795),
	}))
	want := `{"dev":"eth0","local":"fd00::1","preferred_life_time":"counting","valid_life_time":4294967295}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Zero deprecates: it stays.
	if got := line(normAddr("eth0", map[string]any{"preferred_life_time": float64(0)})); !strings.Contains(got, `"preferred_life_time":0`) {
		t.Errorf("a zero lifetime became %s", got)
	}
}

func TestNormLink(t *testing.T) {
	got := line(normLink(map[string]any{"ifindex": 7.0, "link_index": 2.0, "ifname": "vrrp.1", "stats64": map[string]any{}}))
	if want := `{"ifname":"vrrp.1"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestParseNft checks that handles, metainfo and counters go, that set
// elements are sorted and that rules keep their place in their chain.
func TestParseNft(t *testing.T) {
	out := `{"nftables": [{"metainfo": {"version": "1.0.6"}},
{"table": {"family": "ip", "name": "keepalived", "handle": 3}},
{"set": {"family": "ip", "name": "vips", "table": "keepalived", "type": "ipv4_addr", "handle": 2, "elem": ["10.0.0.2", "10.0.0.1"]}},
{"rule": {"family": "ip", "table": "keepalived", "chain": "in", "handle": 9, "expr": [{"counter": {"packets": 5, "bytes": 420}}, {"drop": null}]}},
{"rule": {"family": "ip", "table": "keepalived", "chain": "in", "handle": 4, "expr": [{"accept": null}]}},
{"map": {"family": "ip", "name": "vmac_map", "table": "keepalived", "type": "iface_index", "map": "iface_index", "elem": [["vrrp.7", "eth0"], ["vrrp.8", "` + bigEndianIndex(2) + `"]]}}]}`
	got, err := parseNft([]byte(out), map[uint32]string{1: "lo", 2: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"table":{"family":"ip","name":"keepalived"}}`,
		`{"set":{"elem":["10.0.0.1","10.0.0.2"],"family":"ip","name":"vips","table":"keepalived","type":"ipv4_addr"}}`,
		`{"rule":{"chain":"in","expr":[{"counter":{"bytes":0,"packets":0}},{"drop":null}],"family":"ip","position":0,"table":"keepalived"}}`,
		`{"rule":{"chain":"in","expr":[{"accept":null}],"family":"ip","position":1,"table":"keepalived"}}`,
		`{"map":{"elem":[["vrrp.7","eth0"],["vrrp.8","eth0"]],"family":"ip","map":"iface_index","name":"vmac_map","table":"keepalived","type":"iface_index"}}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiff(t *testing.T) {
	a := State{Addrs: {"x", "y", "y"}, Nft: {"n"}}
	b := State{Addrs: {"y", "z"}}
	onlyA, onlyB := Diff(a, b)
	if want := []Line{{Addrs, "x"}, {Addrs, "y"}, {Nft, "n"}}; !slices.Equal(onlyA, want) {
		t.Errorf("only a: %v, want %v", onlyA, want)
	}
	if want := []Line{{Addrs, "z"}}; !slices.Equal(onlyB, want) {
		t.Errorf("only b: %v, want %v", onlyB, want)
	}
	if a.Equal(b) || !a.Equal(a) || a.Len() != 4 || !a.Has("n") || a.Has("z") {
		t.Error("Equal, Len or Has is wrong")
	}
}

// TestCaptureNamespace captures a namespace of its own: its loopback
// and an address added to it are there, and a second capture is equal.
func TestCaptureNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true)")
		}
		t.Skip("needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("needs %s (CI=true)", tool)
			}
			t.Skip("needs " + tool)
		}
	}
	ns := "kstate-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", "10.200.0.1/32", "dev", "lo"},
		{"-n", ns, "rule", "add", "from", "10.200.0.0/24", "table", "100", "priority", "50"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ctx := context.Background()
	s, err := Capture(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ifname":"lo"`, `"local":"10.200.0.1"`, `"priority":50`} {
		if !s.Has(want) {
			t.Errorf("no %s in\n%s", want, s)
		}
	}
	again, err := Capture(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Equal(again) {
		a, b := Diff(s, again)
		t.Errorf("two captures differ: %v / %v", a, b)
	}
}

// bigEndianIndex is how nft shows interface index idx held in host
// order when it reads it as big-endian.
func bigEndianIndex(idx uint32) string {
	return strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, idx)))), 10)
}
