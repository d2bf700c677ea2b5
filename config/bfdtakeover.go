package config

// bfd_takeover is a gokeepalived extension of vrrp_instance: keepalived
// has no such keyword, and refuses a configuration that has it.
//
//	vrrp_instance VI_1 {
//	    ...
//	    bfd_takeover MASTER_LINK
//	}
//
// It names a bfd_instance toward the master; when that session goes
// Down the backup takes over after its skew time, as on a priority 0
// advert, rather than after the whole Master_Down_Interval.

// bfdTakeoverExtension names the extension in the keyword's notice.
const bfdTakeoverExtension = "gokeepalived extension (BFD-accelerated VRRP takeover), not a keepalived keyword: keepalived refuses it"

func (p *parser) bfdTakeover(in *Instance, n *node) {
	p.d.extension(n.pos, n.words[0], bfdTakeoverExtension)
	if len(n.words) != 2 {
		p.errorf(n.pos, "(%s) bfd_takeover takes one bfd_instance name", in.Name)
		return
	}
	name, _ := p.arg(n, 1)
	in.BFDTakeover, in.bfdTakeoverPos = name, n.pos
}

// validateBFDTakeover drops a bfd_takeover naming no bfd_instance that
// sends its state to VRRP, as track_bfd drops one.
func (p *parser) validateBFDTakeover(in *Instance, vrrpBFDs map[string]bool) {
	if in.BFDTakeover == "" || vrrpBFDs[in.BFDTakeover] {
		return
	}
	p.errorf(in.bfdTakeoverPos, "(%s) bfd_takeover %s: no bfd_instance of that name sends to vrrp, ignoring...", in.Name, in.BFDTakeover)
	in.BFDTakeover = ""
}
