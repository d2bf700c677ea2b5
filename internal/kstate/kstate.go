// Package kstate captures the kernel state a VRRP daemon leaves in a
// network namespace (links, addresses, routes of every table, policy
// rules and the nftables ruleset) as sorted lines of canonical JSON, with
// what legitimately differs from run to run (interface numbers, counters,
// lifetimes counting down, object handles) taken out, so that the states
// two daemons leave compare line by line.
package kstate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A Section is one kind of kernel object.
type Section string

// The sections of a State, in the order Sections lists them.
const (
	Links   Section = "link"
	Addrs   Section = "addr"
	Routes4 Section = "route4"
	Routes6 Section = "route6"
	Rules4  Section = "rule4"
	Rules6  Section = "rule6"
	Nft     Section = "nft"
)

// Sections lists every section of a State.
var Sections = []Section{Links, Addrs, Routes4, Routes6, Rules4, Rules6, Nft}

// A State is the kernel's objects of a namespace: per section, one line
// of JSON with sorted keys per object, the lines sorted.
type State map[Section][]string

// Capture reads the state of the network namespace ns (a name for ip
// netns) with ip and nft.
func Capture(ctx context.Context, ns string) (State, error) {
	s := State{}
	links, err := ipList(ctx, ns, "-d", "link", "show")
	if err != nil {
		return nil, err
	}
	names := make(map[uint32]string, len(links))
	for _, l := range links {
		if idx, ok := l["ifindex"].(float64); ok {
			names[uint32(idx)], _ = l["ifname"].(string)
		}
		s[Links] = append(s[Links], line(normLink(l)))
	}
	addrs, err := ipList(ctx, ns, "addr", "show")
	if err != nil {
		return nil, err
	}
	for _, l := range addrs {
		infos, _ := l["addr_info"].([]any)
		for _, ai := range infos {
			a, ok := ai.(map[string]any)
			if !ok {
				continue
			}
			s[Addrs] = append(s[Addrs], line(normAddr(l["ifname"], a)))
		}
	}
	for _, q := range []struct {
		sec  Section
		args []string
	}{
		{Routes4, []string{"-4", "route", "show", "table", "all"}},
		{Routes6, []string{"-6", "route", "show", "table", "all"}},
		{Rules4, []string{"-4", "rule", "show"}},
		{Rules6, []string{"-6", "rule", "show"}},
	} {
		objs, err := ipList(ctx, ns, q.args...)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			// A route's expiry counts down (IPv6 routes of router
			// advertisements, cached entries).
			delete(o, "expires")
			s[q.sec] = append(s[q.sec], line(o))
		}
	}
	if s[Nft], err = nftLines(ctx, ns, names); err != nil {
		return nil, err
	}
	for _, sec := range Sections {
		sort.Strings(s[sec])
	}
	return s, nil
}

// Equal reports whether s and o hold the same lines.
func (s State) Equal(o State) bool {
	for _, sec := range Sections {
		if !slices.Equal(s[sec], o[sec]) {
			return false
		}
	}
	return true
}

// Len returns the number of lines of s.
func (s State) Len() int {
	n := 0
	for _, sec := range Sections {
		n += len(s[sec])
	}
	return n
}

// Has reports whether any line of s contains sub.
func (s State) Has(sub string) bool {
	for _, sec := range Sections {
		for _, l := range s[sec] {
			if strings.Contains(l, sub) {
				return true
			}
		}
	}
	return false
}

// String writes s one line per object, each after its section.
func (s State) String() string {
	var b strings.Builder
	for _, sec := range Sections {
		for _, l := range s[sec] {
			fmt.Fprintf(&b, "%s %s\n", sec, l)
		}
	}
	return b.String()
}

// A Line is one object that only one of two states holds.
type Line struct {
	Section Section
	Text    string
}

// Diff returns the lines a holds more often than b and those b holds
// more often than a.
func Diff(a, b State) (onlyA, onlyB []Line) {
	for _, sec := range Sections {
		count := map[string]int{}
		for _, l := range a[sec] {
			count[l]++
		}
		for _, l := range b[sec] {
			count[l]--
		}
		for _, l := range a[sec] {
			if count[l] > 0 {
				count[l]--
				onlyA = append(onlyA, Line{sec, l})
			}
		}
		for _, l := range b[sec] {
			if count[l] < 0 {
				count[l]++
				onlyB = append(onlyB, Line{sec, l})
			}
		}
	}
	return onlyA, onlyB
}

// ipList runs ip -j in ns and decodes its list of objects.
func ipList(ctx context.Context, ns string, args ...string) ([]map[string]any, error) {
	all := append([]string{"-n", ns, "-j"}, args...)
	out, err := run(ctx, "ip", all...)
	if err != nil {
		return nil, err
	}
	var v []map[string]any
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("decoding ip %s: %w", strings.Join(all, " "), err)
	}
	return v, nil
}

func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// normLink drops from a link what numbers or counts rather than
// configures: its index and its parent's (a link recreated, such as a
// VMAC, gets a new one), and statistics.
func normLink(l map[string]any) map[string]any {
	for _, k := range []string{"ifindex", "link_index", "stats", "stats64"} {
		delete(l, k)
	}
	return l
}

// forever is the lifetime ip prints for an address that does not expire.
const forever = 4294967295

// normAddr is one address of the link named dev. A lifetime counting
// down is the kernel's clock, not configuration: forever and zero stay,
// any other value becomes "counting".
func normAddr(dev any, a map[string]any) map[string]any {
	for _, k := range []string{"valid_life_time", "preferred_life_time"} {
		if v, ok := a[k].(float64); ok && v != 0 && v != forever {
			a[k] = "counting"
		}
	}
	a["dev"] = dev
	return a
}

// nftLines lists the ruleset of ns, one line per table, chain, set, map,
// element list or rule: handles (kernel numbering) and the metainfo
// (nft's version) dropped, counters zeroed (they count traffic), set
// elements sorted (the kernel's order depends on its set backend), and
// each rule given its position in its chain, which the order of the
// sorted lines would otherwise lose.
func nftLines(ctx context.Context, ns string, names map[uint32]string) ([]string, error) {
	out, err := run(ctx, "ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset")
	if err != nil {
		return nil, err
	}
	lines, err := parseNft(out, names)
	if err != nil {
		return nil, fmt.Errorf("decoding nft -j list ruleset in %s: %w", ns, err)
	}
	return lines, nil
}

// parseNft is nftLines on nft's output. names, the namespace's
// interfaces by index, names the data of the elements of a map of
// interface indexes that nft shows as a number: nft takes the data's
// byte order from the map's user data, which keepalived writes and the
// nftables package cannot, and reads a host-order index without it as
// big-endian. The bytes the kernel holds, and uses, are the same.
func parseNft(out []byte, names map[uint32]string) ([]string, error) {
	var doc struct {
		Nftables []map[string]map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	var lines []string
	pos := map[string]int{}
	for _, o := range doc.Nftables {
		for kind, v := range o {
			if kind == "metainfo" {
				continue
			}
			delete(v, "handle")
			zeroCounters(v)
			if kind == "map" && v["map"] == "iface_index" {
				nameMapData(v, names)
			}
			if elems, ok := v["elem"].([]any); ok {
				sort.Slice(elems, func(i, j int) bool { return jsonText(elems[i]) < jsonText(elems[j]) })
			}
			if kind == "rule" {
				chain := fmt.Sprint(v["family"], " ", v["table"], " ", v["chain"])
				v["position"] = pos[chain]
				pos[chain]++
			}
			lines = append(lines, line(map[string]any{kind: v}))
		}
	}
	return lines, nil
}

// zeroCounters sets the packets and bytes of the counters in v to 0.
func zeroCounters(v any) {
	switch x := v.(type) {
	case map[string]any:
		if c, ok := x["counter"].(map[string]any); ok {
			c["packets"], c["bytes"] = 0, 0
		}
		for _, e := range x {
			zeroCounters(e)
		}
	case []any:
		for _, e := range x {
			zeroCounters(e)
		}
	}
}

// line is m as JSON, whose maps encoding/json writes with sorted keys.
func line(m map[string]any) string { return jsonText(m) }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Values decoded from JSON always encode again.
		panic(err)
	}
	return string(b)
}

// nameMapData replaces, in the elements of map m, data that nft shows
// as a big-endian number by the name of the interface whose index the
// same bytes hold in host order.
func nameMapData(m map[string]any, names map[uint32]string) {
	elems, _ := m["elem"].([]any)
	for _, e := range elems {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			continue
		}
		s, ok := pair[1].(string)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		idx := binary.NativeEndian.Uint32(binary.BigEndian.AppendUint32(nil, uint32(n)))
		if name, ok := names[idx]; ok {
			pair[1] = name
		}
	}
}
