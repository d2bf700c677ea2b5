package config

// lvs_sloppy_tcp and lvs_sloppy_sctp are gokeepalived extensions of
// global_defs: keepalived has no such keywords, and refuses a
// configuration that has them.
//
//	global_defs {
//	    lvs_sloppy_tcp
//	    lvs_sloppy_sctp off
//	}
//
// They set IPVS's sloppy_tcp and sloppy_sctp in the daemon's network
// namespace: a director then schedules a TCP or SCTP packet of a
// connection it did not see begin, instead of dropping it. Behind a
// router's multipath route, where a change of next hops moves flows to
// another director, that director takes them over; with a scheduler that
// picks the same real server everywhere (mh), the connections survive.

// sloppyExtension names the extension in the keywords' notice.
const sloppyExtension = "gokeepalived extension (IPVS sloppy TCP/SCTP: connections moved between directors survive), not a keepalived keyword: keepalived refuses it"

// sloppyKeywords adds the two keywords to global_defs' handlers. Each
// takes an optional on/off (true/false, yes/no); bare, it is on.
func sloppyKeywords(h handlers[Global]) {
	kw := func(f func(*Global) *bool) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			p.d.extension(n.pos, n.words[0], sloppyExtension)
			if len(n.words) > 2 {
				p.errorf(n.pos, "%s takes at most one value, on or off", n.words[0])
				return
			}
			v := true
			if len(n.words) == 2 {
				var ok bool
				if v, ok = trueFalse(n.words[1]); !ok {
					p.errorf(n.pos, "Invalid value '%s' for global %s specified", n.words[1], n.words[0])
					return
				}
			}
			*f(g) = v
		}
	}
	h["lvs_sloppy_tcp"] = kw(func(g *Global) *bool { return &g.LVSSloppyTCP })
	h["lvs_sloppy_sctp"] = kw(func(g *Global) *bool { return &g.LVSSloppySCTP })
}
