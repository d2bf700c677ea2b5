package ipvs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// keepalived names its IPVS commands after the old setsockopt interface,
// IP_VS_SO_SET_* in linux/ip_vs.h, and logs failures with them.
const ipvsBaseCtl = 64 + 1024 + 64

// sockoptCmd returns the IP_VS_SO_SET_* name and number of the op.
func (o Op) sockoptCmd() (string, int) {
	switch o.Kind {
	case AddService:
		return "IP_VS_SO_SET_ADD", ipvsBaseCtl + 2
	case UpdateService:
		return "IP_VS_SO_SET_EDIT", ipvsBaseCtl + 3
	case DeleteService:
		return "IP_VS_SO_SET_DEL", ipvsBaseCtl + 4
	case FlushTable:
		return "IP_VS_SO_SET_FLUSH", ipvsBaseCtl + 5
	case AddDestination:
		return "IP_VS_SO_SET_ADDDEST", ipvsBaseCtl + 7
	case DeleteDestination:
		return "IP_VS_SO_SET_DELDEST", ipvsBaseCtl + 8
	case UpdateDestination:
		return "IP_VS_SO_SET_EDITDEST", ipvsBaseCtl + 9
	case SetTimeouts:
		return "IP_VS_SO_SET_TIMEOUT", ipvsBaseCtl + 10
	case StartSyncDaemon:
		return "IP_VS_SO_SET_STARTDAEMON", ipvsBaseCtl + 11
	case StopSyncDaemon:
		return "IP_VS_SO_SET_STOPDAEMON", ipvsBaseCtl + 12
	}
	return "(unknown)", int(o.Kind)
}

// failureLine is the line keepalived logs when the kernel refuses an IPVS
// command, such as "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Service not
// defined(3) (192.0.2.1:tcp:80 -> 10.0.0.1:80)".
func (o Op) failureLine(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Sprintf("IPVS %s failed: %v", o.Kind, err)
	}
	name, num := o.sockoptCmd()
	var rule string
	switch o.Kind {
	case AddService, UpdateService, DeleteService:
		rule = " (" + o.Service.keepalivedRule() + ")"
	case AddDestination, UpdateDestination, DeleteDestination:
		rule = fmt.Sprintf(" (%s -> %s:%d)", o.Service.keepalivedRule(), o.Destination.Addr.Addr(), o.Destination.Addr.Port())
	}
	return fmt.Sprintf("IPVS cmd %s(%d) error: %s(%d)%s", name, num, o.strerror(errno), int(errno), rule)
}

// keepalivedRule formats the service as keepalived's IPVS error lines do:
// "192.0.2.1:tcp:80", "2001:db8::1:udp:53", "Fwm 7 inet6".
func (s *Service) keepalivedRule() string {
	if s.FWMark != 0 {
		if s.family() == IPv6 {
			return fmt.Sprintf("Fwm %d inet6", s.FWMark)
		}
		return fmt.Sprintf("Fwm %d", s.FWMark)
	}
	return fmt.Sprintf("%s:%s:%d", s.Addr.Addr(), strings.ToLower(s.Protocol.String()), s.Addr.Port())
}

// strerror is libipvs's ipvs_strerror: messages particular to a command
// first, then ones for any command, then the C library's.
func (o Op) strerror(errno syscall.Errno) string {
	switch {
	case o.Kind == AddService && errno == syscall.EEXIST:
		return "Service already exists"
	case (o.Kind == AddService || o.Kind == UpdateService) && errno == syscall.ENOENT:
		return "Scheduler or persistence engine not found"
	case (o.Kind == UpdateService || o.Kind == DeleteService) && errno == syscall.ESRCH:
		return "No such service"
	case (o.Kind == AddDestination || o.Kind == UpdateDestination || o.Kind == DeleteDestination) && errno == syscall.ESRCH:
		return "Service not defined"
	case o.Kind == AddDestination && errno == syscall.EEXIST:
		return "Destination already exists"
	case (o.Kind == UpdateDestination || o.Kind == DeleteDestination) && errno == syscall.ENOENT:
		return "No such destination"
	case o.Kind == StartSyncDaemon && errno == syscall.EEXIST:
		return "Daemon has already run"
	case o.Kind == StopSyncDaemon && errno == syscall.ESRCH:
		return "No daemon is running"
	}
	switch errno {
	case syscall.EPERM:
		return "Permission denied (you must be root)"
	case syscall.EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case syscall.ENOPROTOOPT:
		return "Protocol not available"
	case syscall.ENOMEM:
		return "Memory allocation problem"
	case syscall.EOPNOTSUPP:
		return "Operation not supported with IPv6"
	case syscall.EAFNOSUPPORT:
		return "Operation not supported with specified address family"
	case syscall.EMSGSIZE:
		return "Module is wrong version"
	}
	// Go's messages are the C library's with a lower-case first letter.
	msg := errno.Error()
	r, n := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[n:]
}
