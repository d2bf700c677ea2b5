package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/sirupsen/logrus"
)

// Profiling knobs: environment variables, not options, since keepalived
// has no such option and the daemon takes keepalived's command line. They
// are for measuring the daemon where it runs (a benchmark's lab, a test
// machine), and are off unless set.
const (
	// cpuProfileEnv names a file that receives a CPU profile of the
	// whole daemon, from start-up to exit.
	cpuProfileEnv = "GOKEEPALIVED_CPUPROFILE"
	// heapProfileEnv names a file that receives a heap profile at exit
	// (all four sample types: the live heap after a collection, and what
	// was allocated since start-up).
	heapProfileEnv = "GOKEEPALIVED_HEAPPROFILE"
)

// startProfiles starts the profiles the environment asks for, and
// returns what writes them out at exit. A profile that cannot be written
// is logged; the daemon runs all the same.
func startProfiles(log logrus.FieldLogger) (stop func()) {
	var stops []func()
	if path := os.Getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			log.Errorf("%s: starting the CPU profile %s: %v", cpuProfileEnv, path, err)
		} else {
			stops = append(stops, func() {
				pprof.StopCPUProfile()
				if err := f.Close(); err != nil {
					log.Errorf("%s: writing the CPU profile %s: %v", cpuProfileEnv, path, err)
				}
			})
		}
	}
	if path := os.Getenv(heapProfileEnv); path != "" {
		stops = append(stops, func() {
			if err := writeHeapProfile(path); err != nil {
				log.Errorf("%s: %v", heapProfileEnv, err)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// writeHeapProfile writes the heap profile of the live heap after a
// collection to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing the heap profile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the heap profile %s: %w", path, err)
	}
	return nil
}
