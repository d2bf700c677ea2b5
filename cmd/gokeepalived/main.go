// Command gokeepalived is a keepalived-compatible high-availability daemon
// for Linux load-balancer directors. It takes keepalived's command line,
// reads keepalived.conf and answers keepalived's signals.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes, as keepalived's (include/main.h).
const (
	exitOK             = 0
	exitProgramError   = 1
	exitFatal          = 3
	exitConfig         = 4
	exitConfigTest     = 5
	exitConfigSecurity = 6
)

const defaultConfigFile = "/etc/keepalived/keepalived.conf"

// The option table is keepalived 2.2's, plus --json and --log-file.
var options = []option{
	{'f', "use-file", requiredArg},
	{'P', "vrrp", noArg},
	{'C', "check", noArg},
	{'B', "no_bfd", noArg},
	{0, "all", noArg},
	{'l', "log-console", noArg},
	{'D', "log-detail", noArg},
	{'S', "log-facility", requiredArg},
	{'g', "log-file", requiredArg},
	{'G', "no-syslog", noArg},
	{'u', "umask", requiredArg},
	{'X', "release-vips", noArg},
	{'V', "dont-release-vrrp", noArg},
	{'I', "dont-release-ipvs", noArg},
	{'R', "dont-respawn", noArg},
	{'n', "dont-fork", noArg},
	{'d', "dump-conf", noArg},
	{'p', "pid", requiredArg},
	{'r', "vrrp_pid", requiredArg},
	{'T', "genhash", noArg},
	{'c', "checkers_pid", requiredArg},
	{'a', "address-monitoring", noArg},
	{'b', "bfd_pid", requiredArg},
	{'x', "snmp", noArg},
	{'A', "snmp-agent-socket", requiredArg},
	{'s', "namespace", requiredArg},
	{'m', "core-dump", noArg},
	{'M', "core-dump-pattern", optionalArg},
	{'e', "all-config", noArg},
	{'i', "config-id", requiredArg},
	{0, "signum", requiredArg},
	{'t', "config-test", optionalArg},
	{0, "json", noArg},
	{0, "control-socket", requiredArg},
	{0, "metrics-listen", requiredArg},
	{'v', "version", noArg},
	{'h', "help", noArg},
}

// settings is what the command line asks for.
type settings struct {
	configFile    string
	configID      string
	configTest    bool
	configTestLog string // -t=FILE: write the check's messages there
	dump          bool
	json          bool
	signum        string
	genhash       bool
	version       bool
	help          bool
	vrrpOnly      bool
	checkOnly     bool
	noBFD         bool // -B
	logConsole    bool
	logDetail     bool
	logFacility   string
	logFile       string
	noSyslog      bool
	// releaseVIPs is -X. keepalived 2.2.7 uses it only to let an
	// instance that leaves MASTER or stops try to delete its VIPs even
	// when it did not add them in this run; its deletion still skips
	// addresses it did not add itself, so nothing on the host changes.
	// The vrrp package always releases a master's VIPs when it leaves
	// MASTER, which is what -X asks for, so the flag selects nothing
	// more (TestDaemonReleaseVIPs compares both daemons with -X).
	releaseVIPs    bool
	keepVRRP       bool
	keepIPVS       bool
	dontFork       bool
	pidFile        string
	vrrpPidFile    string
	checkerPidFile string
	namespace      string
	allConfig      bool
	controlSocket  string
	metricsListen  string
	// umask is the process's file creation mask: keepalived's 0177
	// unless -u sets it, when umaskCmdline makes the umask keyword
	// ignored. badUmask is a -u value keepalived would refuse.
	umask        int
	umaskCmdline bool
	badUmask     string
	// snmp is -x: every SNMP MIB on, whatever the configuration says;
	// snmpSocket is -A, the master agent's socket, which the
	// configuration's snmp_socket does not replace (snmp.go).
	snmp       bool
	snmpSocket string
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is the whole command: argv[0] and the arguments, as in os.Args.
func run(argv []string, stdout, stderr io.Writer) int {
	prog, args := argv[0], argv[1:]
	// keepalived's -T must come first and hands the rest of the line to
	// genhash, whose flags overlap keepalived's.
	if len(args) > 0 && (args[0] == "-T" || args[0] == "--genhash" || args[0] == "genhash") {
		return runGenhash(prog, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "status" {
		return runStatus(args[1:], stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "drain" || args[0] == "undrain") {
		return runDrain(args[0] == "undrain", args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "realserver" {
		return runRealServer(args[1:], stdout, stderr)
	}
	s, err := parseSettings(args)
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
		usage(stderr)
		return exitProgramError
	}
	if s.badUmask != "" {
		// keepalived's set_umask reports it and keeps its default.
		fmt.Fprintf(stderr, "Invalid --umask option %s\n", s.badUmask)
	}
	switch {
	case s.help:
		usage(stdout)
		return exitOK
	case s.version:
		fmt.Fprintf(stdout, "gokeepalived v%s (keepalived 2.2 compatible)\n", version)
		return exitOK
	case s.signum != "":
		return printSignum(s.signum, stdout, stderr)
	case s.genhash:
		return runGenhash(prog, nil, stdout, stderr)
	case s.configTest:
		return configTest(s, prog, stderr)
	case s.dump:
		return dumpConfig(s, stdout, stderr)
	}
	return runDaemon(prog, args, s, stderr)
}

func parseSettings(args []string) (*settings, error) {
	opts, rest, err := getopt(options, args)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", rest[0])
	}
	s := &settings{configFile: defaultConfigFile, controlSocket: control.DefaultSocket, umask: safefile.DefaultUmask}
	for _, p := range opts {
		switch p.opt.long {
		case "use-file":
			s.configFile = p.value
		case "config-id":
			s.configID = p.value
		case "config-test":
			s.configTest, s.configTestLog = true, p.value
		case "dump-conf":
			s.dump = true
		case "json":
			s.json = true
		case "signum":
			s.signum = p.value
		case "genhash":
			s.genhash = true
		case "version":
			s.version = true
		case "help":
			s.help = true
		case "vrrp":
			s.vrrpOnly = true
		case "check":
			s.checkOnly = true
		case "no_bfd":
			s.noBFD = true
		case "log-console":
			s.logConsole = true
		case "log-detail":
			s.logDetail = true
		case "log-facility":
			s.logFacility = p.value
		case "log-file":
			s.logFile = p.value
		case "no-syslog":
			s.noSyslog = true
		case "release-vips":
			s.releaseVIPs = true
		case "dont-release-vrrp":
			s.keepVRRP = true
		case "dont-release-ipvs":
			s.keepIPVS = true
		case "dont-fork":
			s.dontFork = true
		case "pid":
			s.pidFile = p.value
		case "vrrp_pid":
			s.vrrpPidFile = p.value
		case "checkers_pid":
			s.checkerPidFile = p.value
		case "namespace":
			s.namespace = p.value
		case "all-config":
			s.allConfig = true
		case "control-socket":
			s.controlSocket = p.value
		case "metrics-listen":
			s.metricsListen = p.value
		case "umask":
			// keepalived's set_umask: strtoll's notation, permission
			// bits only.
			v, err := strconv.ParseInt(p.value, 0, 64)
			if err != nil || v < 0 || v&^0o777 != 0 {
				s.badUmask = p.value
				continue
			}
			s.umask, s.umaskCmdline = int(v), true
		case "snmp":
			s.snmp = true
		case "snmp-agent-socket":
			s.snmpSocket = p.value
		}
		// The remaining options (the BFD pid file, core dumps, respawn,
		// address monitoring) are accepted so that keepalived's unit
		// files work unchanged; they select nothing gokeepalived has.
	}
	return s, nil
}

// printSignum answers --signum as keepalived does: the number of the signal
// that asks the daemon for that function, so scripts can send it.
func printSignum(name string, stdout, stderr io.Writer) int {
	nums := map[string]int{
		"STOP":        15, // SIGTERM
		"RELOAD":      1,  // SIGHUP
		"DATA":        10, // SIGUSR1
		"STATS":       12, // SIGUSR2
		"STATS_CLEAR": 63, // SIGRTMAX-1
		"JSON":        36, // SIGRTMIN+2
	}
	n, ok := nums[strings.ToUpper(name)]
	if !ok {
		fmt.Fprintf(stderr, "Unknown sigfunc %s\n", name)
		return exitProgramError
	}
	fmt.Fprintln(stdout, n)
	return exitOK
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: gokeepalived [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -g, --log-file=FILE          Also log to FILE
  -G, --no-syslog              Don't log via syslog
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data (with --json: as JSON)
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
      --metrics-listen=ADDR    Serve Prometheus metrics on ADDR (host:port), /metrics
      --control-socket=PATH    Serve status and drains on this Unix socket (default /run/gokeepalived.sock)
  -v, --version                Display the version number
  -h, --help                   Display this help message

Commands:
  gokeepalived status [--json] [--control-socket=PATH]
                               Show a running daemon's instances and real servers
  gokeepalived drain real-server VS_ADDR:PORT[/PROTO] RS_ADDR:PORT [--timeout=D] [--control-socket=PATH]
                               Weight 0 now; out of IPVS when its active connections end or after D
  gokeepalived drain director [--timeout=D] [--control-socket=PATH]
                               Every VRRP instance at priority 1; BGP announcements with
                                GRACEFUL_SHUTDOWN for D (default 1s), then withdrawn
  gokeepalived undrain real-server VS RS | director [--control-socket=PATH]
                               End a drain
  gokeepalived realserver start|stop --vip ADDR [--tun]
                               Prepare this host as an LVS-DR (or TUN) real server
Accepted for compatibility and without effect: -B, --all, -u, -R, -a, -b, -x, -A, -m, -M, -e.
`)
}
