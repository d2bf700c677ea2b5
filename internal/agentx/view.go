package agentx

import (
	"slices"
	"sort"
)

// View is a MIB's variables at one moment, sorted by name: what a Session
// answers one request from. Build it with NewView, or with a Builder.
type View struct {
	vbs []VarBind
}

// NewView returns the View of vbs, sorted; of several variables with one
// name the last is kept.
func NewView(vbs []VarBind) View {
	s := slices.Clone(vbs)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Name.Compare(s[j].Name) < 0 })
	out := s[:0]
	for i, v := range s {
		if i+1 < len(s) && s[i+1].Name.Compare(v.Name) == 0 {
			continue
		}
		out = append(out, v)
	}
	return View{vbs: out}
}

// Len returns the number of variables in v.
func (v View) Len() int { return len(v.vbs) }

// All returns v's variables in order; the slice must not be changed.
func (v View) All() []VarBind { return v.vbs }

// Get returns the variable named name.
func (v View) Get(name OID) (VarBind, bool) {
	i := v.search(name)
	if i < len(v.vbs) && v.vbs[i].Name.Compare(name) == 0 {
		return v.vbs[i], true
	}
	return VarBind{}, false
}

// Next returns the first variable after start, or at start when include
// is set, and before end when end is not empty: a GetNext search range's
// answer (RFC 2741 section 7.2.3.2).
func (v View) Next(start OID, include bool, end OID) (VarBind, bool) {
	i := v.search(start)
	if i < len(v.vbs) && !include && v.vbs[i].Name.Compare(start) == 0 {
		i++
	}
	if i >= len(v.vbs) {
		return VarBind{}, false
	}
	if len(end) > 0 && v.vbs[i].Name.Compare(end) >= 0 {
		return VarBind{}, false
	}
	return v.vbs[i], true
}

// search returns the index of the first variable not before name.
func (v View) search(name OID) int {
	return sort.Search(len(v.vbs), func(i int) bool { return v.vbs[i].Name.Compare(name) >= 0 })
}

// Builder collects the variables of a View under a base OID: tables add
// their columns row by row, in any order.
type Builder struct {
	vbs []VarBind
}

// Add adds the variable name of type t and value val.
func (b *Builder) Add(name OID, t VarType, val any) {
	b.vbs = append(b.vbs, VarBind{Name: name, Type: t, Value: val})
}

// Int adds an Integer.
func (b *Builder) Int(name OID, n int32) { b.Add(name, Integer, n) }

// String adds an OctetString of s.
func (b *Builder) String(name OID, s string) { b.Add(name, OctetString, []byte(s)) }

// Bytes adds an OctetString.
func (b *Builder) Bytes(name OID, s []byte) { b.Add(name, OctetString, s) }

// Gauge adds a Gauge32 (an Unsigned32).
func (b *Builder) Gauge(name OID, n uint32) { b.Add(name, Gauge32, n) }

// Counter adds a Counter32.
func (b *Builder) Counter(name OID, n uint32) { b.Add(name, Counter32, n) }

// Counter64 adds a Counter64.
func (b *Builder) Counter64(name OID, n uint64) { b.Add(name, Counter64, n) }

// Ticks adds TimeTicks, in hundredths of a second.
func (b *Builder) Ticks(name OID, n uint32) { b.Add(name, TimeTicks, n) }

// View returns the View of what was added.
func (b *Builder) View() View { return NewView(b.vbs) }
