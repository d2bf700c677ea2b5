package vrrpdbus

import (
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The introspection data is laid out as GDBus lays it out for
// keepalived's objects: the standard interfaces, the object's own
// interface from keepalived's interface files, then the nodes below. An
// element read from an interface file is written with an end tag even
// when it is empty, as GDBus writes it.

const introspectHeader = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
                      "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
`

const standardInterfaces = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
`

// An interfaceInfo is one of keepalived's two interfaces, as its
// interface file declares it.
type interfaceInfo struct {
	name    string
	methods []memberInfo
	signals []memberInfo
	props   []property
}

type memberInfo struct {
	name string
	args []arg
}

type arg struct{ typ, name string }

type property struct{ typ, name, access string }

var interfaces = map[string]interfaceInfo{
	VrrpInterface: {
		name: VrrpInterface,
		methods: []memberInfo{
			{name: "PrintData"}, {name: "PrintStats"}, {name: "PrintStatsClear"}, {name: "ReloadConfig"},
		},
		signals: []memberInfo{{name: "VrrpStarted"}, {name: "VrrpReloaded"}, {name: "VrrpStopped"}},
	},
	InstanceInterface: {
		name:    InstanceInterface,
		methods: []memberInfo{{name: "SendGarp"}},
		signals: []memberInfo{{name: "VrrpStatusChange", args: []arg{{"u", "status"}}}},
		props:   []property{{"s", "Name", "read"}, {"(us)", "State", "read"}},
	},
}

// introspect is the introspection data of path; own is the interface of
// the object there, "" for a node that only leads to objects, which GDBus
// shows without interfaces.
func (s *Server) introspect(path dbus.ObjectPath, own string) string {
	var b strings.Builder
	b.WriteString(introspectHeader)
	if own != "" {
		b.WriteString(standardInterfaces)
		writeInterface(&b, interfaces[own])
	}
	for _, k := range s.children(path) {
		fmt.Fprintf(&b, "  <node name=\"%s\"/>\n", k)
	}
	b.WriteString("</node>\n")
	return b.String()
}

func writeInterface(b *strings.Builder, in interfaceInfo) {
	fmt.Fprintf(b, "  <interface name=\"%s\">\n", in.name)
	for _, m := range in.methods {
		writeMember(b, "method", m, ` direction="in"`)
	}
	for _, m := range in.signals {
		writeMember(b, "signal", m, "")
	}
	for _, p := range in.props {
		fmt.Fprintf(b, "    <property type=\"%s\" name=\"%s\" access=\"%s\">\n    </property>\n", p.typ, p.name, p.access)
	}
	b.WriteString("  </interface>\n")
}

func writeMember(b *strings.Builder, kind string, m memberInfo, dir string) {
	fmt.Fprintf(b, "    <%s name=\"%s\">\n", kind, m.name)
	for _, a := range m.args {
		fmt.Fprintf(b, "      <arg type=\"%s\" name=\"%s\"%s>\n      </arg>\n", a.typ, a.name, dir)
	}
	fmt.Fprintf(b, "    </%s>\n", kind)
}
