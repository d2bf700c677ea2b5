package vrrpdbus

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The D-Bus errors the service answers with, as GDBus names them.
const (
	errUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
	errInvalidArgs   = "org.freedesktop.DBus.Error.InvalidArgs"
)

// Standard interfaces GDBus answers for every object.
const (
	propertiesInterface = "org.freedesktop.DBus.Properties"
	introspectInterface = "org.freedesktop.DBus.Introspectable"
	peerInterface       = "org.freedesktop.DBus.Peer"
)

// peerShadow is where calls to org.freedesktop.DBus.Peer are moved on
// their way in: the bus library would answer them itself, with its own
// machine id (the bus's) and its own errors, where GDBus gives the host's
// machine id.
const peerShadow = "org.gokeepalived.internal.Peer"

// intercept moves a Peer call to peerShadow, for the dispatcher.
func intercept(msg *dbus.Message) {
	if msg.Type != dbus.TypeMethodCall {
		return
	}
	if v, ok := msg.Headers[dbus.FieldInterface]; ok {
		if name, _ := v.Value().(string); name == peerInterface {
			msg.Headers[dbus.FieldInterface] = dbus.MakeVariant(peerShadow)
		}
	}
}

// machineID is the host's machine id as GDBus reads it for
// Peer.GetMachineId.
func machineID() ([]any, error) {
	b, err := os.ReadFile("/var/lib/dbus/machine-id")
	if err != nil {
		var err2 error
		if b, err2 = os.ReadFile("/etc/machine-id"); err2 != nil {
			return nil, gerror("org.freedesktop.DBus.Error.Failed", "Unable to load /var/lib/dbus/machine-id or /etc/machine-id: %v", err)
		}
	}
	return []any{strings.TrimSpace(string(b))}, nil
}

// handler routes every call on the connection to the Server: one
// dispatcher for all paths and interfaces, so that what is answered, and
// with which error, is GDBus's rule for keepalived's objects rather than
// the bus library's.
type handler struct{ s *Server }

func (h *handler) LookupObject(path dbus.ObjectPath) (dbus.ServerObject, bool) {
	return object{h.s, path}, true
}

type object struct {
	s    *Server
	path dbus.ObjectPath
}

func (o object) LookupInterface(name string) (dbus.Interface, bool) {
	return iface{o, name}, true
}

type iface struct {
	object
	name string
}

func (i iface) LookupMethod(name string) (dbus.Method, bool) {
	return call{i, name}, true
}

// call is one method call; it takes the message's body as it is, and its
// signature, for the dispatcher to check.
type call struct {
	iface
	member string
}

// callArgs is what DecodeArguments hands to Call.
type callArgs struct {
	sig  string
	body []any
}

func (c call) DecodeArguments(_ *dbus.Conn, _ string, msg *dbus.Message, body []any) ([]any, error) {
	sig, _ := msg.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	return []any{callArgs{sig.String(), body}}, nil
}

func (c call) Call(args ...any) ([]any, error) {
	a := args[0].(callArgs)
	return c.s.dispatch(c.path, c.name, c.member, a.sig, a.body)
}

func (call) NumArguments() int     { return 1 }
func (call) NumReturns() int       { return 0 }
func (call) ArgumentValue(int) any { return callArgs{} }
func (call) ReturnValue(int) any   { return nil }

// gerror is a D-Bus error reply.
func gerror(name, format string, args ...any) error {
	return dbus.Error{Name: name, Body: []any{fmt.Sprintf(format, args...)}}
}

// dispatch answers a call as GDBus answers it for keepalived: an exported
// object's own interface, then the Properties and Introspectable
// interfaces; on any path, the introspection of what lies below. What is
// left is an interface the object lacks, or a path with no object.
func (s *Server) dispatch(path dbus.ObjectPath, ifname, member, sig string, body []any) ([]any, error) {
	if ifname == peerShadow {
		// GDBus answers these two on every path.
		ifname = peerInterface
		switch {
		case member == "Ping" && sig == "":
			return nil, nil
		case member == "GetMachineId" && sig == "":
			return machineID()
		}
	}
	exported, isVrrp := s.isExported(path)
	if exported {
		own := InstanceInterface
		if isVrrp {
			own = VrrpInterface
		}
		switch {
		case ifname == own:
			return s.method(path, isVrrp, member, sig)
		case ifname == propertiesInterface && member == "Get" && sig == "ss":
			return s.get(path, own, body[0].(string), body[1].(string))
		case ifname == propertiesInterface && member == "GetAll" && sig == "s":
			return s.getAll(path, own, body[0].(string))
		case ifname == propertiesInterface && member == "Set" && sig == "ssv":
			return nil, s.set(own, body[0].(string), body[1].(string), body[2].(dbus.Variant))
		case ifname == introspectInterface && member == "Introspect" && sig == "":
			return []any{s.introspect(path, own)}, nil
		}
	} else if ifname == introspectInterface && member == "Introspect" && sig == "" {
		return []any{s.introspect(path, "")}, nil
	}
	if exported && ifname != "" {
		return nil, gerror(errUnknownMethod, "No such interface “%s” on object at path %s", ifname, path)
	}
	return nil, gerror(errUnknownMethod, "Object does not exist at path “%s”", path)
}

// method runs a method of an object's own interface.
func (s *Server) method(path dbus.ObjectPath, isVrrp bool, member, sig string) ([]any, error) {
	own := InstanceInterface
	if isVrrp {
		own = VrrpInterface
	}
	if !slices.ContainsFunc(interfaces[own].methods, func(m memberInfo) bool { return m.name == member }) {
		return nil, gerror(errUnknownMethod, "No such method “%s”", member)
	}
	if sig != "" {
		return nil, gerror(errInvalidArgs, "Type of message, “(%s)”, does not match expected type “()”", sig)
	}
	switch member {
	case "PrintData":
		s.log.Info("Printing VRRP data on DBus request")
		s.backend.PrintData()
	case "PrintStats":
		s.log.Info("Printing VRRP stats on DBus request")
		s.backend.PrintStats(false)
	case "PrintStatsClear":
		s.log.Info("Printing and clearing VRRP stats on DBus request")
		s.backend.PrintStats(true)
	case "ReloadConfig":
		// keepalived answers before it signals the reload.
		s.backend.Reload()
	case "SendGarp":
		in, ifname, vrid, family, ok := s.lookup(path)
		if !ok {
			return nil, gerror(errInvalidArgs, "Instance '%s/%d/%s' not found", ifname, vrid, family)
		}
		s.log.Infof("Sending garps on %s on DBus request", in.Name)
		s.backend.SendGarp(in.Name)
	}
	return nil, nil
}

// get reads a property as keepalived does: Name is a structure of one
// string, State a structure of the number and its name.
func (s *Server) get(path dbus.ObjectPath, own, ifname, prop string) ([]any, error) {
	if ifname != own {
		return nil, gerror(errInvalidArgs, "No such interface “%s”", ifname)
	}
	if !hasProperty(own, prop) {
		return nil, gerror(errInvalidArgs, "No such property “%s”", prop)
	}
	v, err := s.property(path, prop)
	if err != nil {
		return nil, err
	}
	return []any{v}, nil
}

// property is the value of an instance's property.
func (s *Server) property(path dbus.ObjectPath, prop string) (dbus.Variant, error) {
	in, ifname, vrid, family, ok := s.lookup(path)
	if !ok {
		return dbus.Variant{}, gerror(errInvalidArgs, "Instance '%s/%d/%s' not found", ifname, vrid, family)
	}
	if prop == "Name" {
		return dbus.MakeVariant(struct{ Name string }{in.Name}), nil
	}
	return dbus.MakeVariant(struct {
		State uint32
		Name  string
	}{uint32(in.State), in.State.String()}), nil
}

// getAll reads every property of the interface; one that cannot be read
// is left out, as GDBus leaves it.
func (s *Server) getAll(path dbus.ObjectPath, own, ifname string) ([]any, error) {
	if ifname != own {
		return nil, gerror(errInvalidArgs, "No such interface “%s”", ifname)
	}
	out := make(map[string]dbus.Variant)
	for _, p := range interfaces[own].props {
		if v, err := s.property(path, p.name); err == nil {
			out[p.name] = v
		}
	}
	return []any{out}, nil
}

// set refuses every write: keepalived's properties are read-only.
func (s *Server) set(own, ifname, prop string, _ dbus.Variant) error {
	if ifname != own {
		return gerror(errInvalidArgs, "No such interface “%s”", ifname)
	}
	if !hasProperty(own, prop) {
		return gerror(errInvalidArgs, "No such property “%s”", prop)
	}
	return gerror(errInvalidArgs, "Property “%s” is not writable", prop)
}

func hasProperty(own, prop string) bool {
	return slices.ContainsFunc(interfaces[own].props, func(p property) bool { return p.name == prop })
}

// children are the names of the nodes right below path that lead to an
// exported object, sorted.
func (s *Server) children(path dbus.ObjectPath) []string {
	prefix := string(path) + "/"
	if path == "/" {
		prefix = "/"
	}
	var out []string
	for _, p := range s.exportedPaths() {
		rest, ok := strings.CutPrefix(string(p), prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
