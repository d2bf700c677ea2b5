package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"
)

// fwRecorder is a netlink peer for a firewall that records each message
// of the batches it is sent, as "op family object" with the object's
// name, and acknowledges them, or fails them with fail.
type fwRecorder struct {
	msgs []string
	fail error
	// tables is the tables it reports to exist, by family word.
	tables map[string]bool
}

func (r *fwRecorder) firewall(t *testing.T, cfg FirewallConfig) (*firewall, *test.Hook) {
	t.Helper()
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	f := newFirewall(cfg, log, func() (*nftables.Conn, error) {
		return nftables.New(nftables.WithTestDial(r.dial))
	})
	f.tableExists = func(_ *nftables.Conn, fam nftables.TableFamily) (bool, error) {
		return r.tables[familyWord(fam)], nil
	}
	return f, hook
}

func (r *fwRecorder) dial(req []netlink.Message) ([]netlink.Message, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	for _, m := range req {
		if s := describeNFT(m); s != "" {
			r.msgs = append(r.msgs, s)
		}
	}
	return req, nil
}

// describeNFT names an nf_tables message: its operation, family, and the
// table, chain or set it is about.
func describeNFT(m netlink.Message) string {
	if uint16(m.Header.Type)>>8 != unix.NFNL_SUBSYS_NFTABLES || len(m.Data) < 4 {
		return "" // batch begin and end
	}
	ops := map[uint16]string{
		unix.NFT_MSG_NEWTABLE: "newtable", unix.NFT_MSG_DELTABLE: "deltable",
		unix.NFT_MSG_NEWCHAIN: "newchain", unix.NFT_MSG_NEWSET: "newset",
		unix.NFT_MSG_NEWRULE: "newrule", unix.NFT_MSG_NEWSETELEM: "newsetelem",
		unix.NFT_MSG_DELSETELEM: "delsetelem",
	}
	op := ops[uint16(m.Header.Type)&0xff]
	fam := "ip"
	if m.Data[0] == unix.NFPROTO_IPV6 {
		fam = "ip6"
	}
	attrs, err := netlink.UnmarshalAttributes(m.Data[4:])
	if err != nil {
		return fmt.Sprintf("%s %s: %v", op, fam, err)
	}
	get := func(typ uint16) string {
		for _, a := range attrs {
			if a.Type&^unix.NLA_F_NESTED == typ {
				return strings.TrimRight(string(a.Data), "\x00")
			}
		}
		return "?"
	}
	switch op {
	case "newtable", "deltable":
		return fmt.Sprintf("%s %s %s", op, fam, get(unix.NFTA_TABLE_NAME))
	case "newchain":
		return fmt.Sprintf("%s %s %s", op, fam, get(unix.NFTA_CHAIN_NAME))
	case "newrule":
		return fmt.Sprintf("%s %s %s", op, fam, get(unix.NFTA_RULE_CHAIN))
	case "newset":
		return fmt.Sprintf("%s %s %s", op, fam, get(unix.NFTA_SET_NAME))
	default: // set elements
		n := 0
		for _, a := range attrs {
			if a.Type&^unix.NLA_F_NESTED == unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				elems, _ := netlink.UnmarshalAttributes(a.Data)
				n = len(elems)
			}
		}
		return fmt.Sprintf("%s %s %s %d", op, fam, get(unix.NFTA_SET_ELEM_LIST_SET), n)
	}
}

var fwTestCfg = FirewallConfig{Table: "keepalived", Priority: -1}

func mustElems(t *testing.T, vips ...string) []fwElem {
	t.Helper()
	var out []fwElem
	for _, s := range vips {
		out = append(out, fwElemOf(netip.MustParseAddr(s), 2, "eth0", false))
	}
	return out
}

// TestFirewallFirstAddBuildsKeepalivedsTables checks the transaction of
// the first VIPs: keepalived's tables, chains, sets and rules in its
// order, each family's made as its first VIP comes, then one message of
// elements per set.
func TestFirewallFirstAddBuildsKeepalivedsTables(t *testing.T) {
	r := &fwRecorder{}
	f, _ := r.firewall(t, fwTestCfg)
	if err := f.add(mustElems(t, "10.66.0.100", "10.66.0.101", "fe80::1234", "2001:db8::100")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"newtable ip keepalived", "newchain ip out", "newchain ip in", "newset ip vips",
		"newrule ip in", "newrule ip out",
		"newtable ip6 keepalived", "newchain ip6 out", "newchain ip6 in",
		"newchain ip6 in_link_local", "newchain ip6 out_link_local",
		"newset ip6 vips", "newset ip6 neighbor-discovery", "newsetelem ip6 neighbor-discovery 2",
		"newrule ip6 in", "newrule ip6 in", "newrule ip6 out", "newrule ip6 out",
		"newrule ip6 in", "newrule ip6 out",
		"newset ip6 vips_link_local", "newrule ip6 in_link_local", "newrule ip6 out_link_local",
		"newsetelem ip vips 2", "newsetelem ip6 vips 1", "newsetelem ip6 vips_link_local 1",
	}
	if !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("first add sent\n%s\nwant\n%s", strings.Join(r.msgs, "\n"), strings.Join(want, "\n"))
	}

	// Later VIPs only go into the sets; one already there is counted,
	// not sent again.
	r.msgs = nil
	if err := f.add(mustElems(t, "10.66.0.110", "10.66.0.100")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"newsetelem ip vips 1"}; !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("second add sent %q, want %q", r.msgs, want)
	}
	// 10.66.0.100 is held twice: the first removal keeps it.
	r.msgs = nil
	if err := f.remove(mustElems(t, "10.66.0.100", "10.66.0.110")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"delsetelem ip vips 1"}; !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("removal sent %q, want %q", r.msgs, want)
	}
	// An address no instance holds is not sent.
	r.msgs = nil
	if err := f.remove(mustElems(t, "10.9.9.9")); err != nil || len(r.msgs) != 0 {
		t.Errorf("removing an unheld VIP: %v, sent %q", err, r.msgs)
	}
	r.msgs = nil
	if err := f.close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"deltable ip keepalived", "deltable ip6 keepalived"}; !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("close sent %q, want %q", r.msgs, want)
	}
	// Closed, nothing is left to delete.
	r.msgs = nil
	if err := f.close(); err != nil || len(r.msgs) != 0 {
		t.Errorf("second close: %v, sent %q", err, r.msgs)
	}
}

// TestFirewallIPv6FirstMakesOnlyIPv6 checks that a family without VIPs
// gets no table, and that the link-local set keyed by name comes with
// its own rules.
func TestFirewallIPv6FirstMakesOnlyIPv6(t *testing.T) {
	r := &fwRecorder{}
	f, _ := r.firewall(t, fwTestCfg)
	e := fwElemOf(netip.MustParseAddr("fe80::1"), 2, "eth0", true)
	if err := f.add([]fwElem{e}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"newtable ip6 keepalived", "newchain ip6 out", "newchain ip6 in",
		"newchain ip6 in_link_local", "newchain ip6 out_link_local",
		"newset ip6 vips", "newset ip6 neighbor-discovery", "newsetelem ip6 neighbor-discovery 2",
		"newrule ip6 in", "newrule ip6 in", "newrule ip6 out", "newrule ip6 out",
		"newrule ip6 in", "newrule ip6 out",
		"newset ip6 vips_link_local_name", "newrule ip6 in_link_local", "newrule ip6 out_link_local",
		"newsetelem ip6 vips_link_local_name 1",
	}
	if !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(r.msgs, "\n"), strings.Join(want, "\n"))
	}
	r.msgs = nil
	f.close()
	if want := []string{"deltable ip6 keepalived"}; !reflect.DeepEqual(r.msgs, want) {
		t.Errorf("close sent %q, want %q", r.msgs, want)
	}
}

// TestFirewallDeletesLeftovers checks that tables a killed run left are
// deleted in the transaction that makes the new ones, with keepalived's
// message, and only then.
func TestFirewallDeletesLeftovers(t *testing.T) {
	r := &fwRecorder{tables: map[string]bool{"ip": true, "ip6": true}}
	f, hook := r.firewall(t, FirewallConfig{Table: "ka2", Priority: 5})
	if err := f.add(mustElems(t, "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"deltable ip ka2", "deltable ip6 ka2", "newtable ip ka2"}; !reflect.DeepEqual(r.msgs[:3], want) {
		t.Errorf("first messages %q, want %q", r.msgs[:3], want)
	}
	var logged []string
	for _, e := range hook.AllEntries() {
		logged = append(logged, e.Message)
	}
	if want := []string{"Deleting old ip ka2 table", "Deleting old ip6 ka2 table"}; !reflect.DeepEqual(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
	// The ip6 table of this run is made without another check.
	r.msgs = nil
	if err := f.add(mustElems(t, "2001:db8::1")); err != nil {
		t.Fatal(err)
	}
	if r.msgs[0] != "newtable ip6 ka2" {
		t.Errorf("adding the first IPv6 VIP began with %q", r.msgs[0])
	}
}

// TestFirewallFailedAddIsForgotten checks that a transaction the kernel
// refuses leaves the firewall as it was: the next add makes the tables.
func TestFirewallFailedAddIsForgotten(t *testing.T) {
	r := &fwRecorder{fail: errors.New("refused")}
	f, _ := r.firewall(t, fwTestCfg)
	err := f.add(mustElems(t, "10.0.0.1"))
	if err == nil || !strings.Contains(err.Error(), "adding VIPs to nftables table keepalived") {
		t.Fatalf("add = %v, want the refusal wrapped", err)
	}
	r.fail = nil
	if err := f.add(mustElems(t, "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if len(r.msgs) == 0 || r.msgs[0] != "newtable ip keepalived" || r.msgs[len(r.msgs)-1] != "newsetelem ip vips 1" {
		t.Errorf("add after a refusal sent %q", r.msgs)
	}
}

// TestFirewallRules checks each rule against the expressions of
// keepalived's vrrp_nftables.c, with and without nftables_counters.
func TestFirewallRules(t *testing.T) {
	drop, accept := &expr.Verdict{Kind: expr.VerdictDrop}, &expr.Verdict{Kind: expr.VerdictAccept}
	payload := func(base expr.PayloadBase, off, n uint32) *expr.Payload {
		return &expr.Payload{DestRegister: 1, Base: base, Offset: off, Len: n}
	}
	net := expr.PayloadBaseNetworkHeader
	lookup := func(set string) *expr.Lookup { return &expr.Lookup{SourceRegister: 1, SetName: set} }
	ll := make([]byte, 16)
	ll[0], ll[1] = 0xfe, 0x80
	mask := make([]byte, 16)
	mask[0], mask[1] = 0xff, 0xc0
	bitwise := &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: mask, Xor: make([]byte, 16)}
	for _, counters := range []bool{false, true} {
		f := newFirewall(FirewallConfig{Table: "t", Counters: counters}, logrus.New(), nil)
		// withTail is a rule's expressions with keepalived's counter
		// before its verdict.
		withTail := func(v *expr.Verdict, e ...expr.Any) []expr.Any {
			if counters {
				e = append(e, &expr.Counter{})
			}
			return append(e, v)
		}
		cases := []struct {
			name string
			got  []expr.Any
			want []expr.Any
		}{
			{"ip daddr @vips drop", f.vipRule(false, false), withTail(drop, payload(net, 16, 4), lookup("vips"))},
			{"ip saddr @vips drop", f.vipRule(false, true), withTail(drop, payload(net, 12, 4), lookup("vips"))},
			{"ip6 daddr @vips drop", f.vipRule(true, false), withTail(drop, payload(net, 24, 16), lookup("vips"))},
			{"ip6 saddr @vips drop", f.vipRule(true, true), withTail(drop, payload(net, 8, 16), lookup("vips"))},
			{"icmpv6 type @neighbor-discovery accept", f.ndRule(), withTail(accept,
				payload(net, 6, 1), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{58}},
				payload(expr.PayloadBaseTransportHeader, 0, 1), lookup("neighbor-discovery"))},
			{"ip6 daddr fe80::/10 goto in_link_local", f.linkLocalGoto(false), withTail(
				&expr.Verdict{Kind: expr.VerdictGoto, Chain: "in_link_local"},
				payload(net, 24, 16), bitwise, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ll})},
			{"ip6 saddr fe80::/10 goto out_link_local", f.linkLocalGoto(true), withTail(
				&expr.Verdict{Kind: expr.VerdictGoto, Chain: "out_link_local"},
				payload(net, 8, 16), bitwise, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ll})},
			{"ip6 daddr . iif @vips_link_local drop", f.ifRule("vips_link_local", false, false), withTail(drop,
				payload(net, 24, 16), &expr.Meta{Key: expr.MetaKeyIIF, Register: 2}, lookup("vips_link_local"))},
			{"ip6 saddr . oif @vips_link_local drop", f.ifRule("vips_link_local", false, true), withTail(drop,
				payload(net, 8, 16), &expr.Meta{Key: expr.MetaKeyOIF, Register: 2}, lookup("vips_link_local"))},
			{"ip6 daddr . iifname @vips_link_local_name drop", f.ifRule("vips_link_local_name", true, false), withTail(drop,
				payload(net, 24, 16), &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 2}, lookup("vips_link_local_name"))},
			{"ip6 saddr . oifname @vips_link_local_name drop", f.ifRule("vips_link_local_name", true, true), withTail(drop,
				payload(net, 8, 16), &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 2}, lookup("vips_link_local_name"))},
		}
		for _, c := range cases {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("counters %v: %s:\n got %#v\nwant %#v", counters, c.name, c.got, c.want)
			}
		}
	}
}

// TestFirewallChains checks the base chains' hook, type, policy and the
// configured priority.
func TestFirewallChains(t *testing.T) {
	f := newFirewall(FirewallConfig{Table: "t", Priority: -7}, logrus.New(), nil)
	tb := f.table(nftables.TableFamilyIPv4)
	for name, hook := range map[string]*nftables.ChainHook{"in": nftables.ChainHookInput, "out": nftables.ChainHookOutput} {
		c := f.baseChain(tb, name)
		if c.Name != name || c.Table != tb || c.Type != nftables.ChainTypeFilter || *c.Hooknum != *hook ||
			*c.Priority != -7 || *c.Policy != nftables.ChainPolicyAccept {
			t.Errorf("chain %s: %+v", name, c)
		}
	}
}

// TestFirewallElements checks the sets VIPs go to and their keys: a
// link-local one with its interface's index in host byte order, or its
// name padded to IFNAMSIZ.
func TestFirewallElements(t *testing.T) {
	idx := binary.NativeEndian.AppendUint32(nil, 7)
	ll := netip.MustParseAddr("fe80::1234").As16()
	g := netip.MustParseAddr("2001:db8::1").As16()
	name := make([]byte, 16)
	copy(name, "eth1")
	cases := []struct {
		addr   string
		byName bool
		want   fwElem
	}{
		{"10.1.2.3", false, fwElem{set: "vips", key: "\x0a\x01\x02\x03"}},
		{"10.1.2.3", true, fwElem{set: "vips", key: "\x0a\x01\x02\x03"}},
		{"2001:db8::1", true, fwElem{v6: true, set: "vips", key: string(g[:])}},
		{"fe80::1234", false, fwElem{v6: true, set: "vips_link_local", key: string(ll[:]) + string(idx)}},
		{"fe80::1234", true, fwElem{v6: true, set: "vips_link_local_name", key: string(ll[:]) + string(name)}},
	}
	for _, c := range cases {
		if got := fwElemOf(netip.MustParseAddr(c.addr), 7, "eth1", c.byName); got != c.want {
			t.Errorf("fwElemOf(%s, byName %v) = %v %s %x, want %v %s %x", c.addr, c.byName, got.v6, got.set, got.key, c.want.v6, c.want.set, c.want.key)
		}
	}
	// The sets' key types are those nft shows for keepalived's.
	for _, s := range newFirewall(fwTestCfg, logrus.New(), nil).elemSets() {
		want := map[string]uint32{"vips": 4, "vips_link_local": 20, "vips_link_local_name": 32}[s.Name]
		if s.Table.Family == nftables.TableFamilyIPv6 && s.Name == "vips" {
			want = 16
		}
		if s.KeyType.Bytes != want {
			t.Errorf("set %s %s: key of %d bytes, want %d", familyWord(s.Table.Family), s.Name, s.KeyType.Bytes, want)
		}
	}
}
