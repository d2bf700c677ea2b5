package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/sirupsen/logrus"
)

// An OpKind is the kind of a change the Reconciler asks the kernel for.
type OpKind int

// Operation kinds.
const (
	AddService OpKind = iota + 1
	UpdateService
	DeleteService
	AddDestination
	UpdateDestination
	DeleteDestination
	FlushTable
	SetTimeouts
	StartSyncDaemon
	StopSyncDaemon
)

func (k OpKind) String() string {
	switch k {
	case AddService:
		return "add-service"
	case UpdateService:
		return "update-service"
	case DeleteService:
		return "delete-service"
	case AddDestination:
		return "add-destination"
	case UpdateDestination:
		return "update-destination"
	case DeleteDestination:
		return "delete-destination"
	case FlushTable:
		return "flush"
	case SetTimeouts:
		return "set-timeouts"
	case StartSyncDaemon:
		return "start-sync-daemon"
	case StopSyncDaemon:
		return "stop-sync-daemon"
	}
	return fmt.Sprintf("op(%d)", int(k))
}

// An Op is one change issued to the kernel, and its outcome.
type Op struct {
	Kind        OpKind
	Service     Service     // the service, without destinations; zero for table-wide ops
	Destination Destination // for destination ops
	Timeouts    Timeouts    // for SetTimeouts
	SyncDaemon  SyncDaemon  // for StartSyncDaemon and StopSyncDaemon
	Err         error
}

// String formats the op as its kind and object, in ipvsadm's words, such
// as "update-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 3".
func (o Op) String() string {
	switch o.Kind {
	case AddService, UpdateService:
		return o.Kind.String() + " " + o.Service.describe()
	case DeleteService:
		return o.Kind.String() + " " + o.Service.String()
	case AddDestination, UpdateDestination:
		return fmt.Sprintf("%s %s %s", o.Kind, o.Service, o.Destination.describe())
	case DeleteDestination:
		return fmt.Sprintf("%s %s %s", o.Kind, o.Service, o.Destination)
	case SetTimeouts:
		t := o.Timeouts
		return fmt.Sprintf("%s %d %d %d", o.Kind, int(t.TCP.Seconds()), int(t.TCPFin.Seconds()), int(t.UDP.Seconds()))
	case StartSyncDaemon, StopSyncDaemon:
		return o.Kind.String() + " " + o.SyncDaemon.String()
	}
	return o.Kind.String()
}

// action names the op for error messages: "adding destination 10.0.0.2:80
// to service -t 192.0.2.1:80".
func (o Op) action() string {
	switch o.Kind {
	case AddService:
		return "adding service " + o.Service.String()
	case UpdateService:
		return "updating service " + o.Service.String()
	case DeleteService:
		return "deleting service " + o.Service.String()
	case AddDestination:
		return fmt.Sprintf("adding destination %s to service %s", o.Destination.Addr, o.Service)
	case UpdateDestination:
		return fmt.Sprintf("updating destination %s of service %s", o.Destination.Addr, o.Service)
	case DeleteDestination:
		return fmt.Sprintf("deleting destination %s from service %s", o.Destination.Addr, o.Service)
	case FlushTable:
		return "flushing IPVS table"
	case SetTimeouts:
		return "setting IPVS timeouts"
	case StartSyncDaemon:
		return "starting sync daemon " + o.SyncDaemon.String()
	case StopSyncDaemon:
		return "stopping sync daemon " + o.SyncDaemon.String()
	}
	return o.Kind.String()
}

// ErrNotOwned reports a desired entry that is already in the kernel but
// was not created by the reconciler, which therefore leaves it alone.
var ErrNotOwned = errors.New("it exists and is not owned by this reconciler")

// Stats counts what a Reconciler has done since it was made.
type Stats struct {
	Passes uint64 // Reconcile, ReconcileServices and Shutdown calls
	Reads  uint64 // reads of the kernel's services, of one service or of one's destinations
	Ops    uint64 // changes issued to the kernel
	Errors uint64 // failed reads and changes
}

// ReconcilerConfig configures a Reconciler. The zero value is usable.
type ReconcilerConfig struct {
	// Log receives a line for each change; nil discards them.
	Log logrus.FieldLogger

	// KeepOnShutdown leaves the owned entries in the kernel at Shutdown,
	// as keepalived --dont-release-ipvs does.
	KeepOnShutdown bool

	// FlushOnShutdown empties the whole table at Shutdown, entries made
	// by others included, as keepalived's lvs_flush_on_stop does; for a
	// large table that is much faster than deleting service by service.
	FlushOnShutdown bool

	// Adopt takes ownership of desired services and destinations already
	// in the kernel (left, say, by a previous run with KeepOnShutdown)
	// instead of reporting them as conflicts and leaving them alone.
	Adopt bool
}

// A Reconciler keeps the kernel's IPVS table equal to a desired table,
// changing only the entries it owns: the ones it created or adopted. It is
// safe for concurrent use.
type Reconciler struct {
	kernel Kernel
	log    logrus.FieldLogger
	keep   bool
	flush  bool
	adopt  bool

	mu      sync.Mutex
	owned   map[ServiceKey]map[destKey]bool // owned services -> their owned destinations
	daemons map[SyncState]SyncDaemon
	// timeouts are the kernel's connection timeouts before the first
	// SetTimeouts, restored at Shutdown.
	timeouts *Timeouts
	stats    Stats
	// haveDests and wantDests are reconcileService's scratch space, kept
	// from one service to the next: a resync of thousands of
	// destinations then allocates no maps.
	haveDests map[destKey]*Destination
	wantDests map[destKey]bool
}

// NewReconciler returns a Reconciler that programs k and owns nothing yet.
func NewReconciler(k Kernel, cfg ReconcilerConfig) *Reconciler {
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	return &Reconciler{
		kernel:  k,
		log:     log,
		keep:    cfg.KeepOnShutdown,
		flush:   cfg.FlushOnShutdown,
		adopt:   cfg.Adopt,
		owned:   make(map[ServiceKey]map[destKey]bool),
		daemons: make(map[SyncState]SyncDaemon),
	}
}

// Stats returns the counters so far.
func (r *Reconciler) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Owns reports whether the reconciler owns the service s and, for each of
// dests, that destination of s.
func (r *Reconciler) Owns(s Service, dests ...Destination) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds, ok := r.owned[s.Key()]
	if !ok {
		return false
	}
	for _, d := range dests {
		if !ds[d.Addr] {
			return false
		}
	}
	return true
}

// debugging reports whether the log takes debug lines, which the
// reconciler then formats for each change: for the eleven thousand changes
// of a large table that is not free. A logrus.Entry, which the daemon
// passes with its fields, cannot tell itself: its Logger can. A logger
// that cannot tell gets them.
func (r *Reconciler) debugging() bool {
	switch l := r.log.(type) {
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	case interface{ IsLevelEnabled(logrus.Level) bool }:
		return l.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}

// A pass collects the ops and errors of one call.
type pass struct {
	ops  []Op
	errs []error
}

// do issues one change to the kernel and records it.
func (r *Reconciler) do(ctx context.Context, p *pass, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if op.Kind < AddService || op.Kind > StopSyncDaemon {
		return fmt.Errorf("unknown IPVS operation %v", op.Kind)
	}
	return r.record(p, op, r.exec(op))
}

// exec issues one change of a known kind to the kernel.
func (r *Reconciler) exec(op Op) error {
	switch op.Kind {
	case AddService:
		return r.kernel.NewService(op.Service)
	case UpdateService:
		return r.kernel.UpdateService(op.Service)
	case DeleteService:
		return r.kernel.DelService(op.Service)
	case AddDestination:
		return r.kernel.NewDestination(op.Service, op.Destination)
	case UpdateDestination:
		return r.kernel.UpdateDestination(op.Service, op.Destination)
	case DeleteDestination:
		return r.kernel.DelDestination(op.Service, op.Destination)
	case FlushTable:
		return r.kernel.Flush()
	case SetTimeouts:
		return r.kernel.SetTimeouts(op.Timeouts)
	}
	sk, ok := r.kernel.(SyncDaemonKernel)
	switch {
	case !ok:
		return errors.ErrUnsupported
	case op.Kind == StartSyncDaemon:
		return sk.NewSyncDaemon(op.SyncDaemon)
	}
	return sk.DelSyncDaemon(op.SyncDaemon)
}

// record counts and logs an issued change and its outcome, the kernel's
// error, and returns that error wrapped with the change.
func (r *Reconciler) record(p *pass, op Op, err error) error {
	r.stats.Ops++
	if err != nil {
		r.stats.Errors++
		// keepalived logs kernel refusals at info level, in its words.
		r.log.Info(op.failureLine(err))
		err = fmt.Errorf("%s: %w", op.action(), err)
		op.Err = err
		p.errs = append(p.errs, err)
	} else if r.debugging() {
		r.log.WithField("op", op.String()).Debug("IPVS change")
	}
	p.ops = append(p.ops, op)
	return err
}

// applyChunk bounds the changes issued between two looks at the context.
const applyChunk = 1024

// apply issues changes to services and destinations, that do not depend
// on one another's outcome, many at a time on a kernel that can take them
// so, and returns the kernel's error for each. When ctx is done before all
// are issued, it returns the errors of those that were, and ctx's error.
func (r *Reconciler) apply(ctx context.Context, ops []Op) ([]error, error) {
	errs := make([]error, 0, len(ops))
	bk, batching := r.kernel.(batchKernel)
	for len(ops) > 0 {
		if err := ctx.Err(); err != nil {
			return errs, err
		}
		chunk := ops[:min(applyChunk, len(ops))]
		ops = ops[len(chunk):]
		if batching {
			errs = append(errs, bk.apply(chunk)...)
			continue
		}
		for _, op := range chunk {
			errs = append(errs, r.exec(op))
		}
	}
	return errs, nil
}

// read returns the kernel's services, without destinations, indexed by
// service key.
func (r *Reconciler) read() (map[ServiceKey]*Service, []ServiceKey, error) {
	r.stats.Reads++
	ss, err := r.kernel.Services()
	if err != nil {
		r.stats.Errors++
		return nil, nil, fmt.Errorf("reading IPVS table: %w", err)
	}
	byKey := make(map[ServiceKey]*Service, len(ss))
	order := make([]ServiceKey, 0, len(ss))
	for i := range ss {
		k := ss[i].Key()
		byKey[k] = &ss[i]
		order = append(order, k)
	}
	return byKey, order, nil
}

// readDestinations fills in the destinations of a service read from the
// kernel.
func (r *Reconciler) readDestinations(p *pass, s *Service) error {
	r.stats.Reads++
	ds, err := r.kernel.Destinations(s.header())
	if err != nil {
		r.stats.Errors++
		err = fmt.Errorf("reading IPVS table: %w", err)
		p.errs = append(p.errs, err)
		return err
	}
	s.Destinations = ds
	return nil
}

// Reconcile makes the kernel's table hold exactly the desired services
// among those the reconciler owns, with the fewest changes: missing entries
// are added, changed ones updated in place, owned ones no longer desired
// deleted. Entries it does not own are never changed. It returns the
// changes it issued; a failed change does not stop the others, and the
// error joins every failure.
func (r *Reconciler) Reconcile(ctx context.Context, desired []Service) ([]Op, error) {
	want := make(map[ServiceKey]bool, len(desired))
	for i := range desired {
		s := &desired[i]
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("reconciling IPVS table: %w", err)
		}
		if want[s.Key()] {
			return nil, fmt.Errorf("reconciling IPVS table: service %s listed twice", s)
		}
		want[s.Key()] = true
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Passes++
	kernel, order, err := r.read()
	if err != nil {
		return nil, err
	}
	// Each desired service records its changes in a pass of its own, so
	// that those of the services created together come out in the same
	// order as the others'.
	each := make([]pass, len(desired))
	stopped := r.create(ctx, desired, kernel, each)
	for i := range desired {
		if stopped != nil {
			break
		}
		if have := kernel[desired[i].Key()]; have != nil {
			if err := r.reconcileService(ctx, &each[i], &desired[i], have); err != nil && ctx.Err() != nil {
				stopped = ctx.Err()
			}
		}
	}
	// Sized up front: programming an empty table of ten thousand
	// destinations gathers as many ops.
	var p pass
	nops, nerrs := 0, 0
	for i := range each {
		nops, nerrs = nops+len(each[i].ops), nerrs+len(each[i].errs)
	}
	p.ops = make([]Op, 0, nops)
	if nerrs > 0 {
		p.errs = make([]error, 0, nerrs)
	}
	for i := range each {
		p.ops = append(p.ops, each[i].ops...)
		p.errs = append(p.errs, each[i].errs...)
	}
	if stopped != nil {
		return p.ops, stopped
	}
	for _, k := range order {
		if want[k] || r.owned[k] == nil {
			continue
		}
		if err := r.removeService(ctx, &p, kernel[k]); err != nil && ctx.Err() != nil {
			return p.ops, ctx.Err()
		}
	}
	for k := range r.owned {
		if !want[k] && kernel[k] == nil {
			delete(r.owned, k) // deleted behind our back and no longer wanted
		}
	}
	return p.ops, errors.Join(p.errs...)
}

// create adds the desired services the kernel lacks, and their
// destinations, recording the changes of desired[i] in each[i]. Nothing
// is read back for a service it adds, nor needed. The services go to the
// kernel together, then the destinations of those it took, together; the
// kernel's refusal of one change is that change's alone. It returns ctx's
// error if ctx is done before all are issued.
func (r *Reconciler) create(ctx context.Context, desired []Service, kernel map[ServiceKey]*Service, each []pass) error {
	// The lists are sized up front, and each service's pass for its own
	// ops: an Op holds a whole service, and programming an empty table of
	// ten thousand destinations grew them from empty a dozen times.
	var (
		ops   []Op
		owner []int // the index in desired of each op's service
		ndest int
	)
	for i := range desired {
		if kernel[desired[i].Key()] == nil {
			if ops == nil {
				ops, owner = make([]Op, 0, len(desired)), make([]int, 0, len(desired))
			}
			ops = append(ops, Op{Kind: AddService, Service: desired[i].header()})
			owner = append(owner, i)
			ndest += len(desired[i].Destinations)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	errs, stopped := r.apply(ctx, ops)
	dests, destOwner := make([]Op, 0, ndest), make([]int, 0, ndest)
	for j, err := range errs {
		i := owner[j]
		if each[i].ops == nil {
			each[i].ops = make([]Op, 0, 1+len(desired[i].Destinations))
		}
		if r.record(&each[i], ops[j], err) != nil {
			continue
		}
		s := &desired[i]
		r.owned[s.Key()] = make(map[destKey]bool, len(s.Destinations))
		for _, d := range addOrder(s) {
			dests = append(dests, Op{Kind: AddDestination, Service: ops[j].Service, Destination: d})
			destOwner = append(destOwner, i)
		}
	}
	if stopped != nil {
		return stopped
	}
	errs, stopped = r.apply(ctx, dests)
	for j, err := range errs {
		op := dests[j]
		if r.record(&each[destOwner[j]], op, err) == nil {
			r.owned[op.Service.Key()][op.Destination.Addr] = true
		}
	}
	return stopped
}

// ReconcileServices is Reconcile narrowed to the services with the given
// keys, for changes whose extent the caller knows: a real server's health
// or a reload that touched a few virtual servers. It reads back and
// converges only those services, so the kernel work it costs does not grow
// with the table.
//
// desired is the whole desired table, as for Reconcile. A key it lacks
// names a service no longer desired, deleted if the reconciler owns it. A
// service not named is neither read nor changed, even if desired differs
// from the kernel there: a full Reconcile is still needed to undo what
// others do to the table.
func (r *Reconciler) ReconcileServices(ctx context.Context, desired []Service, keys ...ServiceKey) ([]Op, error) {
	want := make(map[ServiceKey]*Service, len(keys))
	for _, k := range keys {
		if !k.valid() {
			return nil, errors.New("reconciling IPVS services: zero service key")
		}
		want[k] = nil
	}
	for i := range desired {
		s := &desired[i]
		k := s.Key()
		prev, named := want[k]
		switch {
		case !named:
			continue
		case prev != nil:
			return nil, fmt.Errorf("reconciling IPVS services: service %s listed twice", s)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("reconciling IPVS services: %w", err)
		}
		want[k] = s
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Passes++
	find, err := r.finder()
	if err != nil {
		return nil, err
	}
	var p pass
	done := make(map[ServiceKey]bool, len(keys))
	for _, k := range keys {
		if done[k] {
			continue
		}
		done[k] = true
		if err := r.reconcileKey(ctx, &p, k, want[k], find); err != nil && ctx.Err() != nil {
			return p.ops, ctx.Err()
		}
	}
	return p.ops, errors.Join(p.errs...)
}

// ChangedServices returns the keys of the services that differ between two
// desired tables: added, removed, or with other attributes or destinations.
// They are what ReconcileServices needs to apply a reload from one table
// to the other. Services of to come first, in its order, then those
// removed, in the order of from.
func ChangedServices(from, to []Service) []ServiceKey {
	before := make(map[ServiceKey]*Service, len(from))
	for i := range from {
		before[from[i].Key()] = &from[i]
	}
	var keys []ServiceKey
	present := make(map[ServiceKey]bool, len(to))
	for i := range to {
		s := &to[i]
		k := s.Key()
		present[k] = true
		if old := before[k]; old == nil || !sameService(old, s) {
			keys = append(keys, k)
		}
	}
	for i := range from {
		if k := from[i].Key(); !present[k] {
			keys = append(keys, k)
			present[k] = true
		}
	}
	return keys
}

// sameService reports whether two forms of a service would program the
// same kernel entries; the order of destinations does not matter.
func sameService(a, b *Service) bool {
	if !sameAttributes(a, b) || len(a.Destinations) != len(b.Destinations) {
		return false
	}
	// Most services list their destinations in the same order each time;
	// a reload compares every service of the table.
	if slices.Equal(a.Destinations, b.Destinations) {
		return true
	}
	dests := make(map[destKey]Destination, len(a.Destinations))
	for _, d := range a.Destinations {
		dests[d.Addr] = d
	}
	for _, d := range b.Destinations {
		if ad, ok := dests[d.Addr]; !ok || ad != d {
			return false
		}
	}
	return true
}

// reconcileKey converges the one service with key k, reading back only it:
// want is its desired form, or nil when it is no longer desired.
func (r *Reconciler) reconcileKey(ctx context.Context, p *pass, k ServiceKey, want *Service, find findFunc) error {
	have, err := find(k)
	if err != nil {
		p.errs = append(p.errs, err)
		return err
	}
	switch {
	case want != nil:
		return r.reconcileService(ctx, p, want, have)
	case r.owned[k] == nil:
		return nil // never ours, or already gone
	case have == nil:
		delete(r.owned, k) // deleted behind our back and no longer wanted
		return nil
	}
	return r.removeService(ctx, p, have)
}

// A findFunc returns the kernel's copy of the service with a key, without
// destinations, or nil when the table lacks it.
type findFunc func(ServiceKey) (*Service, error)

// finder returns a findFunc that looks each service up, or, on a kernel
// that cannot, one that searches a single read of the list of services.
func (r *Reconciler) finder() (findFunc, error) {
	lk, ok := r.kernel.(LookupKernel)
	if !ok {
		kernel, _, err := r.read()
		if err != nil {
			return nil, err
		}
		return func(k ServiceKey) (*Service, error) { return kernel[k], nil }, nil
	}
	return func(k ServiceKey) (*Service, error) {
		r.stats.Reads++
		have, ok, err := lk.LookupService(k.service())
		switch {
		case err != nil:
			r.stats.Errors++
			return nil, fmt.Errorf("reading IPVS service %s: %w", k, err)
		case !ok:
			return nil, nil
		}
		return &have, nil
	}, nil
}

// reconcileService brings one desired service and its destinations into the
// kernel; have is the kernel's copy or nil.
func (r *Reconciler) reconcileService(ctx context.Context, p *pass, want, have *Service) error {
	k := want.Key()
	hdr := want.header()
	owned := r.owned[k]
	switch {
	case have == nil:
		if err := r.do(ctx, p, Op{Kind: AddService, Service: hdr}); err != nil {
			return err
		}
		owned = make(map[destKey]bool, len(want.Destinations))
		r.owned[k] = owned
		have = &Service{}
	case owned == nil && !r.adopt:
		err := fmt.Errorf("leaving service %s alone: %w", want, ErrNotOwned)
		p.errs = append(p.errs, err)
		r.log.WithError(err).Warn("IPVS service left alone")
		return err
	case owned == nil:
		owned = make(map[destKey]bool, len(want.Destinations))
		r.owned[k] = owned
		fallthrough
	default:
		if err := r.readDestinations(p, have); err != nil {
			return err
		}
		if !sameAttributes(want, have) {
			if err := r.do(ctx, p, Op{Kind: UpdateService, Service: hdr}); err != nil {
				return err
			}
		}
	}

	if r.haveDests == nil {
		r.haveDests, r.wantDests = make(map[destKey]*Destination), make(map[destKey]bool)
	}
	haveDests, wantDests := r.haveDests, r.wantDests
	defer clear(haveDests)
	defer clear(wantDests)
	for i := range have.Destinations {
		haveDests[have.Destinations[i].Addr] = &have.Destinations[i]
	}
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	ordered := keepsOrder(want)
	for _, d := range want.Destinations {
		wantDests[d.Addr] = true
		hd := haveDests[d.Addr]
		switch {
		case hd == nil && ordered:
			// Added below, in the canonical order.
		case hd == nil:
			if err := r.do(ctx, p, Op{Kind: AddDestination, Service: hdr, Destination: d}); err != nil {
				delete(owned, d.Addr)
				keep(err)
				continue
			}
			owned[d.Addr] = true
		case !owned[d.Addr] && !r.adopt:
			err := fmt.Errorf("leaving destination %s of service %s alone: %w", d.Addr, want, ErrNotOwned)
			p.errs = append(p.errs, err)
			r.log.WithError(err).Warn("IPVS destination left alone")
			keep(err)
		case *hd != d:
			owned[d.Addr] = true
			if err := r.do(ctx, p, Op{Kind: UpdateDestination, Service: hdr, Destination: d}); err != nil {
				keep(err)
			}
		default:
			owned[d.Addr] = true
		}
	}
	foreign := false
	for _, hd := range have.Destinations {
		if !owned[hd.Addr] {
			foreign = true
		}
	}
	for _, hd := range have.Destinations {
		if wantDests[hd.Addr] || !owned[hd.Addr] {
			continue
		}
		if err := r.do(ctx, p, Op{Kind: DeleteDestination, Service: hdr, Destination: hd}); err != nil {
			keep(err)
			continue
		}
		delete(owned, hd.Addr)
	}
	if ordered {
		if err := r.order(ctx, p, hdr, want, have, owned, foreign); err != nil {
			keep(err)
		}
	}
	for a := range owned {
		if !wantDests[a] && haveDests[a] == nil {
			delete(owned, a)
		}
	}
	return firstErr
}

// keepsOrder reports whether the reconciler keeps the service's
// destinations in the kernel in canonical order. The mh scheduler builds
// its lookup table from the order of the service's destinations and
// breaks ties between them by it: directors that announce one address
// together (ECMP) send a client to the same real server only if their
// kernels list the destinations alike, whatever the order of their
// configurations and the history of their health checks. Other
// schedulers keep the order of the configuration, as keepalived does.
func keepsOrder(s *Service) bool { return s.Scheduler == "mh" }

// canonical returns the destinations in the order the reconciler keeps
// them in the kernel when keepsOrder: by address family, address, then
// port, which no configuration order changes.
func canonical(ds []Destination) []Destination {
	c := slices.Clone(ds)
	slices.SortFunc(c, func(a, b Destination) int { return a.Addr.Compare(b.Addr) })
	return c
}

// addOrder returns the destinations of s in the order to add them to a
// new service. The kernel puts each destination it adds at the head of
// the service's list, so a canonical list is added from its end.
func addOrder(s *Service) []Destination {
	if !keepsOrder(s) {
		return s.Destinations
	}
	c := canonical(s.Destinations)
	slices.Reverse(c)
	return c
}

// order adds the missing destinations of an ordered service so that the
// kernel lists them all in canonical order. The kernel adds at the head
// of the list, so a destination that comes back after a failure would
// land before others that precede it in canonical order: those are
// deleted and added again after it. A connection to a destination
// deleted that way keeps flowing while the kernel holds the destination
// in its trash (expire_nodest_conn 0, the default), and adding it again
// takes the same destination back, connections and counters included.
// have is the kernel's list before the pass; with a destination the
// reconciler does not own (foreign) it only adds the missing ones, as it
// may not move the others.
func (r *Reconciler) order(ctx context.Context, p *pass, hdr Service, want, have *Service, owned map[destKey]bool, foreign bool) error {
	s := canonical(want.Destinations)
	pos := make(map[destKey]int, len(have.Destinations))
	for i, d := range have.Destinations {
		if owned[d.Addr] {
			pos[d.Addr] = i
		}
	}
	// s[j:] is the longest tail of the canonical list that the kernel
	// already holds in that order: it stays, the rest goes in front.
	j := len(s)
	for j > 0 && !foreign {
		at, ok := pos[s[j-1].Addr]
		if !ok || (j < len(s) && at > pos[s[j].Addr]) {
			break
		}
		j--
	}
	// The changes go to the kernel together, in one datagram where it
	// takes them so: a moved destination is out of the table for
	// microseconds, not for a netlink round trip or two.
	var ops []Op
	for i := len(s) - 1; i >= 0; i-- {
		d := s[i]
		_, present := pos[d.Addr]
		switch {
		case present && (i >= j || foreign):
			continue // it stays where it is
		case present:
			ops = append(ops, Op{Kind: DeleteDestination, Service: hdr, Destination: d})
		case haveHas(have, d.Addr):
			continue // not ours: left alone
		}
		ops = append(ops, Op{Kind: AddDestination, Service: hdr, Destination: d})
	}
	if len(ops) == 0 {
		return nil
	}
	errs, stopped := r.apply(ctx, ops)
	var firstErr error
	for k, err := range errs {
		op := ops[k]
		err = r.record(p, op, err)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if op.Kind != AddDestination {
			continue
		}
		a := op.Destination.Addr
		// A destination whose deletion failed is still there, ours.
		stayed := k > 0 && ops[k-1].Kind == DeleteDestination && ops[k-1].Destination.Addr == a && errs[k-1] != nil
		switch {
		case err == nil || stayed:
			owned[a] = true
		default:
			delete(owned, a)
		}
	}
	if stopped != nil {
		return stopped
	}
	return firstErr
}

// haveHas reports whether the kernel's copy of a service lists a.
func haveHas(have *Service, a destKey) bool {
	return slices.ContainsFunc(have.Destinations, func(d Destination) bool { return d.Addr == a })
}

// removeService deletes an owned service the kernel holds. When someone else
// has added destinations to it, only the owned destinations go and the
// service stays for them.
func (r *Reconciler) removeService(ctx context.Context, p *pass, have *Service) error {
	k := have.Key()
	owned := r.owned[k]
	hdr := have.header()
	if err := r.readDestinations(p, have); err != nil {
		return err
	}
	foreign := false
	for _, d := range have.Destinations {
		if !owned[d.Addr] {
			foreign = true
		}
	}
	if !foreign {
		if err := r.do(ctx, p, Op{Kind: DeleteService, Service: hdr}); err != nil {
			return err
		}
		delete(r.owned, k)
		return nil
	}
	var firstErr error
	for _, d := range have.Destinations {
		if !owned[d.Addr] {
			continue
		}
		if err := r.do(ctx, p, Op{Kind: DeleteDestination, Service: hdr, Destination: d}); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	r.log.WithField("service", have.String()).Warn("IPVS service kept for destinations this reconciler does not own")
	delete(r.owned, k)
	return firstErr
}

// Shutdown removes every entry the reconciler owns, unless it was
// configured with KeepOnShutdown, restores the connection timeouts it
// changed and stops the sync daemons it started, as keepalived does.
// Entries it does not own stay. The reconciler owns nothing afterwards.
func (r *Reconciler) Shutdown(ctx context.Context) ([]Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Passes++
	var p pass
	switch {
	case r.keep:
		// The table stays for the next run to adopt or flush.
	case r.flush:
		if err := r.do(ctx, &p, Op{Kind: FlushTable}); err != nil && ctx.Err() != nil {
			return p.ops, ctx.Err()
		}
	case len(r.owned) > 0:
		kernel, order, err := r.read()
		if err != nil {
			// The timeouts and sync daemons are still to be put back.
			p.errs = append(p.errs, err)
			break
		}
		for _, k := range order {
			if r.owned[k] == nil {
				continue
			}
			if err := r.removeService(ctx, &p, kernel[k]); err != nil && ctx.Err() != nil {
				return p.ops, ctx.Err()
			}
		}
	}
	if r.timeouts != nil {
		if err := r.do(ctx, &p, Op{Kind: SetTimeouts, Timeouts: *r.timeouts}); err != nil && ctx.Err() != nil {
			return p.ops, ctx.Err()
		}
		r.timeouts = nil
	}
	for _, state := range []SyncState{SyncMaster, SyncBackup} {
		if d, ok := r.daemons[state]; ok {
			if err := r.do(ctx, &p, Op{Kind: StopSyncDaemon, SyncDaemon: d}); err != nil && ctx.Err() != nil {
				return p.ops, ctx.Err()
			}
			delete(r.daemons, state)
		}
	}
	clear(r.owned)
	return p.ops, errors.Join(p.errs...)
}

// Flush empties the kernel's whole table, owned or not, as keepalived's
// lvs_flush does at startup. The reconciler owns nothing afterwards.
func (r *Reconciler) Flush(ctx context.Context) (Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p pass
	err := r.do(ctx, &p, Op{Kind: FlushTable})
	if err == nil {
		clear(r.owned)
	}
	return lastOp(p, FlushTable), err
}

// SetTimeouts sets the kernel's connection timeouts, keepalived's
// lvs_timeouts. The first call remembers the timeouts it replaces, for
// Shutdown to restore; as keepalived's ipvs_set_timeout does, a timeout
// t leaves at zero takes its remembered value again, so that a reload
// dropping a timeout, or all of them, restores what the kernel had. With
// all three at zero and nothing changed before, the kernel is left alone.
func (r *Reconciler) SetTimeouts(ctx context.Context, t Timeouts) (Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timeouts == nil {
		if t == (Timeouts{}) {
			return Op{Kind: SetTimeouts}, nil
		}
		r.stats.Reads++
		old, err := r.kernel.Timeouts()
		if err != nil {
			r.stats.Errors++
			return Op{Kind: SetTimeouts, Timeouts: t}, fmt.Errorf("reading IPVS timeouts: %w", err)
		}
		r.timeouts = &old
	}
	if t.TCP == 0 {
		t.TCP = r.timeouts.TCP
	}
	if t.TCPFin == 0 {
		t.TCPFin = r.timeouts.TCPFin
	}
	if t.UDP == 0 {
		t.UDP = r.timeouts.UDP
	}
	var p pass
	err := r.do(ctx, &p, Op{Kind: SetTimeouts, Timeouts: t})
	return lastOp(p, SetTimeouts), err
}

func lastOp(p pass, k OpKind) Op {
	if len(p.ops) == 0 {
		return Op{Kind: k}
	}
	return p.ops[len(p.ops)-1]
}
