package checkerd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ipvsSysctlDir holds the IPVS settings of the network namespace the
// daemon runs in.
const ipvsSysctlDir = "/proc/sys/net/ipv4/vs"

// sloppySysctls sets IPVS's sloppy_tcp and sloppy_sctp as the
// lvs_sloppy_tcp and lvs_sloppy_sctp extensions say. A setting the
// configuration turns on is written 1; one it turns off again, by a
// reload, gets back the value found before the first write, and so do
// both when the loop releases the table. A setting the configuration
// never turned on is left as it is, so an operator's own sysctl stands.
type sloppySysctls struct {
	dir   string            // ipvsSysctlDir, or a test's directory
	found map[string]string // value before the first write, by file
}

func newSloppySysctls(dir string) *sloppySysctls {
	return &sloppySysctls{dir: dir, found: make(map[string]string)}
}

// apply sets sloppy_tcp and sloppy_sctp to tcp and sctp.
func (s *sloppySysctls) apply(tcp, sctp bool) error {
	return errors.Join(s.set("sloppy_tcp", tcp), s.set("sloppy_sctp", sctp))
}

func (s *sloppySysctls) set(name string, on bool) error {
	path := filepath.Join(s.dir, name)
	old, written := s.found[name]
	switch {
	case on && !written:
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		old = strings.TrimSpace(string(b))
		if err := writeSysctl(path, "1"); err != nil {
			return err
		}
		s.found[name] = old
	case !on && written:
		if err := writeSysctl(path, old); err != nil {
			return err
		}
		delete(s.found, name)
	}
	return nil
}

// restore puts back the values found before the writes.
func (s *sloppySysctls) restore() error { return s.apply(false, false) }

func writeSysctl(path, v string) error {
	if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
		return fmt.Errorf("setting %s to %s: %w", path, v, err)
	}
	return nil
}
