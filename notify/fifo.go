package notify

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// A State is what a notify reports for a VRRP instance or sync group: the
// state it entered, or for instances on the FIFOs one of the events
// MasterRxLowerPri, MasterPriority and BackupPriority.
type State int

// States and events, named in scripts and FIFO lines as keepalived names
// them.
const (
	Master State = iota + 1
	Backup
	Fault
	Stop
	Deleted          // notify_deleted: an instance removed by a reload
	MasterRxLowerPri // a master received an advert with a lower priority
	MasterPriority   // a master's priority changed (notify_priority_changes)
	BackupPriority   // a backup's priority changed (notify_priority_changes)
)

func (s State) String() string {
	switch s {
	case Master:
		return "MASTER"
	case Backup:
		return "BACKUP"
	case Fault:
		return "FAULT"
	case Stop:
		return "STOP"
	case Deleted:
		return "DELETED"
	case MasterRxLowerPri:
		return "MASTER_RX_LOWER_PRI"
	case MasterPriority:
		return "MASTER_PRIORITY"
	case BackupPriority:
		return "BACKUP_PRIORITY"
	}
	return "{UNKNOWN}"
}

// InstanceLine is the FIFO line for a VRRP instance, such as
// `INSTANCE "VI_1" MASTER 100`, with its trailing newline.
func InstanceLine(name string, s State, priority int) string {
	return fmt.Sprintf("INSTANCE \"%s\" %s %d\n", name, s, priority)
}

// GroupLine is the FIFO line for a sync group, such as
// `GROUP "G1" BACKUP 0`: a group has no priority of its own.
func GroupLine(name string, s State) string {
	return fmt.Sprintf("GROUP \"%s\" %s 0\n", name, s)
}

// A Protocol is a virtual server's IP protocol.
type Protocol uint8

// Protocols of IPVS services.
const (
	TCP  Protocol = unix.IPPROTO_TCP
	UDP  Protocol = unix.IPPROTO_UDP
	SCTP Protocol = unix.IPPROTO_SCTP
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	case 0:
		return "none"
	}
	return "?"
}

// A VirtualServer identifies a virtual server the way keepalived names it
// in FIFO lines and logs: by group name, firewall mark, or address.
type VirtualServer struct {
	Group    string         // virtual_server_group name, if the server is a group
	FWMark   uint32         // firewall mark, if the server is a fwmark service
	Addr     netip.AddrPort // address and port otherwise (the port alone for a group)
	Protocol Protocol
}

// String formats the virtual server: "[10.0.0.1]:tcp:80", "FWM 5", or
// "[group]:80" for a virtual_server_group.
func (vs VirtualServer) String() string {
	switch {
	case vs.Group != "":
		return "[" + vs.Group + "]:" + strconv.Itoa(int(vs.Addr.Port()))
	case vs.FWMark != 0:
		return "FWM " + strconv.FormatUint(uint64(vs.FWMark), 10)
	}
	return trio(vs.Addr, vs.Protocol)
}

// trio formats an address as keepalived's inet_sockaddrtotrio does.
func trio(ap netip.AddrPort, p Protocol) string {
	return "[" + ap.Addr().Unmap().String() + "]:" + p.String() + ":" + strconv.Itoa(int(ap.Port()))
}

// VirtualServerLine is the FIFO line for a virtual server's quorum, such
// as `VS [10.0.0.1]:tcp:80 UP`.
func VirtualServerLine(vs VirtualServer, up bool) string {
	return "VS " + vs.String() + " " + upDown(up) + "\n"
}

// RealServerLine is the FIFO line for a real server's health, such as
// `RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN`. The real server's
// protocol is its virtual server's.
func RealServerLine(rs netip.AddrPort, vs VirtualServer, up bool) string {
	return "RS " + trio(rs, vs.Protocol) + " " + vs.String() + " " + upDown(up) + "\n"
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// A FIFO is a notify FIFO keepalived writes event lines to. Writes never
// block: with no reader, lines wait in the pipe until one comes, and when
// the pipe is full they are dropped, as keepalived drops them.
type FIFO struct {
	name    string
	created bool

	mu sync.Mutex
	fd int // -1 once closed
}

// OpenFIFO opens the FIFO at name as keepalived's fifo_open (lib/notify.c)
// does, creating it (mode 0644 less the process umask, so 0600 under
// keepalived's default 0177; owned by owner) when it does not exist. An
// existing FIFO is used whoever owns it, as keepalived uses it; a symlink
// or anything but a FIFO at name is refused. It is opened for reading and
// writing so that opening never waits for a reader and writing never fails
// for the lack of one.
func OpenFIFO(name string, owner Credential) (*FIFO, error) {
	f := &FIFO{name: name, fd: -1}
	switch err := unix.Mkfifo(name, 0o644); {
	case err == nil:
		f.created = true
		uid, gid := -1, -1
		if int(owner.UID) != os.Geteuid() {
			uid = int(owner.UID)
		}
		if int(owner.GID) != os.Getegid() {
			gid = int(owner.GID)
		}
		if uid != -1 || gid != -1 {
			if err := os.Lchown(name, uid, gid); err != nil {
				os.Remove(name)
				return nil, fmt.Errorf("Failed to set uid:gid for fifo %s: %w", name, err)
			}
		}
	case errors.Is(err, unix.EEXIST):
	default:
		return nil, fmt.Errorf("Unable to create notify fifo %s: %w", name, err)
	}
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		if f.created {
			os.Remove(name)
		}
		var errno unix.Errno
		errors.As(err, &errno)
		return nil, fmt.Errorf("Unable to open notify fifo %s - errno %d: %w", name, int(errno), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return nil, fmt.Errorf("opening notify fifo %s: not a FIFO", name)
	}
	f.fd = fd
	return f, nil
}

// Name returns the FIFO's path.
func (f *FIFO) Name() string { return f.name }

// WriteLine writes one line (with its newline) in a single write, so that
// lines from concurrent writers never interleave.
func (f *FIFO) WriteLine(line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return fmt.Errorf("writing to notify fifo %s: %w", f.name, os.ErrClosed)
	}
	// The raw descriptor bypasses Go's poller, which would park the
	// writer until the pipe drained.
	if _, err := unix.Write(f.fd, []byte(line)); err != nil {
		return fmt.Errorf("writing to notify fifo %s: %w", f.name, err)
	}
	return nil
}

// Close closes the FIFO and removes it if OpenFIFO created it. It is
// removed first so that a reader that reopens it in a loop cannot
// reopen this one.
func (f *FIFO) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	if f.created {
		os.Remove(f.name)
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return fmt.Errorf("closing notify fifo %s: %w", f.name, err)
	}
	return nil
}
