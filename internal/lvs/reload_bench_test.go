package lvs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// lookupKernel is a fakeKernel that looks services up one at a time, as
// the kernel's netlink interface does.
type lookupKernel struct{ *fakeKernel }

func (k lookupKernel) LookupService(s ipvs.Service) (ipvs.Service, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ks, ok := k.services[s.String()]
	if !ok {
		return ipvs.Service{}, false, nil
	}
	h := *ks
	h.Destinations = nil
	return h, true, nil
}

// scaleConf is a configuration of services virtual servers of dests real
// servers each, without checkers, the weight of real server (i, j)
// being 1 + bump(i, j).
func scaleConf(tb testing.TB, services, dests int, bump func(i, j int) int) *config.Config {
	tb.Helper()
	var b bytes.Buffer
	for i := range services {
		fmt.Fprintf(&b, "virtual_server 172.16.%d.%d 80 {\n\tlb_algo wlc\n\tlb_kind NAT\n\tprotocol TCP\n", i>>8, i&0xff)
		for j := range dests {
			fmt.Fprintf(&b, "\treal_server 10.1.%d.1 8080 {\n\t\tweight %d\n\t}\n", j, 1+bump(i, j))
		}
		b.WriteString("}\n")
	}
	cfg, diags := config.Parse("scale.conf", b.Bytes(), config.Options{})
	if diags.HasErrors() {
		tb.Fatalf("scale configuration: %v", diags)
	}
	return cfg
}

// BenchmarkStart is the start of a 1,000 x 10 table, from the parsed
// configuration to the table full in the kernel: the daemon's start
// without the parser, with the real check scheduler and its events.
func BenchmarkStart(b *testing.B) {
	const services, dests = 1000, 10
	cfg := scaleConf(b, services, dests, func(i, j int) int { return 0 })
	b.ReportAllocs()
	for range b.N {
		kernel := lookupKernel{newFakeKernel()}
		l, err := New(cfg, Options{
			Table:          ipvs.NewReconciler(kernel, ipvs.ReconcilerConfig{}),
			Checks:         check.NewScheduler(check.Options{}),
			ResyncInterval: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		for kernel.opCount() < services*(dests+1) {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
	}
}

// BenchmarkReloadOneWeight is the reload of a 1,000 x 10 table where one
// real server's weight changed, from the parsed configuration to the
// kernel: the daemon's SIGHUP without the parser.
func BenchmarkReloadOneWeight(b *testing.B) {
	const services, dests = 1000, 10
	base := scaleConf(b, services, dests, func(i, j int) int { return 0 })
	changed := scaleConf(b, services, dests, func(i, j int) int {
		if i == services/2 && j == dests/2 {
			return 1
		}
		return 0
	})
	kernel := lookupKernel{newFakeKernel()}
	l, err := New(base, Options{
		Table:  ipvs.NewReconciler(kernel, ipvs.ReconcilerConfig{}),
		Checks: newFakeChecks(),
		// No full pass while the benchmark runs.
		ResyncInterval: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	for kernel.opCount() < services*(dests+1) {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		before := kernel.opCount()
		if i%2 == 0 {
			l.Reload(ctx, changed)
		} else {
			l.Reload(ctx, base)
		}
		if n := kernel.opCount() - before; n < 1 {
			b.Fatalf("reload %d made %d kernel changes, want at least 1", i, n)
		}
	}
}
