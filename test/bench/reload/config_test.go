package reload

import (
	"testing"

	"github.com/gokeepalived/gokeepalived/config"
)

// TestConfig keeps the benchmark honest without running it: the generated
// configuration must parse cleanly, and the trial's change must be an
// excluded VIP of exactly one instance.
func TestConfig(t *testing.T) {
	for _, extra := range []int{0, 3} {
		cfg, ds := config.Parse("keepalived.conf", []byte(benchConfig("m", true, extra)), config.Options{})
		if ds = ds.Keepalived(); len(ds) > 0 {
			t.Fatalf("extra %d: %v", extra, ds)
		}
		if len(cfg.Instances) != routers {
			t.Fatalf("extra %d: %d instances, want %d", extra, len(cfg.Instances), routers)
		}
		excluded := 0
		for _, in := range cfg.Instances {
			if len(in.VirtualIPs) != 1 || in.Priority != 150 {
				t.Errorf("extra %d: instance %s: %d VIPs, priority %d", extra, in.Name, len(in.VirtualIPs), in.Priority)
			}
			excluded += len(in.ExcludedVIPs)
			if len(in.ExcludedVIPs) > 0 && (in.VirtualRouterID != extra || in.ExcludedVIPs[0].Prefix.String() != "10.79.3.1/32") {
				t.Errorf("extra %d: instance %s has excluded VIPs %v", extra, in.Name, in.ExcludedVIPs)
			}
		}
		if want := min(extra, 1); excluded != want {
			t.Errorf("extra %d: %d excluded VIPs, want %d", extra, excluded, want)
		}
	}
}
