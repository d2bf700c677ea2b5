package config

import (
	"math"
	"net/netip"
	"strconv"
)

// A BFDInstance is a bfd_instance block: one BFD session toward a
// neighbor. Intervals are in microseconds, as keepalived keeps them.
type BFDInstance struct {
	Pos      Pos        `json:"pos,omitzero"`
	Name     string     `json:"name"`
	Neighbor netip.Addr `json:"neighbor_ip"`
	Source   netip.Addr `json:"source_ip,omitzero"`
	MinRx    uint32     `json:"min_rx"`
	MinTx    uint32     `json:"min_tx"`
	IdleTx   uint32     `json:"idle_tx"`
	// Multiplier is the detection multiplier.
	Multiplier uint8 `json:"multiplier"`
	Passive    bool  `json:"passive,omitempty"`
	// TTL is the TTL or hop limit sent: 255 for IPv4 and 64 for IPv6
	// unless set.
	TTL uint8 `json:"ttl"`
	// MaxHops is how many hops a received packet may have crossed; -1
	// accepts any.
	MaxHops int `json:"max_hops"`
	// VRRP and Checker say which of the daemon's parts hear of the
	// session's state: both unless the block names one with vrrp or
	// checker.
	VRRP    bool `json:"vrrp"`
	Checker bool `json:"checker"`
	// Weight is the block's weight, which keepalived's VRRP process
	// reads for track_bfd entries that set none; WeightReverse is its
	// reverse option.
	Weight        int  `json:"weight,omitempty"`
	WeightReverse bool `json:"weight_reverse,omitempty"`

	ttlSet      bool
	vrrpWord    bool // the block says vrrp
	checkerWord bool // the block says checker
	invalid     bool // a neighbor_ip keepalived could not read
	vrrpTracked bool // keepalived's VRRP process reads the block
}

// keepalived's limits and defaults for bfd_instance, in milliseconds
// where they are intervals (bfd.h).
const (
	bfdMinRxMin, bfdMinTxMin, bfdIdleTxMin = 1, 1, 1000
	bfdIntervalMax                         = math.MaxUint32 / 1000
	bfdNameMax                             = 31
	bfdDefaultMinRx, bfdDefaultMinTx       = 10000, 10000
	bfdDefaultIdleTx                       = 1000000
	bfdDefaultMultiplier                   = 5
)

// bfdBlock reads a bfd_instance block, as keepalived's BFD process reads
// it (bfd_parser.c), with the messages keepalived -t prints.
func (p *parser) bfdBlock(c *Config, n *node) {
	name, ok := p.arg(n, 1)
	if !ok {
		p.skipBlock()
		return
	}
	// keepalived -t reads the block three times, as its checker, VRRP
	// and BFD processes do; the first two keep its name for BFD_CHECK and
	// track_bfd, and say so when a name comes twice or is too long.
	if p.bfdChecker == nil {
		p.bfdChecker, p.bfdVRRP = make(map[string]bool), make(map[string]bool)
	}
	if p.bfdChecker[name] {
		p.errorf(n.pos, "BFD %s already specified", name)
	}
	p.bfdChecker[name] = true
	tracked := false
	switch {
	case len(name) > bfdNameMax:
		p.errorf(n.pos, "BFD name %s too long", name)
	case p.bfdVRRP[name]:
		p.errorf(n.pos, "BFD %s already specified", name)
	default:
		p.bfdVRRP[name], tracked = true, true
	}
	if len(name) > bfdNameMax {
		p.errorf(n.pos, "Configuration error: BFD instance %s name too long (maximum length is %d characters) - ignoring", name, bfdNameMax)
		p.skipBlock()
		return
	}
	for _, b := range c.BFDInstances {
		if b.Name == name {
			p.errorf(n.pos, "Configuration error: BFD instance %s already configured - ignoring", name)
			p.skipBlock()
			return
		}
	}
	b := BFDInstance{Pos: n.pos, Name: name, MinRx: bfdDefaultMinRx, MinTx: bfdDefaultMinTx,
		IdleTx: bfdDefaultIdleTx, Multiplier: bfdDefaultMultiplier, vrrpTracked: tracked}
	block(p, n, &b, p.kw.bfd)
	// keepalived's VRRP and checker processes forget a block whose
	// events go only to the other.
	if tracked && b.checkerWord && !b.vrrpWord {
		delete(p.bfdVRRP, name)
	}
	if b.vrrpWord && !b.checkerWord {
		delete(p.bfdChecker, name)
	}
	if b.invalid {
		return
	}
	// keepalived speaks of the block once it has read it: it blames the
	// closing line.
	end := p.lines.at(p.next - 1).pos
	nbrWord := "neighbor"
	if p.bfdNeighbour {
		nbrWord = "neighbour"
	}
	if !b.Neighbor.IsValid() {
		p.errorf(end, "Configuration error: BFD instance %s has no %s address set, disabling instance", name, nbrWord)
		return
	}
	if b.Source.IsValid() && b.Source.Is4() != b.Neighbor.Is4() {
		// keepalived formats both addresses into one static buffer,
		// so it names the source address twice; so does this.
		p.errorf(end, "Configuration error: BFD instance %s source address %s and %s address %s are not of the same family, disabling instance",
			name, b.Source, nbrWord, b.Source)
		return
	}
	for _, o := range c.BFDInstances {
		if o.Neighbor != b.Neighbor || o.Source.IsValid() && b.Source.IsValid() && o.Source != b.Source {
			continue
		}
		if b.Source.IsValid() {
			p.errorf(end, "Configuration error: BFD instance %s has duplicate source/%s address %s/%s, ignoring instance", name, nbrWord, b.Source, b.Neighbor)
		} else {
			p.errorf(end, "Configuration error: BFD instance %s has duplicate %s address %s, ignoring instance", name, nbrWord, b.Neighbor)
		}
		return
	}
	if !b.ttlSet {
		b.TTL = 255
		if b.Neighbor.Is6() {
			b.TTL = 64
		}
	}
	// keepalived keeps max_hops in 8 unsigned bits, where -1 is 255: it
	// exceeds any ttl but 255, which it then becomes.
	if uint8(b.MaxHops) > b.TTL {
		p.errorf(end, "BFD instance %s: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit", name)
		b.MaxHops = int(b.TTL)
	}
	named := b.vrrpWord || b.checkerWord
	b.VRRP = !named || b.vrrpWord
	b.Checker = !named || b.checkerWord
	// What only reading needed does not stay in the Config.
	b.ttlSet, b.vrrpWord, b.checkerWord, b.vrrpTracked = false, false, false, false
	c.BFDInstances = append(c.BFDInstances, b)
}

func bfdKeywords() handlers[BFDInstance] {
	interval := func(key string, lo uint64, set func(*BFDInstance, uint32)) func(*parser, *BFDInstance, *node) {
		return func(p *parser, b *BFDInstance, n *node) {
			s, ok := p.word(n, 1)
			if !ok {
				return
			}
			v, ok := p.bfdDecimal(n.pos, s, lo*1000, bfdIntervalMax*1000)
			if !ok {
				p.errorf(n.pos, "Configuration error: BFD instance %s %s value %s is not valid (must be in range [%d-%d]), ignoring",
					b.Name, key, s, lo, bfdIntervalMax)
				return
			}
			// keepalived's BFD process logs a value above 10 s as not
			// sensible when it reads it; -t does not show that, and
			// the BFD loop logs it when it starts.
			set(b, uint32(v))
		}
	}
	addr := func(p *parser, s string) (netip.Addr, bool) {
		a, err := netip.ParseAddr(s)
		return a.Unmap(), err == nil
	}
	ttl := func(p *parser, b *BFDInstance, n *node) {
		s, ok := p.word(n, 1)
		if !ok {
			return
		}
		v, ok := p.uintValue(n.pos, s, 1, 255)
		if !ok {
			p.errorf(n.pos, "Configuration error: BFD instance %s ttl/hoplimit value %s not valid (must be in range [1-255]), ignoring", b.Name, s)
			return
		}
		b.TTL, b.ttlSet = uint8(v), true
	}
	neighbor := func(p *parser, b *BFDInstance, n *node) {
		s, ok := p.word(n, 1)
		if !ok {
			return
		}
		// keepalived tests the address where it means the keyword, so
		// only "neighbour_ip neighbour_ip" switches its messages to
		// British spelling; it then stays so for every later block.
		if s == "neighbour_ip" {
			p.bfdNeighbour = true
		}
		a, ok := addr(p, s)
		if !ok {
			w := "neighbor"
			if p.bfdNeighbour {
				w = "neighbour"
			}
			p.errorf(n.pos, "Configuration error: BFD instance %s has malformed %s address %s, ignoring instance", b.Name, w, s)
			b.invalid = true
			return
		}
		b.Neighbor = a
	}
	h := handlers[BFDInstance]{
		"neighbor_ip":  neighbor,
		"neighbour_ip": neighbor,
		"source_ip": func(p *parser, b *BFDInstance, n *node) {
			s, ok := p.word(n, 1)
			if !ok {
				return
			}
			a, ok := addr(p, s)
			if !ok {
				p.errorf(n.pos, "Configuration error: BFD instance %s has malformed source address %s, ignoring", b.Name, s)
				return
			}
			b.Source = a
		},
		"min_rx":  interval("min_rx", bfdMinRxMin, func(b *BFDInstance, v uint32) { b.MinRx = v }),
		"min_tx":  interval("min_tx", bfdMinTxMin, func(b *BFDInstance, v uint32) { b.MinTx = v }),
		"idle_tx": interval("idle_tx", bfdIdleTxMin, func(b *BFDInstance, v uint32) { b.IdleTx = v }),
		"multiplier": func(p *parser, b *BFDInstance, n *node) {
			s, ok := p.word(n, 1)
			if !ok {
				return
			}
			v, ok := p.uintValue(n.pos, s, 1, 255)
			if !ok {
				p.errorf(n.pos, "Configuration error: BFD instance %s multiplier value %s not valid (must be in range [1-255]), ignoring", b.Name, s)
				return
			}
			b.Multiplier = uint8(v)
		},
		"passive":  func(p *parser, b *BFDInstance, n *node) { b.Passive = true },
		"ttl":      ttl,
		"hoplimit": ttl,
		"max_hops": func(p *parser, b *BFDInstance, n *node) {
			s, ok := p.word(n, 1)
			if !ok {
				return
			}
			v, ok := p.intValue(n.pos, s, -1, 255)
			if !ok {
				p.errorf(n.pos, "Configuration error: BFD instance %s max_hops value %s not valid (must be in range [-1-255]), ignoring", b.Name, s)
				return
			}
			b.MaxHops = int(v)
		},
		"weight": func(p *parser, b *BFDInstance, n *node) {
			// Only keepalived's VRRP process reads weight, and only
			// in a block it keeps.
			if !b.vrrpTracked {
				return
			}
			s, ok := p.word(n, 1)
			if !ok {
				return
			}
			if v, ok := p.intValue(n.pos, s, -253, 253); ok {
				b.Weight = int(v)
			} else {
				p.errorf(n.pos, "Configuration error: BFD instance %s weight value %s not valid (must be in range [%d-%d]), ignoring", b.Name, s, -253, 253)
			}
			if len(n.words) >= 3 {
				if n.words[2] != "reverse" {
					p.errorf(n.pos, "Configuration error: BFD instance %s unknown weight option %s", b.Name, n.words[2])
				} else {
					b.WeightReverse = true
				}
			}
		},
		"vrrp":    func(p *parser, b *BFDInstance, n *node) { b.vrrpWord = true },
		"checker": func(p *parser, b *BFDInstance, n *node) { b.checkerWord = true },
	}
	// keepalived's BFD process skips the rest of a block whose neighbor
	// address it cannot read; its VRRP process still reads weight.
	for k, f := range h {
		if k == "weight" {
			continue
		}
		h[k] = func(p *parser, b *BFDInstance, n *node) {
			if !b.invalid {
				f(p, b, n)
			}
		}
	}
	return h
}

// bfdDecimal reads s as keepalived's read_decimal_unsigned_strvec does
// with three decimal places: milliseconds read as microseconds.
func (p *parser) bfdDecimal(pos Pos, s string, lo, hi uint64) (uint64, bool) {
	digits, roundUp, ok := p.decimalDigits(pos, s, 3)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	switch {
	case err != nil && isRangeErr(err):
		p.errorf(pos, "number '%s' outside unsigned decimal range", s)
		return 0, false
	case err != nil:
		p.errorf(pos, "invalid number '%s'", s)
		return 0, false
	}
	if roundUp {
		v++
	}
	if v < lo || v > hi {
		p.errorf(pos, "number '%s' outside range [%d.%03d, %d.%03d]", s, lo/1000, lo%1000, hi/1000, hi%1000)
		return 0, false
	}
	return v, true
}

// bfd writes a bfd_instance block.
func (tw *textWriter) bfd(b *BFDInstance) {
	ms := func(v uint32) string { return strconv.FormatFloat(float64(v)/1000, 'f', -1, 64) }
	tw.open("bfd_instance", b.Name)
	tw.kv("neighbor_ip", b.Neighbor.String())
	if b.Source.IsValid() {
		tw.kv("source_ip", b.Source.String())
	}
	tw.kv("min_rx", ms(b.MinRx))
	tw.kv("min_tx", ms(b.MinTx))
	tw.kv("idle_tx", ms(b.IdleTx))
	tw.kv("multiplier", strconv.Itoa(int(b.Multiplier)))
	tw.flag("passive", b.Passive)
	tw.kv("ttl", strconv.Itoa(int(b.TTL)))
	tw.kv("max_hops", strconv.Itoa(b.MaxHops))
	if b.Weight != 0 || b.WeightReverse {
		w := []string{strconv.Itoa(b.Weight)}
		if b.WeightReverse {
			w = append(w, "reverse")
		}
		tw.kv("weight", w...)
	}
	if !b.VRRP || !b.Checker {
		tw.flag("vrrp", b.VRRP)
		tw.flag("checker", b.Checker)
	}
	tw.close()
}
