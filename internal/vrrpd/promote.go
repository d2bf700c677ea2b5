package vrrpd

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
)

// promoter sets the promote_secondaries sysctl of the interfaces of the
// instances with promote_secondaries, as keepalived does when it starts
// or reloads them, so that the kernel keeps the secondary addresses of a
// subnet whose primary address goes. An interface that already had it
// is left alone; one the promoter set is cleared again when the daemon
// stops, as keepalived's shutdown clears it. A VMAC instance gets it on
// its VMAC interface instead, from the vrrp package.
type promoter struct {
	log logrus.FieldLogger
	set map[string]bool // interfaces whose sysctl it turned on
}

// promoteSysctl is the sysctl file of ifname's promote_secondaries.
func promoteSysctl(ifname string) string {
	return filepath.Join("/proc/sys/net/ipv4/conf", ifname, "promote_secondaries")
}

// apply turns promote_secondaries on for the interfaces of cfg's
// instances that ask for it.
func (p *promoter) apply(cfg *config.Config) {
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if !in.PromoteSecondaries || in.UseVMAC || in.Interface == "" || p.set[in.Interface] {
			continue
		}
		path := promoteSysctl(in.Interface)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no such interface (yet): keepalived sets it only on one that exists
		}
		if err == nil && strings.TrimSpace(string(b)) != "0" {
			continue
		}
		if err == nil {
			err = os.WriteFile(path, []byte("1\n"), 0o644)
		}
		if err != nil {
			p.log.Warnf("(%s) setting promote_secondaries on %s: %v", in.Name, in.Interface, err)
			continue
		}
		if p.set == nil {
			p.set = make(map[string]bool)
		}
		p.set[in.Interface] = true
	}
}

// restore turns promote_secondaries off again where apply turned it on.
func (p *promoter) restore() {
	for ifname := range p.set {
		if err := os.WriteFile(promoteSysctl(ifname), []byte("0\n"), 0o644); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.log.Warnf("resetting promote_secondaries on %s: %v", ifname, err)
		}
	}
	p.set = nil
}
