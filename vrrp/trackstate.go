package vrrp

// ScriptResult is where a track script stands, as keepalived's SNMP
// vrrpScriptResult tells it.
type ScriptResult uint8

// The script results.
const (
	// ScriptInit: no result yet; the first success makes it good.
	ScriptInit ScriptResult = iota
	// ScriptInitFailed: no result yet, and init_fail holds it failed.
	ScriptInitFailed
	ScriptBad
	ScriptGood
)

// ScriptResult returns the result of the track script named name, and
// whether the router tracks it.
func (r *Router) ScriptResult(name string) (ScriptResult, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.scripts[name]
	if t == nil {
		return 0, false
	}
	switch s := &t.state; {
	case s.init:
		return ScriptInit, true
	case !s.ran:
		return ScriptInitFailed, true
	case s.good():
		return ScriptGood, true
	}
	return ScriptBad, true
}

// FileValue returns the value of the track file named name as last read,
// and whether the router tracks it.
func (r *Router) FileValue(name string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.files[name]
	if t == nil {
		return 0, false
	}
	return t.value, true
}
