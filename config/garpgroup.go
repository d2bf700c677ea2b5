package config

import (
	"math"
	"strconv"
	"time"
)

// garpGroupBlock reads a garp_group block, as keepalived's
// garp_group_handler and its sub-keywords do.
func (p *parser) garpGroupBlock(c *Config, n *node) {
	g := GarpGroup{Pos: n.pos}
	block(p, n, &g, p.kw.garpGroup)
	if !g.HasGarp && !g.HasGna {
		p.errorf(p.lines.at(p.next-1).pos, "garp group %d does not have any delay set - removing", g.aggregation)
		return
	}
	c.GarpGroups = append(c.GarpGroups, g)
}

func garpGroupKeywords() handlers[GarpGroup] {
	interval := func(key string, set func(*GarpGroup, time.Duration)) func(*parser, *GarpGroup, *node) {
		return func(p *parser, g *GarpGroup, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			v, ok := p.lenientDecimal(n.pos, s, math.MaxInt32, 6)
			if !ok {
				p.errorf(n.pos, "garp_group %s '%s' invalid", key, s)
				return
			}
			set(g, time.Duration(v)*time.Microsecond)
		}
	}
	return handlers[GarpGroup]{
		"garp_interval": interval("garp_interval", func(g *GarpGroup, d time.Duration) { g.GarpInterval, g.HasGarp = d, true }),
		"gna_interval":  interval("gna_interval", func(g *GarpGroup, d time.Duration) { g.GnaInterval, g.HasGna = d, true }),
		"interface": func(p *parser, g *GarpGroup, n *node) {
			if name, ok := p.arg(n, 1); ok {
				p.garpGroupInterface(g, n.pos, name, name)
			}
		},
		"interfaces": func(p *parser, g *GarpGroup, n *node) {
			var names []string
			for _, c := range p.values(n, 1) {
				names = append(names, c.words...)
			}
			// keepalived has read the block when it speaks of it or
			// its interfaces: it blames the closing line.
			end := p.lines.at(p.next - 1).pos
			if len(names) == 0 {
				p.errorf(end, "Warning - empty garp_group interfaces block")
				return
			}
			g.aggregation = 1
			for _, o := range p.cfg.GarpGroups {
				if o.aggregation != 0 {
					g.aggregation++
				}
			}
			for _, name := range names {
				// keepalived names the block's second interface when
				// it refuses one already in a group.
				second := name
				if len(names) > 1 {
					second = names[1]
				}
				p.garpGroupInterface(g, end, name, second)
			}
		},
	}
}

// garpGroupInterface puts interface name in g unless a group has it;
// blamed is the name keepalived's message gives then.
func (p *parser) garpGroupInterface(g *GarpGroup, pos Pos, name, blamed string) {
	inGroup := func(gg *GarpGroup) bool {
		for _, n := range gg.Interfaces {
			if n == name {
				return true
			}
		}
		return false
	}
	taken := inGroup(g)
	for i := range p.cfg.GarpGroups {
		taken = taken || inGroup(&p.cfg.GarpGroups[i])
	}
	if taken {
		p.errorf(pos, "garp_group already specified for %s - ignoring", blamed)
		return
	}
	g.Interfaces = append(g.Interfaces, name)
	g.ifPos = append(g.ifPos, pos)
}

// lenientDecimal reads s as keepalived's read_decimal_unsigned does when
// it ignores errors: a number with at most shift decimal places, scaled
// by 10^shift; what is not a number is reported and read as far as its
// digits go, and only a value out of [0, hi] is refused.
func (p *parser) lenientDecimal(pos Pos, s string, hi uint64, shift int) (uint64, bool) {
	digits, roundUp, ok := p.decimalDigits(pos, s, shift)
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(digits) && digits[end] >= '0' && digits[end] <= '9' {
		end++
	}
	v, _ := strconv.ParseUint(digits[:end], 10, 64)
	if end < len(digits) {
		p.errorf(pos, "invalid number '%s'", s)
	}
	if roundUp {
		v++
	}
	if v > hi {
		scale := uint64(math.Pow10(shift))
		p.errorf(pos, "number '%s' outside range [0.%0*d, %d.%0*d]", s, shift, 0, hi/scale, shift, hi%scale)
		return 0, false
	}
	return v, true
}
