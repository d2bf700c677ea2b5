package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/netns"
	"github.com/gokeepalived/gokeepalived/internal/pidfile"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// envNetns carries, across the exec that moves the process into its
// network namespace, the name of the namespace it is now in.
const envNetns = "GOKEEPALIVED_NETNS"

// A place is where the daemon runs and how it names its files: the
// network namespace (-s, else net_namespace), the instance name, and
// whether its pid files go in netns.PidDir.
type place struct {
	namespace string
	// configNamespace is net_namespace when -s overrides it.
	configNamespace string
	instance        string
	usePidDir       bool
	// mounted: netns.PidDir is the namespace's own directory.
	mounted bool
	// read is the configuration placeOf read, with its diagnostics:
	// the daemon's first load when the process stays where it is, so
	// that a large file is not parsed twice at start-up. Nil when the
	// file could not be read.
	read *readConfig
}

// readConfig is one reading of the configuration file.
type readConfig struct {
	cfg   *config.Config
	diags config.Diagnostics
}

// placeOf reads the settings that choose the place from the command line
// and the configuration file. The file is read again, with its messages,
// once the process is in place; here a file that cannot be read leaves
// the defaults.
func placeOf(s *settings) place {
	cfg, diags, err := config.Load(s.configFile, config.Options{ConfigID: s.configID})
	return placeFrom(s, cfg, diags, err)
}

// placeFrom is placeOf with the configuration already read: cfg, diags
// and err as config.Load returned them.
func placeFrom(s *settings, cfg *config.Config, diags config.Diagnostics, err error) place {
	var pl place
	if err == nil {
		g := &cfg.Global
		pl = place{namespace: g.NetNamespace, instance: g.InstanceName, usePidDir: g.UsePidDir,
			read: &readConfig{cfg, diags}}
	}
	if s.namespace != "" {
		// keepalived says so even when the two are the same.
		pl.configNamespace = pl.namespace
		pl.namespace = s.namespace
	}
	if pl.namespace != "" || pl.instance != "" {
		pl.usePidDir = true
	}
	return pl
}

// namespaceOf is the network namespace cfg asks for, with -s over it.
func (s *settings) namespaceOf(cfg *config.Config) string {
	if s.namespace != "" {
		return s.namespace
	}
	return cfg.Global.NetNamespace
}

// ident is keepalived's syslog ident for a process whose plain ident is
// base: the namespace and the instance name follow it, each after "_".
func (pl *place) ident(base string) string {
	for _, v := range []string{pl.namespace, pl.instance} {
		if v != "" {
			base += "_" + v
		}
	}
	return base
}

// pidFiles returns the pid files of the parent, the VRRP loop and the
// checkers: those -p, -r and -c name, else keepalived's defaults for the
// place. netns.PidDir in a namespace is the namespace's own directory.
func (pl *place) pidFiles(s *settings) (parent, vrrp, checkers string) {
	switch {
	case pl.instance != "":
		dir := netns.PidDir + "/"
		parent = dir + "keepalived_" + pl.instance + ".pid"
		vrrp = dir + "vrrp_" + pl.instance + ".pid"
		checkers = dir + "checkers_" + pl.instance + ".pid"
	case pl.usePidDir:
		parent = filepath.Join(netns.PidDir, "keepalived.pid")
		vrrp = filepath.Join(netns.PidDir, "vrrp.pid")
		checkers = filepath.Join(netns.PidDir, "checkers.pid")
	default:
		parent, vrrp, checkers = pidfile.DefaultPath, pidfile.DefaultVRRPPath, pidfile.DefaultCheckersPath
	}
	return orDefault(s.pidFile, parent), orDefault(s.vrrpPidFile, vrrp), orDefault(s.checkerPidFile, checkers)
}

// enter puts the daemon in its place, as keepalived does before it
// writes a pid file: netns.PidDir is made, and in a namespace the process
// re-executes itself inside it, with netns.PidDir/NAME mounted on
// netns.PidDir. It returns false when the namespace cannot be entered;
// keepalived then exits, and with status 0.
func (pl *place) enter(prog string, log logrus.FieldLogger) bool {
	if pl.usePidDir {
		netns.CreatePidDir(log)
	}
	if pl.namespace == "" {
		return true
	}
	if os.Getenv(envNetns) == pl.namespace {
		// The exec below brought the process here; its scripts need
		// not know.
		os.Unsetenv(envNetns)
		pl.mounted = true
		return true
	}
	if err := reexecIn(prog, pl.namespace, func() { netns.MountPidDir(log, pl.namespace) }); err != nil {
		log.Info(err.Error())
		log.Errorf("Unable to set network namespace %s - exiting", pl.namespace)
	}
	if pl.usePidDir {
		netns.RemovePidDir(log)
	}
	return false
}

// reexecIn runs this program again, with the same arguments and process
// ID, in network namespace name, after setup has changed whatever else of
// the thread it must. It returns only on failure: setns(2) changes the
// calling thread alone, so the thread is locked and never given back to
// the runtime, and exec starts the new image on it.
func reexecIn(prog, name string, setup func()) error {
	runtime.LockOSThread()
	if err := netns.Enter(name); err != nil {
		return err
	}
	if setup != nil {
		setup()
	}
	argv := append([]string{prog}, os.Args[1:]...)
	env := append(os.Environ(), envNetns+"="+name)
	err := syscall.Exec("/proc/self/exe", argv, env)
	return fmt.Errorf("exec in network namespace %s: %w", name, err)
}

// logStart says, once the daemon is in place, what keepalived says there.
func (pl *place) logStart(log logrus.FieldLogger) {
	if pl.configNamespace != "" {
		log.Infof("Overriding config net_namespace '%s' with command line namespace '%s'", pl.configNamespace, pl.namespace)
	}
	if pl.namespace != "" || pl.instance != "" {
		log.Infof("Changing syslog ident to %s", pl.ident("Keepalived"))
	}
}

// leave undoes enter when the daemon stops, after its pid files are gone.
func (pl *place) leave(log logrus.FieldLogger) {
	if pl.mounted {
		netns.UnmountPidDir(log, pl.namespace)
	}
	if pl.usePidDir {
		netns.RemovePidDir(log)
	}
}

// sameRestartOnly compares what a reload cannot change, as keepalived's
// reload_config does: the network namespaces and the instance name. It
// logs keepalived's message for each change and reports whether there
// was none.
func (d *daemon) sameRestartOnly(next *config.Config) bool {
	cur := d.cfg
	ok := true
	if d.s.namespaceOf(cur) != d.s.namespaceOf(next) {
		d.log.Info("Cannot change network namespace at a reload - please restart keepalived")
		ok = false
	}
	a, b := cur.Global.NetNamespaceIPVS, next.Global.NetNamespaceIPVS
	if (a == nil) != (b == nil) || a != nil && *a != *b {
		d.log.Info("Cannot change IPVS network namespace at a reload - please restart keepalived")
		ok = false
	}
	if cur.Global.InstanceName != next.Global.InstanceName {
		d.log.Info("Cannot change instance name at a reload - please restart keepalived")
		ok = false
	}
	return ok
}

// configTestIn runs the configuration test in the network namespace the
// configuration asks for, as keepalived -t does, so that its interfaces
// are checked there; nothing else of the place applies to a test. It
// returns done when it has answered for the test: when the namespace
// cannot be entered keepalived -t stops there, with status 0 and without
// checking further, which gokeepalived keeps so that the two agree on
// hosts without the namespace. pl is the place the configuration asks for.
func configTestIn(s *settings, pl place, prog string, stderr io.Writer) (code int, done bool) {
	if pl.namespace == "" {
		return 0, false
	}
	if os.Getenv(envNetns) == pl.namespace {
		os.Unsetenv(envNetns)
		return 0, false
	}
	err := reexecIn(prog, pl.namespace, nil)
	out := stderr
	if s.configTestLog != "" {
		f, err := safefile.Create(s.configTestLog, safefile.Mode(s.umask))
		if err != nil {
			fmt.Fprintf(stderr, "gokeepalived: opening config test log: %v\n", err)
			return exitProgramError, true
		}
		defer f.Close()
		out = f
	}
	// keepalived has printed what it found reading the file by then.
	if _, diags, lerr := config.Load(s.configFile, config.Options{ConfigID: s.configID}); lerr == nil {
		for _, d := range diags {
			fmt.Fprintln(out, d.String())
		}
	}
	fmt.Fprintln(out, err)
	fmt.Fprintf(out, "Unable to set network namespace %s - exiting\n", pl.namespace)
	return exitOK, true
}
