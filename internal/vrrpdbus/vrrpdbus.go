// Package vrrpdbus serves keepalived's VRRP interface on the D-Bus system
// bus (enable_dbus): it owns the name org.keepalived.Vrrp1, or
// dbus_service_name, and exports
//
//   - /org/keepalived/Vrrp1/Vrrp, interface org.keepalived.Vrrp1.Vrrp,
//     with the methods PrintData, PrintStats, PrintStatsClear and
//     ReloadConfig and the signals VrrpStarted, VrrpReloaded and
//     VrrpStopped;
//   - one object per VRRP instance,
//     /org/keepalived/Vrrp1/Instance/IFNAME/VRID/IPv4 (or IPv6),
//     interface org.keepalived.Vrrp1.Instance, with the read-only
//     properties Name and State, the method SendGarp and the signal
//     VrrpStatusChange.
//
// The net_namespace and instance names, when set, come between
// /org/keepalived/Vrrp1 and the rest of the paths, as in keepalived.
//
// Calls, property reads, introspection and errors are answered as
// keepalived's GDBus service answers them, types included (the Name
// property is a one-string structure, as keepalived returns it), so that
// clients written for keepalived work unchanged. As in keepalived, a bus
// that is missing, a name that another connection owns or a bus that goes
// away is logged and leaves VRRP running; the service does not come back
// until the VRRP process starts again.
package vrrpdbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"
)

// Names of keepalived's service.
const (
	// ServiceName is the bus name owned without dbus_service_name.
	ServiceName = "org.keepalived.Vrrp1"
	// VrrpInterface is the interface of the Vrrp object.
	VrrpInterface = "org.keepalived.Vrrp1.Vrrp"
	// InstanceInterface is the interface of the instances' objects.
	InstanceInterface = "org.keepalived.Vrrp1.Instance"
	// objectRoot is the prefix of every path.
	objectRoot = "/org/keepalived/Vrrp1"
)

// State is an instance's state as keepalived numbers it on the bus.
type State uint32

// keepalived's VRRP_STATE_* values.
const (
	Init    State = 0
	Backup  State = 1
	Master  State = 2
	Fault   State = 3
	Deleted State = 97
	Stop    State = 98
)

// String is the name the State property gives with the number.
func (s State) String() string {
	switch s {
	case Init:
		return "Init"
	case Backup:
		return "Backup"
	case Master:
		return "Master"
	case Fault:
		return "Fault"
	case Stop:
		return "Stop"
	case Deleted:
		return "Deleted"
	}
	return "Unknown"
}

// Family is an instance's address family.
type Family int

// The families; the zero Family is neither, which keepalived names None.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String is the family as the last element of an instance's path.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "None"
}

// An Instance is what the bus shows of one vrrp_instance.
type Instance struct {
	Name string
	// Interface is the configured interface (the base interface of a
	// VMAC); "" is shown as keepalived's "none".
	Interface string
	VRID      uint8
	Family    Family
	State     State
}

// A Backend is the VRRP process the service speaks for.
type Backend interface {
	// Instances returns the instances in the configuration's order,
	// with their current states.
	Instances() []Instance
	// PrintData writes the data file, as SIGUSR1 does.
	PrintData()
	// PrintStats writes the statistics file, clearing the counters
	// afterwards if clear is set.
	PrintStats(clear bool)
	// Reload reloads the configuration, as SIGHUP does; it must not wait
	// for the reload.
	Reload()
	// SendGarp sends one round of gratuitous ARPs or unsolicited
	// neighbour adverts for the named instance's addresses, if it holds
	// them; it reports whether the instance exists.
	SendGarp(name string) bool
}

// Options configure a Server.
type Options struct {
	// ServiceName is dbus_service_name; "" is ServiceName.
	ServiceName string
	// Namespace and Instance are the network namespace and instance
	// names the daemon runs with; each non-empty one is an element of
	// every path.
	Namespace, Instance string
	// Address is the bus's address; "" is the system bus, from
	// DBUS_SYSTEM_BUS_ADDRESS or the default socket, as GLib finds it.
	Address string
	Log     logrus.FieldLogger
	Backend Backend
}

// A Server is keepalived's VRRP D-Bus service. Its methods are safe for
// concurrent use.
type Server struct {
	name     string
	ns, inst string
	address  string
	log      logrus.FieldLogger
	backend  Backend
	vrrpPath dbus.ObjectPath

	mu sync.Mutex
	// bus is the connection to the bus; nil until made.
	bus *dbus.Conn
	// conn is the connection signals go out on: the bus while the
	// service has not lost its name, nil otherwise (keepalived's
	// global_connection).
	conn *dbus.Conn
	// lost: the last word to keepalived's callbacks was that the name is
	// lost, which is not said twice.
	lost bool
	// objects maps an instance's name to the path of its object; nil
	// once the name is lost, as in keepalived, which then exports
	// nothing more.
	objects map[string]dbus.ObjectPath
	// exported are the paths of the objects, the Vrrp object's included.
	exported map[dbus.ObjectPath]bool
	stopped  bool
	// reloading is set from BeginReload to Reload, while held keeps the
	// signals of instances that have no object yet.
	reloading bool
	held      []heldSignal
	// emitMu keeps VrrpReloaded and the held signals together, ahead of
	// those that follow.
	emitMu sync.Mutex
	cancel context.CancelFunc // ends the connection; set by Start
	done   chan struct{}      // closed when the connecting goroutine ends
}

// New returns a Server for opts; Start connects it.
func New(opts Options) *Server {
	name := opts.ServiceName
	if name == "" {
		name = ServiceName
	}
	s := &Server{
		name:     name,
		ns:       opts.Namespace,
		inst:     opts.Instance,
		address:  opts.Address,
		log:      opts.Log,
		backend:  opts.Backend,
		exported: make(map[dbus.ObjectPath]bool),
		objects:  make(map[string]dbus.ObjectPath),
		done:     make(chan struct{}),
	}
	s.vrrpPath = dbus.ObjectPath(s.root() + "/Vrrp")
	return s
}

// root is the prefix of the service's paths.
func (s *Server) root() string {
	r := objectRoot
	if s.ns != "" {
		r += "/" + s.ns
	}
	if s.inst != "" {
		r += "/" + s.inst
	}
	return r
}

// InstancePath is the path of the object of an instance on ifname (the
// configured interface; "" for none) with vrid and family.
func (s *Server) InstancePath(ifname string, vrid uint8, family Family) dbus.ObjectPath {
	if ifname == "" {
		ifname = "none"
	}
	return dbus.ObjectPath(s.root() + "/Instance/" + escape(ifname) + "/" + strconv.Itoa(int(vrid)) + "/" + family.String())
}

// escape makes an interface name an element of a path: keepalived turns
// every byte that is not an ASCII letter or digit into an underscore.
func escape(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !isAlnum(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// sameEscaped reports whether name, escaped, is elem: keepalived's match
// of a path's element with an interface.
func sameEscaped(name, elem string) bool { return escape(name) == elem }

// Start connects to the bus in the background, exports the objects and
// asks for the name. It returns at once: a bus that is slow or missing
// never holds up VRRP.
func (s *Server) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	go func() {
		defer close(s.done)
		s.connect(ctx)
	}()
}

// connect is keepalived's g_bus_own_name with its callbacks: the
// objects are exported on connecting, before the name is asked for.
func (s *Server) connect(ctx context.Context) {
	if !validBusName(s.name) {
		// GLib refuses to own it and calls none of keepalived's
		// callbacks: the service never starts.
		s.log.Errorf("DBus service name %q is not a valid bus name", s.name)
		return
	}
	h := &handler{s: s}
	var (
		conn *dbus.Conn
		err  error
	)
	opts := []dbus.ConnOption{dbus.WithHandler(h), dbus.WithIncomingInterceptor(intercept), dbus.WithContext(ctx)}
	if s.address != "" {
		conn, err = dbus.Connect(s.address, opts...)
	} else {
		conn, err = dbus.ConnectSystemBus(opts...)
	}
	if err != nil {
		s.log.Debugf("connecting to the D-Bus system bus: %v", err)
		s.nameLost()
		return
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.bus, s.conn = conn, conn
	s.mu.Unlock()
	s.busAcquired()

	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	reply, err := conn.RequestName(s.name, 0)
	switch {
	case err != nil:
		s.log.Debugf("asking for the D-Bus name %s: %v", s.name, err)
		s.nameLost()
	case reply == dbus.RequestNameReplyPrimaryOwner:
		s.log.Infof("Acquired the name %s on the session bus", s.name)
	default:
		// Queued behind, or refused for, another owner.
		s.nameLost()
	}
	// The channel closes with the connection: when the bus goes away,
	// or when Stop closes it.
	for sig := range sigs {
		s.busSignal(sig)
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if !stopped {
		s.nameLost()
	}
}

// validBusName reports whether name is a well-known bus name: two or more
// elements of ASCII letters, digits, '_' and '-', not starting with a
// digit, at most 255 bytes in all.
func validBusName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	elems := strings.Split(name, ".")
	if len(elems) < 2 {
		return false
	}
	for _, e := range elems {
		if e == "" || '0' <= e[0] && e[0] <= '9' {
			return false
		}
		for i := 0; i < len(e); i++ {
			if c := e[i]; !isAlnum(c) && c != '_' && c != '-' {
				return false
			}
		}
	}
	return true
}

// busSignal follows the bus's word on the name: a queued request that is
// granted, or a name that is lost.
func (s *Server) busSignal(sig *dbus.Signal) {
	if sig.Path != "/org/freedesktop/DBus" || len(sig.Body) == 0 {
		return
	}
	if name, _ := sig.Body[0].(string); name != s.name {
		return
	}
	switch sig.Name {
	case "org.freedesktop.DBus.NameAcquired":
		s.mu.Lock()
		was := s.lost
		s.lost = false
		s.mu.Unlock()
		if was {
			// Granted after a wait: keepalived logs it, but its
			// objects, gone with the name, do not come back.
			s.log.Infof("Acquired the name %s on the session bus", s.name)
		}
	case "org.freedesktop.DBus.NameLost":
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if !stopped {
			// Given up by Stop, it is not lost: GLib calls nothing
			// once the name is unowned.
			s.nameLost()
		}
	}
}

// busAcquired exports the Vrrp object and one object per instance, then
// says that VRRP has started and in which states its instances are.
func (s *Server) busAcquired() {
	s.log.Infof("Acquired DBus bus %s", s.name)
	insts := s.backend.Instances()
	s.mu.Lock()
	s.register("", s.vrrpPath, true)
	for _, in := range insts {
		s.register(in.Name, s.InstancePath(in.Interface, in.VRID, in.Family), false)
	}
	s.mu.Unlock()
	if len(insts) == 0 {
		return
	}
	s.emit(s.vrrpPath, VrrpInterface+".VrrpStarted")
	for _, in := range insts {
		s.emit(s.InstancePath(in.Interface, in.VRID, in.Family), InstanceInterface+".VrrpStatusChange", uint32(in.State))
	}
}

// register exports an object at path, for the instance name or, with
// vrrp, the Vrrp object. s.mu is held.
func (s *Server) register(name string, path dbus.ObjectPath, vrrp bool) {
	if s.objects == nil {
		return
	}
	if !vrrp {
		if _, ok := s.objects[name]; ok {
			s.log.Infof("An object for instance %s already exists", name)
			return
		}
	}
	// GLib's words for why it cannot export the object.
	var why string
	switch {
	case !path.IsValid():
		why = fmt.Sprintf("%q is not a valid object path", path)
	case s.exported[path]:
		iface := InstanceInterface
		if vrrp {
			iface = VrrpInterface
		}
		why = fmt.Sprintf("An object is already exported for the interface %s at %s", iface, path)
	}
	if why != "" {
		what := "DBus"
		if vrrp {
			what = "VRRP"
		}
		s.log.Infof("Registering %s object on %s failed: %s", what, path, why)
		return
	}
	s.exported[path] = true
	if !vrrp {
		s.objects[name] = path
	}
}

// nameLost is keepalived's on_name_lost: the objects go, and the service
// says nothing more.
func (s *Server) nameLost() {
	s.mu.Lock()
	was := s.lost
	s.lost = true
	s.objects = nil
	clear(s.exported)
	s.conn = nil
	s.mu.Unlock()
	if !was {
		s.log.Infof("Lost the name %s on the session bus", s.name)
	}
}

// emit sends a signal to every listener, as keepalived's
// g_dbus_connection_emit_signal with no destination does.
func (s *Server) emit(path dbus.ObjectPath, name string, args ...any) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Emit(path, name, args...); err != nil {
		iface, member := name[:strings.LastIndexByte(name, '.')], name[strings.LastIndexByte(name, '.')+1:]
		s.log.Infof("Emitting DBus signal %s.%s on %s failed: %v", iface, member, path, err)
	}
}

// heldSignal is a VrrpStatusChange held during a reload.
type heldSignal struct {
	path dbus.ObjectPath
	st   State
}

// StateChanged sends VrrpStatusChange for the instance on ifname with vrid
// and family: keepalived sends it with every notification of an
// instance's state, a removed instance's included.
func (s *Server) StateChanged(ifname string, vrid uint8, family Family, st State) {
	path := s.InstancePath(ifname, vrid, family)
	s.mu.Lock()
	if s.reloading && !s.exported[path] {
		s.held = append(s.held, heldSignal{path, st})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.emit(path, InstanceInterface+".VrrpStatusChange", uint32(st))
}

// BeginReload comes before the VRRP process applies a new configuration,
// and Reload after: in between, the signals of instances without an
// object are held until VrrpReloaded has gone out, as keepalived starts
// its new instances once it has said that it reloaded. The caller makes
// sure that the signals of the instances the reload removed have been
// sent before it calls Reload.
func (s *Server) BeginReload() {
	s.mu.Lock()
	s.reloading = true
	s.mu.Unlock()
}

// Reload follows a reload of the configuration: an instance with the
// interface, VRID and family of one that was there keeps that object,
// under its new name if it has one; the objects of the instances that
// went are removed and new instances get one. Then VrrpReloaded goes
// out, and the signals held since BeginReload.
func (s *Server) Reload() {
	insts := s.backend.Instances()
	s.mu.Lock()
	if s.objects != nil {
		byPath := make(map[dbus.ObjectPath]string, len(s.objects))
		for name, p := range s.objects {
			byPath[p] = name
		}
		kept := make(map[string]dbus.ObjectPath)
		var fresh []Instance
		for _, in := range insts {
			p := s.InstancePath(in.Interface, in.VRID, in.Family)
			if old, ok := byPath[p]; ok {
				delete(byPath, p)
				delete(s.objects, old)
				kept[in.Name] = p
				continue
			}
			fresh = append(fresh, in)
		}
		for p, name := range byPath {
			delete(s.objects, name)
			delete(s.exported, p)
			s.log.Infof("Deleted DBus object for instance %s", name)
		}
		s.objects = kept
		for _, in := range fresh {
			s.register(in.Name, s.InstancePath(in.Interface, in.VRID, in.Family), false)
		}
	}
	s.mu.Unlock()
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.emit(s.vrrpPath, VrrpInterface+".VrrpReloaded")
	s.mu.Lock()
	held := s.held
	s.held, s.reloading = nil, false
	s.mu.Unlock()
	for _, h := range held {
		s.emit(h.path, InstanceInterface+".VrrpStatusChange", uint32(h.st))
	}
}

// Stop removes the objects, sends VrrpStopped and gives up the name, as
// keepalived's VRRP process does once its instances have stopped. It must
// follow Start.
func (s *Server) Stop() {
	s.mu.Lock()
	s.stopped = true
	bus := s.bus
	if s.objects != nil {
		s.objects = make(map[string]dbus.ObjectPath)
	}
	clear(s.exported)
	s.mu.Unlock()
	s.emit(s.vrrpPath, VrrpInterface+".VrrpStopped")
	if bus != nil {
		// Owned or queued for, the name is given up before the
		// connection closes.
		if _, err := bus.ReleaseName(s.name); err != nil && !errors.Is(err, dbus.ErrClosed) {
			s.log.Debugf("releasing the D-Bus name %s: %v", s.name, err)
		}
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		bus.Close()
	}
	s.cancel()
	<-s.done
	s.log.Info("Released DBus")
}

// exportedPaths returns the paths of the exported objects.
func (s *Server) exportedPaths() []dbus.ObjectPath {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]dbus.ObjectPath, 0, len(s.exported))
	for p := range s.exported {
		out = append(out, p)
	}
	return out
}

// isExported reports whether path is one of the objects, and whether it
// is the Vrrp object.
func (s *Server) isExported(path dbus.ObjectPath) (ok, vrrp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exported[path], path == s.vrrpPath
}

// lookup finds the instance an instance path names, as keepalived does:
// the first in the configuration on an interface that escapes to the
// path's element, with its VRID and family. The path's elements come
// back for the error message.
func (s *Server) lookup(path dbus.ObjectPath) (in Instance, ifname string, vrid uint8, family Family, ok bool) {
	rest, _ := strings.CutPrefix(string(path), s.root()+"/Instance/")
	f := strings.SplitN(rest, "/", 3)
	for len(f) < 3 {
		f = append(f, "")
	}
	ifname = f[0]
	n, _ := strconv.ParseUint(f[1], 10, 64)
	vrid = uint8(n) // keepalived keeps the low byte
	switch f[2] {
	case "IPv4":
		family = IPv4
	case "IPv6":
		family = IPv6
	}
	for _, c := range s.backend.Instances() {
		if c.VRID == vrid && c.Family == family && sameEscaped(orNone(c.Interface), ifname) {
			return c, ifname, vrid, family, true
		}
	}
	return Instance{}, ifname, vrid, family, false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
