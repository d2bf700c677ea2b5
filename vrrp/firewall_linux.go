package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// FirewallConfig is the global_defs settings of the nftables firewall
// that keeps a master without accept mode (no_accept, strict mode) from
// accepting or sending packets for its VIPs, as keepalived's does.
type FirewallConfig struct {
	// Table is the tables' name (nftables); empty: no firewall.
	Table string
	// Priority is the base chains' priority (nftables_priority).
	Priority int32
	// Ifindex (nftables_ifindex) keys link-local VIPs by interface
	// index even for instances with dont_track_primary.
	Ifindex bool
	// Counters (nftables_counters) gives every rule a counter.
	Counters bool
}

// The names keepalived gives its sets and chains.
const (
	fwSetVIPs      = "vips"
	fwSetND        = "neighbor-discovery"
	fwSetLLIndex   = "vips_link_local"
	fwSetLLName    = "vips_link_local_name"
	fwChainIn      = "in"
	fwChainOut     = "out"
	fwChainLLIn    = "in_link_local"
	fwChainLLOut   = "out_link_local"
	fwMapVMAC      = "vmac_map"
	fwSetVMAC      = "vmac_set"
	ifNameSize     = unix.IFNAMSIZ
	icmpv6NDSolict = 135
	icmpv6NDAdvert = 136
	// icmpv6RouterSolicit and icmpv6MLD2Report are ICMPv6 types.
	icmpv6RouterSolicit = 133
	icmpv6MLD2Report    = 143
)

// A fwElem is one VIP as an element of one of the firewall's sets.
type fwElem struct {
	v6  bool
	set string
	key string // the element's key bytes
}

// fwElemOf returns addr's element: link-local IPv6 VIPs are keyed with
// their interface, by name when byName (keepalived's choice for an
// instance with dont_track_primary) and by index otherwise.
func fwElemOf(addr netip.Addr, ifindex int, ifname string, byName bool) fwElem {
	if addr.Is4() {
		a := addr.As4()
		return fwElem{set: fwSetVIPs, key: string(a[:])}
	}
	a := addr.As16()
	if !addr.IsLinkLocalUnicast() {
		return fwElem{v6: true, set: fwSetVIPs, key: string(a[:])}
	}
	if byName {
		var name [ifNameSize]byte
		copy(name[:], ifname)
		return fwElem{v6: true, set: fwSetLLName, key: string(a[:]) + string(name[:])}
	}
	// The interface index is in host byte order, as the kernel's
	// meta iif puts it in the register.
	return fwElem{v6: true, set: fwSetLLIndex, key: string(a[:]) + string(binary.NativeEndian.AppendUint32(nil, uint32(ifindex)))}
}

// A firewall is keepalived's nftables VIP firewall: an ip and an ip6
// table whose sets hold the VIPs of the masters without accept mode, and
// whose chains drop what is sent to or from them. The tables are made
// when the first VIP is added, replacing any a previous run left, and
// deleted by close.
type firewall struct {
	cfg FirewallConfig
	log logrus.FieldLogger
	// dial returns a connection that opens a netlink socket for each
	// exchange: the firewall speaks seldom, at state changes.
	dial func() (*nftables.Conn, error)
	// tableExists reports a table of the name in family; nil: ask the
	// kernel.
	tableExists func(c *nftables.Conn, family nftables.TableFamily) (bool, error)

	mu sync.Mutex
	st fwState
	// refs counts the instances that hold each element: two instances
	// may share a VIP.
	refs map[fwElem]int
}

// fwState is which parts of the tables exist, as keepalived's
// ipv4_table_setup, ipv4_vips_setup and the like: each table with its out
// chain; its vips set with its chains and rules; its VMAC map and rules;
// and each set of link-local VIPs with its rules.
type fwState struct {
	v4Table, v6Table bool
	v4, v6           bool
	vmac4, vmac6     bool
	llIndex, llName  bool
}

func newFirewall(cfg FirewallConfig, log logrus.FieldLogger, dial func() (*nftables.Conn, error)) *firewall {
	if dial == nil {
		dial = func() (*nftables.Conn, error) { return nftables.New() }
	}
	return &firewall{cfg: cfg, log: log, dial: dial, refs: make(map[fwElem]int)}
}

func (f *firewall) table(family nftables.TableFamily) *nftables.Table {
	return &nftables.Table{Name: f.cfg.Table, Family: family}
}

// add puts elems in their sets, making the tables, chains and sets they
// need first, all in one transaction.
func (f *firewall) add(elems []fwElem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var fresh []fwElem
	for _, e := range elems {
		if f.refs[e] == 0 && !slices.Contains(fresh, e) {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		f.hold(elems)
		return nil
	}
	c, err := f.dial()
	if err != nil {
		return fmt.Errorf("adding VIPs to nftables table %s: %w", f.cfg.Table, err)
	}
	saved := f.st
	err = f.build(c, fresh)
	if err == nil {
		err = c.Flush()
	}
	if err != nil {
		// The transaction is all or nothing: nothing it made exists.
		f.st = saved
		return fmt.Errorf("adding VIPs to nftables table %s: %w", f.cfg.Table, err)
	}
	f.hold(elems)
	return nil
}

// hold counts one more holder of each of elems.
func (f *firewall) hold(elems []fwElem) {
	for _, e := range elems {
		f.refs[e]++
	}
}

// build queues on c what adding elems takes, in keepalived's order: the
// setup each element's family and set needs, as the elements come, then
// one message per set with its elements.
func (f *firewall) build(c *nftables.Conn, elems []fwElem) error {
	for _, e := range elems {
		switch {
		case !e.v6 && !f.st.v4:
			if err := f.setupIPv4(c); err != nil {
				return err
			}
		case e.v6 && !f.st.v6:
			if err := f.setupIPv6(c); err != nil {
				return err
			}
		}
		switch {
		case e.set == fwSetLLIndex && !f.st.llIndex:
			f.setupLinkLocal(c, false)
			f.st.llIndex = true
		case e.set == fwSetLLName && !f.st.llName:
			f.setupLinkLocal(c, true)
			f.st.llName = true
		}
	}
	return f.perSet(elems, func(s *nftables.Set, vals []nftables.SetElement) error {
		if err := c.SetAddElements(s, vals); err != nil {
			return fmt.Errorf("adding to set %s: %w", s.Name, err)
		}
		return nil
	})
}

// perSet calls fn for each set that holds some of elems, with those, in
// the order keepalived sends them.
func (f *firewall) perSet(elems []fwElem, fn func(*nftables.Set, []nftables.SetElement) error) error {
	for _, s := range f.elemSets() {
		var vals []nftables.SetElement
		for _, e := range elems {
			if e.v6 == (s.Table.Family == nftables.TableFamilyIPv6) && e.set == s.Name {
				vals = append(vals, nftables.SetElement{Key: []byte(e.key)})
			}
		}
		if len(vals) > 0 {
			if err := fn(s, vals); err != nil {
				return err
			}
		}
	}
	return nil
}

// elemSets is the sets that hold VIPs, in the order keepalived sends
// their elements.
func (f *firewall) elemSets() []*nftables.Set {
	ip, ip6 := f.table(nftables.TableFamilyIPv4), f.table(nftables.TableFamilyIPv6)
	return []*nftables.Set{
		{Table: ip, Name: fwSetVIPs, KeyType: nftables.TypeIPAddr},
		{Table: ip6, Name: fwSetVIPs, KeyType: nftables.TypeIP6Addr},
		{Table: ip6, Name: fwSetLLIndex, KeyType: llType(false)},
		{Table: ip6, Name: fwSetLLName, KeyType: llType(true)},
	}
}

func llType(byName bool) nftables.SetDatatype {
	if byName {
		return nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeIFName)
	}
	return nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeIFIndex)
}

// deleteLeftovers deletes the tables a previous run left, before the
// first of this run's is made, as keepalived does.
func (f *firewall) deleteLeftovers(c *nftables.Conn) error {
	exists := f.tableExists
	if exists == nil {
		exists = func(c *nftables.Conn, family nftables.TableFamily) (bool, error) {
			ts, err := c.ListTablesOfFamily(family)
			for _, t := range ts {
				if t.Name == f.cfg.Table {
					return true, nil
				}
			}
			return false, err
		}
	}
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		ok, err := exists(c, fam)
		if err != nil {
			return fmt.Errorf("listing %s tables: %w", familyWord(fam), err)
		}
		if ok {
			f.log.Infof("Deleting old %s %s table", familyWord(fam), f.cfg.Table)
			c.DelTable(f.table(fam))
		}
	}
	return nil
}

func familyWord(fam nftables.TableFamily) string {
	if fam == nftables.TableFamilyIPv6 {
		return "ip6"
	}
	return "ip"
}

func (f *firewall) baseChain(t *nftables.Table, name string) *nftables.Chain {
	hook := nftables.ChainHookInput
	if name == fwChainOut {
		hook = nftables.ChainHookOutput
	}
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: name, Table: t, Type: nftables.ChainTypeFilter, Hooknum: hook,
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(f.cfg.Priority)), Policy: &accept,
	}
}

// newTable makes family's table and its out chain, as keepalived's
// nft_setup_ipv4 and nft_setup_ipv6 do, deleting first what a previous
// run left when it is this run's first table.
func (f *firewall) newTable(c *nftables.Conn, family nftables.TableFamily) (*nftables.Table, error) {
	t := f.table(family)
	if family == nftables.TableFamilyIPv4 && f.st.v4Table || family == nftables.TableFamilyIPv6 && f.st.v6Table {
		return t, nil
	}
	if !f.st.v4Table && !f.st.v6Table {
		if err := f.deleteLeftovers(c); err != nil {
			return nil, err
		}
	}
	c.AddTable(t)
	c.AddChain(f.baseChain(t, fwChainOut))
	if family == nftables.TableFamilyIPv4 {
		f.st.v4Table = true
	} else {
		f.st.v6Table = true
	}
	return t, nil
}

// setupIPv4 makes table ip with its chains, the vips set and the rules
// that drop packets to and from it.
func (f *firewall) setupIPv4(c *nftables.Conn) error {
	t, err := f.newTable(c, nftables.TableFamilyIPv4)
	if err != nil {
		return err
	}
	c.AddChain(f.baseChain(t, fwChainIn))
	if err := c.AddSet(&nftables.Set{Table: t, Name: fwSetVIPs, KeyType: nftables.TypeIPAddr, KeyByteOrder: binaryutil.BigEndian}, nil); err != nil {
		return fmt.Errorf("adding set %s: %w", fwSetVIPs, err)
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: fwChainIn}, Exprs: f.vipRule(false, false)})
	c.AddRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: fwChainOut}, Exprs: f.vipRule(false, true)})
	f.st.v4 = true
	return nil
}

// setupIPv6 makes table ip6 with its chains and sets and the rules that
// let neighbour discovery through, send link-local addresses to their
// own chains, and drop packets to and from the vips set.
func (f *firewall) setupIPv6(c *nftables.Conn) error {
	t, err := f.newTable(c, nftables.TableFamilyIPv6)
	if err != nil {
		return err
	}
	c.AddChain(f.baseChain(t, fwChainIn))
	c.AddChain(&nftables.Chain{Name: fwChainLLIn, Table: t})
	c.AddChain(&nftables.Chain{Name: fwChainLLOut, Table: t})
	if err := c.AddSet(&nftables.Set{Table: t, Name: fwSetVIPs, KeyType: nftables.TypeIP6Addr, KeyByteOrder: binaryutil.BigEndian}, nil); err != nil {
		return fmt.Errorf("adding set %s: %w", fwSetVIPs, err)
	}
	nd := &nftables.Set{Table: t, Name: fwSetND, KeyType: nftables.TypeICMP6Type, Constant: true}
	if err := c.AddSet(nd, []nftables.SetElement{{Key: []byte{icmpv6NDSolict}}, {Key: []byte{icmpv6NDAdvert}}}); err != nil {
		return fmt.Errorf("adding set %s: %w", fwSetND, err)
	}
	in, out := &nftables.Chain{Name: fwChainIn}, &nftables.Chain{Name: fwChainOut}
	c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: f.ndRule()})
	c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: f.linkLocalGoto(false)})
	c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: f.ndRule()})
	c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: f.linkLocalGoto(true)})
	c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: f.vipRule(true, false)})
	c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: f.vipRule(true, true)})
	f.st.v6 = true
	return nil
}

// setupLinkLocal makes the set of link-local VIPs keyed by interface
// index or name, and the rules of the link-local chains that drop
// packets to and from them.
func (f *firewall) setupLinkLocal(c *nftables.Conn, byName bool) {
	t := f.table(nftables.TableFamilyIPv6)
	name := fwSetLLIndex
	if byName {
		name = fwSetLLName
	}
	// AddSet fails only for sets this one is not: anonymous, or with
	// more than five types concatenated.
	_ = c.AddSet(&nftables.Set{Table: t, Name: name, KeyType: llType(byName), KeyByteOrder: binaryutil.NativeEndian}, nil)
	c.AddRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: fwChainLLIn}, Exprs: f.ifRule(name, byName, false)})
	c.AddRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: fwChainLLOut}, Exprs: f.ifRule(name, byName, true)})
}

// addrPayload loads the source or destination address into register 1.
func addrPayload(v6, saddr bool) *expr.Payload {
	p := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
	switch {
	case v6 && saddr:
		p.Offset, p.Len = 8, 16
	case v6:
		p.Offset, p.Len = 24, 16
	case saddr:
		p.Offset = 12
	}
	return p
}

// tail ends a rule with keepalived's optional counter and the verdict.
func (f *firewall) tail(exprs []expr.Any, v *expr.Verdict) []expr.Any {
	if f.cfg.Counters {
		exprs = append(exprs, &expr.Counter{})
	}
	return append(exprs, v)
}

// vipRule is "ip[6] daddr @vips drop", or saddr for the out chain.
func (f *firewall) vipRule(v6, saddr bool) []expr.Any {
	return f.tail([]expr.Any{
		addrPayload(v6, saddr),
		&expr.Lookup{SourceRegister: 1, SetName: fwSetVIPs},
	}, &expr.Verdict{Kind: expr.VerdictDrop})
}

// ndRule is "icmpv6 type @neighbor-discovery accept", with keepalived's
// next header test.
func (f *firewall) ndRule() []expr.Any {
	return f.tail([]expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 6, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Lookup{SourceRegister: 1, SetName: fwSetND},
	}, &expr.Verdict{Kind: expr.VerdictAccept})
}

// linkLocalGoto is "ip6 daddr fe80::/10 goto in_link_local", or saddr
// and out_link_local.
func (f *firewall) linkLocalGoto(saddr bool) []expr.Any {
	chain := fwChainLLIn
	if saddr {
		chain = fwChainLLOut
	}
	mask := make([]byte, 16)
	mask[0], mask[1] = 0xff, 0xc0
	prefix := make([]byte, 16)
	prefix[0], prefix[1] = 0xfe, 0x80
	return f.tail([]expr.Any{
		addrPayload(true, saddr),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: mask, Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: prefix},
	}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain})
}

// ifRule is "ip6 daddr . iif @set drop" (iifname by name), or saddr and
// oif for the out chain.
func (f *firewall) ifRule(set string, byName, saddr bool) []expr.Any {
	key := expr.MetaKeyIIF
	switch {
	case saddr && byName:
		key = expr.MetaKeyOIFNAME
	case saddr:
		key = expr.MetaKeyOIF
	case byName:
		key = expr.MetaKeyIIFNAME
	}
	return f.tail([]expr.Any{
		addrPayload(true, saddr),
		&expr.Meta{Key: key, Register: 2},
		&expr.Lookup{SourceRegister: 1, SetName: set},
	}, &expr.Verdict{Kind: expr.VerdictDrop})
}

// remove takes elems out of their sets once no instance holds them.
func (f *firewall) remove(elems []fwElem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gone []fwElem
	for _, e := range elems {
		switch f.refs[e] {
		case 0: // not held: an instance that never was master
		case 1:
			delete(f.refs, e)
			gone = append(gone, e)
		default:
			f.refs[e]--
		}
	}
	if len(gone) == 0 {
		return nil
	}
	c, err := f.dial()
	if err != nil {
		return fmt.Errorf("removing VIPs from nftables table %s: %w", f.cfg.Table, err)
	}
	err = f.perSet(gone, c.SetDeleteElements)
	if err == nil {
		err = c.Flush()
	}
	if err != nil {
		return fmt.Errorf("removing VIPs from nftables table %s: %w", f.cfg.Table, err)
	}
	return nil
}

// close deletes the tables this run made.
func (f *firewall) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.st.v4Table && !f.st.v6Table {
		return nil
	}
	c, err := f.dial()
	if err != nil {
		return fmt.Errorf("deleting nftables table %s: %w", f.cfg.Table, err)
	}
	if f.st.v4Table {
		c.DelTable(f.table(nftables.TableFamilyIPv4))
	}
	if f.st.v6Table {
		c.DelTable(f.table(nftables.TableFamilyIPv6))
	}
	err = c.Flush()
	f.st = fwState{}
	clear(f.refs)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("deleting nftables table %s: %w", f.cfg.Table, err)
	}
	return nil
}

// metaKeyOIFKind is NFT_META_OIFKIND, which the nftables package does
// not name: the kind of the output interface, as "macvlan".
const metaKeyOIFKind expr.MetaKey = 27

// addVMAC puts the VMAC interface vmac, on base, in the firewall's VMAC
// map (and, for IPv6, set) of its family, and of the other family too
// when otherFamily, making their rules first, as keepalived's
// nft_add_vmac does. The rules send the IGMP and MLD reports a VMAC
// would send from the virtual MAC out of its parent instead, and drop
// the router solicitations of an IPv6 VMAC.
func (f *firewall) addVMAC(vmac, base int, v6, otherFamily bool) error {
	return f.vmac(vmac, base, v6, otherFamily, true)
}

// removeVMAC takes vmac out of the VMAC map and set.
func (f *firewall) removeVMAC(vmac, base int, v6, otherFamily bool) error {
	return f.vmac(vmac, base, v6, otherFamily, false)
}

func (f *firewall) vmac(vmac, base int, v6, otherFamily, add bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.dial()
	if err != nil {
		return fmt.Errorf("VMAC %d in nftables table %s: %w", vmac, f.cfg.Table, err)
	}
	families := []bool{v6}
	if otherFamily {
		families = append(families, !v6)
	}
	saved := f.st
	for _, fam6 := range families {
		if !add && !(fam6 && f.st.vmac6 || !fam6 && f.st.vmac4) {
			continue
		}
		if err := f.vmacFamily(c, vmac, base, fam6, add); err != nil {
			f.st = saved
			return err
		}
	}
	if err := c.Flush(); err != nil {
		f.st = saved
		if !add && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("VMAC %d in nftables table %s: %w", vmac, f.cfg.Table, err)
	}
	return nil
}

// vmacFamily queues the VMAC's elements of one family, after the map,
// set and rules they need when this is the family's first VMAC.
func (f *firewall) vmacFamily(c *nftables.Conn, vmac, base int, v6, add bool) error {
	family := nftables.TableFamilyIPv4
	if v6 {
		family = nftables.TableFamilyIPv6
	}
	t := f.table(family)
	vmacMap := &nftables.Set{Table: t, Name: fwMapVMAC, IsMap: true, KeyType: nftables.TypeIFIndex,
		DataType: nftables.TypeIFIndex, KeyByteOrder: binaryutil.NativeEndian}
	vmacSet := &nftables.Set{Table: t, Name: fwSetVMAC, KeyType: nftables.TypeIFIndex, KeyByteOrder: binaryutil.NativeEndian}
	if add && !(v6 && f.st.vmac6 || !v6 && f.st.vmac4) {
		if _, err := f.newTable(c, family); err != nil {
			return err
		}
		if err := c.AddSet(vmacMap, nil); err != nil {
			return fmt.Errorf("adding map %s: %w", fwMapVMAC, err)
		}
		if v6 {
			if err := c.AddSet(vmacSet, nil); err != nil {
				return fmt.Errorf("adding set %s: %w", fwSetVMAC, err)
			}
		}
		out := &nftables.Chain{Name: fwChainOut}
		c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: f.reportRule(v6)})
		if v6 {
			c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: f.solicitRule()})
		}
		if v6 {
			f.st.vmac6 = true
		} else {
			f.st.vmac4 = true
		}
	}
	key := binary.NativeEndian.AppendUint32(nil, uint32(vmac))
	elems := []nftables.SetElement{{Key: key, Val: binary.NativeEndian.AppendUint32(nil, uint32(base))}}
	setElems := []nftables.SetElement{{Key: key}}
	op := c.SetAddElements
	if !add {
		op = c.SetDeleteElements
	}
	if err := op(vmacMap, elems); err != nil {
		return fmt.Errorf("VMAC %d in map %s: %w", vmac, fwMapVMAC, err)
	}
	if v6 {
		if err := op(vmacSet, setElems); err != nil {
			return fmt.Errorf("VMAC %d in set %s: %w", vmac, fwSetVMAC, err)
		}
	}
	return nil
}

// macvlanKind is the macvlan kind as the oifkind comparison wants it:
// keepalived compares 16 bytes.
var macvlanKind = func() []byte {
	b := make([]byte, ifNameSize)
	copy(b, "macvlan")
	return b
}()

// reportRule is "ip protocol igmp meta oifkind "macvlan" dup to ip daddr
// device oif map @vmac_map drop", or for IPv6 "icmpv6 type
// mld2-listener-report ...".
func (f *firewall) reportRule(v6 bool) []expr.Any {
	var exprs []expr.Any
	if v6 {
		exprs = []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{icmpv6MLD2Report}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
		}
	} else {
		exprs = []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_IGMP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		}
	}
	exprs = append(exprs,
		&expr.Meta{Key: metaKeyOIFKind, Register: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 2, Data: macvlanKind},
		&expr.Meta{Key: expr.MetaKeyOIF, Register: 2},
		&expr.Lookup{SourceRegister: 2, DestRegister: 2, IsDestRegSet: true, SetName: fwMapVMAC},
		&expr.Dup{RegAddr: 1, RegDev: 2, IsRegDevSet: true},
	)
	return f.tail(exprs, &expr.Verdict{Kind: expr.VerdictDrop})
}

// solicitRule is "icmpv6 type nd-router-solicit meta oifkind "macvlan"
// oif @vmac_set drop": a VMAC must not solicit routers from the virtual
// MAC.
func (f *firewall) solicitRule() []expr.Any {
	return f.tail([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{icmpv6RouterSolicit}},
		&expr.Meta{Key: metaKeyOIFKind, Register: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 2, Data: macvlanKind},
		&expr.Meta{Key: expr.MetaKeyOIF, Register: 2},
		&expr.Lookup{SourceRegister: 2, SetName: fwSetVMAC},
	}, &expr.Verdict{Kind: expr.VerdictDrop})
}
