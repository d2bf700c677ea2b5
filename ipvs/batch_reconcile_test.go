package ipvs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestReconcileCreatesInBatches checks that a pass adding services gives
// a kernel that takes batches the services in one batch and their
// destinations in another, and that its ops, errors, table and ownership
// are those of the same pass issued one change at a time.
func TestReconcileCreatesInBatches(t *testing.T) {
	existing := with(web(1, 2), func(s *Service) { s.Addr = netip.MustParseAddrPort("192.0.2.9:80") })
	tests := []struct {
		name    string
		before  []Service // reconciled first
		desired []Service
		fail    map[string]error
		batches []int
	}{
		{
			name:    "from empty",
			desired: []Service{web(1, 2, 3), dns(), mark()},
			batches: []int{3, 5},
		},
		{
			name:    "a service refused",
			desired: []Service{web(1, 2, 3), dns(), mark()},
			fail:    map[string]error{"add-service " + dns().String(): syscall.ENOENT},
			batches: []int{3, 4},
		},
		{
			name:    "destinations refused",
			desired: []Service{web(1, 2, 3), dns(), mark()},
			fail: map[string]error{
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80": syscall.ERANGE,
				"add-destination " + mark().String():             syscall.EINVAL,
			},
			batches: []int{3, 5},
		},
		{
			name:    "beside a service that exists",
			before:  []Service{existing},
			desired: []Service{web(1), with(existing, func(s *Service) { s.Destinations[0].Weight = 7 }), dns()},
			fail:    map[string]error{"update-destination": syscall.EBUSY},
			batches: []int{2, 2},
		},
		{
			name:    "nothing to add",
			before:  []Service{web(1)},
			desired: []Service{web(1, 2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one := &fakeKernel{}
			many := &batchingFake{fakeKernel: &fakeKernel{}}
			type outcome struct {
				ops   []string
				err   string
				table string
				owned bool
			}
			pass := func(k Kernel, f *fakeKernel) outcome {
				ctx := context.Background()
				r := NewReconciler(k, ReconcilerConfig{})
				if _, err := r.Reconcile(ctx, tt.before); err != nil {
					t.Fatal(err)
				}
				f.fail = tt.fail
				ops, err := r.Reconcile(ctx, tt.desired)
				for _, op := range ops {
					if (op.Err != nil) != failed(f, op) {
						t.Errorf("%s: Err = %v", op, op.Err)
					}
				}
				o := outcome{ops: opStrings(ops), table: f.dump(), owned: true}
				if err != nil {
					o.err = err.Error()
				}
				for _, s := range tt.desired {
					var took []Destination
					for _, d := range s.Destinations {
						if !failed(f, Op{Kind: AddDestination, Service: s.header(), Destination: d}) {
							took = append(took, d)
						}
					}
					if !failed(f, Op{Kind: AddService, Service: s.header()}) && !r.Owns(s, took...) {
						o.owned = false
					}
				}
				return o
			}
			want := pass(one, one)
			got := pass(many, many.fakeKernel)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("in batches:\n%+v\none at a time:\n%+v", got, want)
			}
			if !got.owned {
				t.Errorf("the reconciler does not own what it added")
			}
			if tt.fail != nil && got.err == "" {
				t.Errorf("no error, want the kernel's refusals")
			}
			for _, err := range tt.fail {
				if !strings.Contains(got.err, err.Error()) {
					t.Errorf("error %q lacks %v", got.err, err)
				}
			}
			// The first pass, tt.before, may have batched too.
			b := many.batches
			if n := len(b) - len(tt.batches); n >= 0 {
				b = b[n:]
			}
			if !slices.Equal(b, tt.batches) {
				t.Errorf("batches of the pass = %v, want %v", b, tt.batches)
			}
		})
	}
}

// failed reports whether the fake fails op.
func failed(f *fakeKernel, op Op) bool {
	for prefix := range f.fail {
		if strings.HasPrefix(op.String(), prefix) {
			return true
		}
	}
	return false
}
