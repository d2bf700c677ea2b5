package ipvs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// fakeKernel is an in-memory IPVS table with the kernel's error semantics,
// for unit tests of the reconciler's logic.
type fakeKernel struct {
	services []Service // in insertion order
	daemons  []SyncDaemon
	timeouts Timeouts

	// fail makes every change whose op string starts with a key fail
	// with that error.
	fail  map[string]error
	calls []string

	// prepend adds each destination at the head of its service's list,
	// as the kernel does (list_add in ip_vs_ctl.c), rather than at its
	// end.
	prepend bool
}

func (f *fakeKernel) find(s Service) int {
	return slices.IndexFunc(f.services, func(h Service) bool { return h.Key() == s.Key() })
}

func (f *fakeKernel) call(op Op) error {
	f.calls = append(f.calls, op.String())
	for prefix, err := range f.fail {
		if strings.HasPrefix(op.String(), prefix) {
			return err
		}
	}
	return nil
}

// stored is what the kernel keeps of a service header: the hashed flag
// set, whole seconds, the netmask as the kernel reports it, and no address
// on a firewall-mark service.
func stored(s Service) Service {
	h := s.header()
	h.Flags |= flagHashed
	h.Timeout = h.Timeout.Truncate(time.Second)
	h.Netmask = netmaskFromBits(s.family(), s.netmaskBits())
	if h.FWMark != 0 {
		h.Family = s.family()
		h.Protocol = 0
		h.Addr = netip.AddrPort{}
	} else {
		h.Family = 0
	}
	return h
}

func (f *fakeKernel) Services() ([]Service, error) {
	if err := f.fail["read"]; err != nil {
		return nil, err
	}
	out := make([]Service, len(f.services))
	for i, s := range f.services {
		out[i] = s.header()
	}
	return out, nil
}

func (f *fakeKernel) LookupService(s Service) (Service, bool, error) {
	if err := f.fail["read"]; err != nil {
		return Service{}, false, err
	}
	if err := f.fail["lookup "+s.String()]; err != nil {
		return Service{}, false, err
	}
	i := f.find(s)
	if i < 0 {
		return Service{}, false, nil
	}
	return f.services[i].header(), true, nil
}

// listOnly hides the fake's LookupService, as a Kernel that can only list
// the whole table.
type listOnly struct{ Kernel }

func (f *fakeKernel) Destinations(s Service) ([]Destination, error) {
	if err := f.fail["read "+s.String()]; err != nil {
		return nil, err
	}
	i := f.find(s)
	if i < 0 {
		return nil, syscall.ESRCH
	}
	return slices.Clone(f.services[i].Destinations), nil
}

func (f *fakeKernel) NewService(s Service) error {
	if err := f.call(Op{Kind: AddService, Service: s}); err != nil {
		return err
	}
	if f.find(s) >= 0 {
		return syscall.EEXIST
	}
	f.services = append(f.services, stored(s))
	return nil
}

func (f *fakeKernel) UpdateService(s Service) error {
	if err := f.call(Op{Kind: UpdateService, Service: s}); err != nil {
		return err
	}
	i := f.find(s)
	if i < 0 {
		return syscall.ESRCH
	}
	h := stored(s)
	h.Destinations = f.services[i].Destinations
	f.services[i] = h
	return nil
}

func (f *fakeKernel) DelService(s Service) error {
	if err := f.call(Op{Kind: DeleteService, Service: s}); err != nil {
		return err
	}
	i := f.find(s)
	if i < 0 {
		return syscall.ESRCH
	}
	f.services = slices.Delete(f.services, i, i+1)
	return nil
}

func (f *fakeKernel) dest(s Service, d Destination) (int, int) {
	i := f.find(s)
	if i < 0 {
		return -1, -1
	}
	return i, slices.IndexFunc(f.services[i].Destinations, func(h Destination) bool { return h.Addr == d.Addr })
}

func (f *fakeKernel) NewDestination(s Service, d Destination) error {
	if err := f.call(Op{Kind: AddDestination, Service: s, Destination: d}); err != nil {
		return err
	}
	i, j := f.dest(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j >= 0:
		return syscall.EEXIST
	}
	if f.prepend {
		f.services[i].Destinations = slices.Insert(f.services[i].Destinations, 0, d)
		return nil
	}
	f.services[i].Destinations = append(f.services[i].Destinations, d)
	return nil
}

func (f *fakeKernel) UpdateDestination(s Service, d Destination) error {
	if err := f.call(Op{Kind: UpdateDestination, Service: s, Destination: d}); err != nil {
		return err
	}
	i, j := f.dest(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j < 0:
		return syscall.ENOENT
	}
	f.services[i].Destinations[j] = d
	return nil
}

func (f *fakeKernel) DelDestination(s Service, d Destination) error {
	if err := f.call(Op{Kind: DeleteDestination, Service: s, Destination: d}); err != nil {
		return err
	}
	i, j := f.dest(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j < 0:
		return syscall.ENOENT
	}
	f.services[i].Destinations = slices.Delete(f.services[i].Destinations, j, j+1)
	return nil
}

func (f *fakeKernel) Flush() error {
	if err := f.call(Op{Kind: FlushTable}); err != nil {
		return err
	}
	f.services = nil
	return nil
}

func (f *fakeKernel) Timeouts() (Timeouts, error) {
	if err := f.fail["read timeouts"]; err != nil {
		return Timeouts{}, err
	}
	return f.timeouts, nil
}

func (f *fakeKernel) SetTimeouts(t Timeouts) error {
	if err := f.call(Op{Kind: SetTimeouts, Timeouts: t}); err != nil {
		return err
	}
	f.timeouts = t
	return nil
}

func (f *fakeKernel) NewSyncDaemon(d SyncDaemon) error {
	if err := f.call(Op{Kind: StartSyncDaemon, SyncDaemon: d}); err != nil {
		return err
	}
	if slices.ContainsFunc(f.daemons, func(h SyncDaemon) bool { return h.State == d.State }) {
		return syscall.EEXIST
	}
	f.daemons = append(f.daemons, d)
	return nil
}

func (f *fakeKernel) DelSyncDaemon(d SyncDaemon) error {
	if err := f.call(Op{Kind: StopSyncDaemon, SyncDaemon: d}); err != nil {
		return err
	}
	i := slices.IndexFunc(f.daemons, func(h SyncDaemon) bool { return h.State == d.State })
	if i < 0 {
		return syscall.ESRCH
	}
	f.daemons = slices.Delete(f.daemons, i, i+1)
	return nil
}

// dump formats the table one entry a line, sorted, in ipvsadm's rule form.
func (f *fakeKernel) dump() string {
	var lines []string
	for _, s := range f.services {
		line := fmt.Sprintf("-A %s", s.describe())
		if s.Flags&FlagPersistent != 0 {
			if ones, bits := s.Netmask.Size(); ones != bits {
				line += " -M " + s.Netmask.String()
			}
		}
		lines = append(lines, line)
		for _, d := range s.Destinations {
			lines = append(lines, "-a "+s.String()+" "+d.describe())
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// batchingFake gives the fake the batchKernel interface, as a Handle has
// it, and keeps the size of each batch it takes.
type batchingFake struct {
	*fakeKernel
	batches []int
}

func (b *batchingFake) apply(ops []Op) []error {
	b.batches = append(b.batches, len(ops))
	errs := make([]error, len(ops))
	for i, op := range ops {
		switch op.Kind {
		case AddService:
			errs[i] = b.NewService(op.Service)
		case UpdateService:
			errs[i] = b.UpdateService(op.Service)
		case DeleteService:
			errs[i] = b.DelService(op.Service)
		case AddDestination:
			errs[i] = b.NewDestination(op.Service, op.Destination)
		case UpdateDestination:
			errs[i] = b.UpdateDestination(op.Service, op.Destination)
		case DeleteDestination:
			errs[i] = b.DelDestination(op.Service, op.Destination)
		default:
			errs[i] = fmt.Errorf("%v in a batch", op.Kind)
		}
	}
	return errs
}
