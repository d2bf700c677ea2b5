package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
)

// A Credential is the user and group a script runs as.
type Credential struct {
	UID, GID uint32
}

// DefaultScriptUser is the user keepalived runs scripts as when the
// configuration names none and the user exists.
const DefaultScriptUser = "keepalived_script"

// LookupCredential resolves a script's user and optional group; without a
// group the script runs in the user's primary group.
func LookupCredential(username, groupname string) (Credential, error) {
	u, err := user.Lookup(username)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return Credential{}, fmt.Errorf("Script user '%s' does not exist", username)
		}
		return Credential{}, fmt.Errorf("Unable to resolve script username '%s' - ignoring: %w", username, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if groupname != "" {
		g, err := user.LookupGroup(groupname)
		if err != nil {
			var unknown user.UnknownGroupError
			if errors.As(err, &unknown) {
				return Credential{}, fmt.Errorf("Script group '%s' does not exist", groupname)
			}
			return Credential{}, fmt.Errorf("Unable to resolve script group name '%s' - ignoring: %w", groupname, err)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return Credential{UID: uint32(uid), GID: uint32(gid)}, nil
}

// DefaultUser returns the credential scripts run with when their keyword
// names no user. scriptUser and scriptGroup are global_defs' script_user
// words. Without script_user keepalived uses keepalived_script if that
// user exists and otherwise its own user (root); but with
// enable_script_security a missing keepalived_script is an error, so that
// scripts never fall back to root silently.
func DefaultUser(scriptUser, scriptGroup string, security bool) (Credential, error) {
	if scriptUser != "" {
		return LookupCredential(scriptUser, scriptGroup)
	}
	c, err := LookupCredential(DefaultScriptUser, "")
	if err == nil {
		return c, nil
	}
	if security {
		return Credential{}, fmt.Errorf("Unable to set default user %s for script: %w", DefaultScriptUser, err)
	}
	return Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}, nil
}

// Security checks scripts before they are used, as keepalived does at
// startup: it resolves bare names on the PATH and symbolic links, refuses
// scripts their user cannot execute, and, for scripts that run as root,
// refuses any whose file or directories a non-root user could change when
// enable_script_security is on (and only warns when it is off).
//
// keepalived resolves paths with the script user's effective uid and gid;
// Check resolves them as the daemon, then judges executability by the
// script user's credential.
//
// A Security accumulates what it saw, for Violation.
type Security struct {
	// Enabled is enable_script_security.
	Enabled bool
	// Log receives keepalived's messages about each script.
	Log logrus.FieldLogger
	// Path is searched for commands without a slash; empty means $PATH,
	// or /bin:/usr/bin when that is unset.
	Path string

	scripts  bool // a script will run
	insecure bool // a script is writable by a non-root user
}

// A Verdict is what script security decides about one script, as
// keepalived's check_script_secure flags tell it.
type Verdict int

// The verdicts: a script runs only when Allowed.
const (
	// Allowed: the script runs.
	Allowed Verdict = iota
	// Inhibited: enable_script_security refuses it as insecure
	// (keepalived's SC_INHIBIT).
	Inhibited
	// NotFound: it cannot be found or accessed (SC_NOTFOUND).
	NotFound
	// NotExecutable: its user cannot execute it.
	NotExecutable
)

// Check reports whether s may run. It may rewrite s.Args[0] to the
// resolved path, as keepalived does. A nil script is allowed.
func (sec *Security) Check(s *Script) bool {
	return sec.Verdict(s) == Allowed
}

// Verdict checks s as Check does and tells why a script is refused.
func (sec *Security) Verdict(s *Script) Verdict {
	if s == nil {
		return Allowed
	}
	if s.usesShell() {
		sec.scripts = true
		return Allowed
	}
	if !strings.Contains(s.Args[0], "/") {
		found, err := sec.lookPath(s)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				sec.logf("Permissions failure for script %s in path - disabling", s.Args[0])
			} else {
				sec.logf("Cannot find script %s in path - disabling", s.Args[0])
			}
			return NotFound
		}
		sec.logf("WARNING - script `%s` resolved by path search to `%s`. Please specify full path.", s.Args[0], found)
		s.Args[0] = found
	}

	real, err := filepath.EvalSymlinks(s.Args[0])
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		sec.logf("Script %s cannot be accessed - %s", s.Args[0], errText(err))
		return NotFound
	}
	// Some programs behave according to the name they are called by, so
	// keepalived keeps the configured file name when the resolved
	// directory holds the same file under that name.
	realFile := ""
	path := real
	if base := filepath.Base(s.Args[0]); base != filepath.Base(real) {
		candidate := filepath.Join(filepath.Dir(real), base)
		if sameFile(candidate, real) {
			path, realFile = candidate, real
		}
	}
	s.Args[0] = path

	var st syscall.Stat_t
	stated := realFile
	if stated == "" {
		stated = path
	}
	if err := syscall.Stat(stated, &st); err != nil {
		sec.logf("Unable to access script `%s` - disabling", s.Args[0])
		return NotFound
	}
	sec.scripts = true
	if !executable(&st, s.Cred) {
		sec.logf("WARNING - script '%s' is not executable for uid:gid %d:%d - disabling.", s.Args[0], s.Cred.UID, s.Cred.GID)
		return NotExecutable
	}
	asRoot := s.Cred.UID == 0 || s.Cred.GID == 0 ||
		st.Uid == 0 && st.Mode&syscall.S_IXUSR != 0 && st.Mode&syscall.S_ISUID != 0 ||
		st.Gid == 0 && st.Mode&syscall.S_IXGRP != 0 && st.Mode&syscall.S_ISGID != 0
	if !asRoot {
		return Allowed
	}
	if v := sec.pathSafe(s.Args[0]); v != Allowed {
		return v
	}
	if realFile != "" {
		return sec.pathSafe(realFile)
	}
	return Allowed
}

// Violation returns keepalived's warning for scripts that will run while
// enable_script_security is off, or "" when there is none. what is
// "scripts" for the VRRP process and "check scripts" for the checkers.
func (sec *Security) Violation(what string) string {
	if sec.Enabled || !sec.scripts {
		return ""
	}
	extra := ""
	if sec.insecure {
		extra = " There are insecure scripts."
	}
	return fmt.Sprintf("SECURITY VIOLATION - %s are being executed but script_security not enabled.%s", what, extra)
}

// pathSafe walks every directory from / down to the file and refuses the
// script when one of them, or the file, is owned by or writable by a
// non-root user and enable_script_security is on. A directory with the sticky bit (/tmp) protects the
// files in it, as keepalived allows.
func (sec *Security) pathSafe(name string) Verdict {
	prefixes := []string{"/"}
	for i := 1; i < len(name); i++ {
		if name[i] == '/' {
			prefixes = append(prefixes, name[:i])
		}
	}
	prefixes = append(prefixes, name)
	for i, p := range prefixes {
		last := i == len(prefixes)-1
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
				errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
				sec.logf("check_script_secure could not find script '%s' - disabling", name)
			} else {
				var errno syscall.Errno
				errors.As(err, &errno)
				sec.logf("check_script_secure('%s') returned errno %d - %s - disabling", name, int(errno), errText(err))
			}
			return NotFound
		}
		typ := st.Mode & syscall.S_IFMT
		if !last && typ != syscall.S_IFDIR || last && typ != syscall.S_IFREG && typ != syscall.S_IFLNK {
			sec.logf("Wrong file type found in script path '%s'.", name)
			return Inhibited
		}
		dirNoSticky := typ == syscall.S_IFDIR && st.Mode&syscall.S_ISVTX == 0
		writable := st.Gid != 0 && st.Mode&syscall.S_IWGRP != 0 || st.Mode&syscall.S_IWOTH != 0
		if st.Uid != 0 || (dirNoSticky || typ == syscall.S_IFREG) && writable {
			sec.insecure = true
			disabling := ""
			if sec.Enabled {
				disabling = " - disabling"
			}
			sec.logf("Unsafe permissions found for script '%s'%s.", name, disabling)
			if sec.Enabled {
				return Inhibited
			}
			return Allowed
		}
	}
	return Allowed
}

// lookPath finds a bare command name on the search path, as execvp would
// for the script's user.
func (sec *Security) lookPath(s *Script) (string, error) {
	path := sec.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	if path == "" {
		path = "/bin:/usr/bin"
	}
	denied := false
	for _, dir := range filepath.SplitList(path) {
		name := filepath.Join(dir, s.Args[0])
		if dir == "" {
			name = s.Args[0]
		}
		var st syscall.Stat_t
		if err := syscall.Stat(name, &st); err != nil {
			continue
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG || !executable(&st, s.Cred) {
			denied = true
			continue
		}
		return name, nil
	}
	if denied {
		return "", fs.ErrPermission
	}
	return "", fs.ErrNotExist
}

func (sec *Security) logf(format string, args ...any) {
	if sec.Log != nil {
		sec.Log.Infof(format, args...)
	}
}

// executable reports whether the file may be executed by c, by the
// owner/group/other bits the way the kernel picks them (root needs any x
// bit).
func executable(st *syscall.Stat_t, c Credential) bool {
	m := st.Mode
	switch {
	case c.UID == 0:
		return m&(syscall.S_IXUSR|syscall.S_IXGRP|syscall.S_IXOTH) != 0
	case c.UID == st.Uid:
		return m&syscall.S_IXUSR != 0
	case c.GID == st.Gid:
		return m&syscall.S_IXGRP != 0
	default:
		return m&syscall.S_IXOTH != 0
	}
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// errText returns strerror's text for err, as keepalived prints it.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
