package ipvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestConn exchanges requests with the kernel's generic netlink
// controller, which every Linux kernel has, IPVS or not.
func TestConn(t *testing.T) {
	fd, err := openSocket(netns.None())
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(fd)
	defer c.close()

	family := func(m []byte) (name string, id uint16) {
		t.Helper()
		ad := decodeMessage(m)
		for ad.Next() {
			switch ad.Type() {
			case unix.CTRL_ATTR_FAMILY_NAME:
				name = ad.String()
			case unix.CTRL_ATTR_FAMILY_ID:
				id = ad.Uint16()
			}
		}
		if err := ad.Err(); err != nil {
			t.Fatal(err)
		}
		return name, id
	}
	get := func(name string) ([][]byte, error) {
		return c.execute(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY, 0, func(e *encoder) { e.String(unix.CTRL_ATTR_FAMILY_NAME, name) })
	}

	// A reply, then the acknowledgement.
	msgs, err := get("nlctrl")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("got %d replies, want 1", len(msgs))
	}
	if name, id := family(msgs[0]); name != "nlctrl" || id != unix.GENL_ID_CTRL {
		t.Errorf("family %q id %d, want nlctrl %d", name, id, unix.GENL_ID_CTRL)
	}

	// The kernel's error, and the connection still in step after it.
	if _, err := get("gk-none"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("unknown family: err %v, want ENOENT", err)
	}

	// A dump of every family: each reply must be its own, not a view of
	// the buffer the next read reuses. TestGuestManyDestinations has
	// dumps long enough to take several reads.
	msgs, err = c.execute(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY, unix.NLM_F_DUMP, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, m := range msgs {
		name, _ := family(m)
		if seen[name] {
			t.Errorf("family %q listed twice", name)
		}
		seen[name] = true
	}
	if !seen["nlctrl"] || len(seen) < 2 {
		t.Errorf("dump lists %d families %v, want nlctrl among several", len(seen), seen)
	}

	if msgs, err := get("nlctrl"); err != nil || len(msgs) != 1 {
		t.Errorf("after the dump: %d replies, err %v", len(msgs), err)
	}

	// A caller that gives up on the first reply of a dump gets its error
	// back, and the rest of the dump is not taken for the next answer.
	stop := errors.New("enough")
	calls := 0
	err = c.each(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY, unix.NLM_F_DUMP, nil, func([]byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("dump stopped by its caller: err %v after %d calls, want %v after 1", err, calls, stop)
	}
	if msgs, err := get("nlctrl"); err != nil || len(msgs) != 1 {
		t.Errorf("after the stopped dump: %d replies, err %v", len(msgs), err)
	} else if name, _ := family(msgs[0]); name != "nlctrl" {
		t.Errorf("after the stopped dump: reply for %q, want nlctrl", name)
	}
}

// TestNextMessage splits a buffer of two messages, then refuses every
// truncation of it that cuts a header or a message short.
func TestNextMessage(t *testing.T) {
	var b []byte
	for i, payload := range [][]byte{{1, 2, 3}, {4, 5, 6, 7, 8}} {
		b = binary.NativeEndian.AppendUint32(b, uint32(unix.SizeofNlMsghdr+len(payload)))
		b = binary.NativeEndian.AppendUint16(b, uint16(unix.NLMSG_MIN_TYPE+i))
		b = binary.NativeEndian.AppendUint16(b, 0)
		b = binary.NativeEndian.AppendUint32(b, uint32(10+i))
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = append(b, payload...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	h, data, rest, err := nextMessage(b)
	if err != nil || h.Seq != 10 || !bytes.Equal(data, []byte{1, 2, 3}) {
		t.Fatalf("first message: %+v %v, err %v", h, data, err)
	}
	h, data, rest, err = nextMessage(rest)
	if err != nil || h.Seq != 11 || !bytes.Equal(data, []byte{4, 5, 6, 7, 8}) || len(rest) != 0 {
		t.Fatalf("second message: %+v %v, %d bytes after it, err %v", h, data, len(rest), err)
	}
	// The messages end at 19 and 41 bytes, the padding after each
	// optional; a cut anywhere else leaves a message short.
	for n := 1; n < len(b); n++ {
		if n == 19 || n == 20 || n >= 41 {
			continue
		}
		// Split as each does, every cut must end in an error.
		var err error
		for rest := b[:n]; len(rest) > 0 && err == nil; {
			_, _, rest, err = nextMessage(rest)
		}
		if err == nil {
			t.Errorf("%d of %d bytes parsed without an error", n, len(b))
		}
	}
}

func TestWait(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	idle, ready := fds[0], fds[1]
	if _, err := unix.Write(idle, []byte("x")); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Second)
	for _, tt := range []struct {
		name     string
		fd       int
		deadline time.Time
		err      error
		want     error
	}{
		{"another error is the error", idle, soon, unix.EIO, unix.EIO},
		{"an interrupted call is retried", idle, soon, unix.EINTR, nil},
		{"a ready socket is retried", ready, soon, unix.EAGAIN, nil},
		{"an idle socket times out", idle, time.Now().Add(20 * time.Millisecond), unix.EAGAIN, unix.ETIMEDOUT},
		{"a passed deadline times out at once", ready, time.Now().Add(-time.Second), unix.EAGAIN, unix.ETIMEDOUT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := wait(tt.fd, unix.POLLIN, tt.deadline, tt.err); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("wait = %v, want %v", err, tt.want)
			}
		})
	}
}
