package logging

import (
	"bytes"
	"errors"
	"fmt"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestFormatter(t *testing.T) {
	tests := []struct {
		name string
		time time.Time
		msg  string
		data logrus.Fields
		want string
	}{
		{
			name: "two-digit day",
			time: time.Date(2026, time.November, 23, 18, 31, 13, 999, time.UTC),
			msg:  "(VI_1) Entering MASTER STATE",
			want: "Mon Nov 23 18:31:13 2026: (VI_1) Entering MASTER STATE\n",
		},
		{
			name: "one-digit day is space-padded like %c",
			time: time.Date(2026, time.March, 3, 8, 5, 9, 0, time.UTC),
			msg:  "Stopped Keepalived v2.2.7 (01/16,2022)",
			want: "Tue Mar  3 08:05:09 2026: Stopped Keepalived v2.2.7 (01/16,2022)\n",
		},
		{
			name: "the ident and a trailing newline are dropped",
			time: time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC),
			msg:  "Remove a zombie pid file /run/keepalived.pid\n",
			data: logrus.Fields{identField: IdentVRRP},
			want: "Thu Jan  1 00:00:00 2026: Remove a zombie pid file /run/keepalived.pid\n",
		},
		{
			name: "other fields follow the message",
			time: time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC),
			msg:  "IPVS change",
			data: logrus.Fields{"op": "update-destination -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3", "attempt": 2, identField: IdentCheckers},
			want: "Thu Jan  1 00:00:00 2026: IPVS change attempt=2 op=\"update-destination -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &logrus.Entry{Time: tt.time, Message: tt.msg, Data: tt.data, Level: logrus.WarnLevel}
			got, err := Formatter{}.Format(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFacility(t *testing.T) {
	tests := []struct {
		in   string
		want syslog.Priority
		ok   bool
	}{
		{"0", syslog.LOG_LOCAL0, true},
		{"3", syslog.LOG_LOCAL3, true},
		{"7", syslog.LOG_LOCAL7, true},
		{"03", syslog.LOG_LOCAL3, true},
		{" 3", syslog.LOG_LOCAL3, true},
		{"+3", syslog.LOG_LOCAL3, true},
		{"local0", syslog.LOG_LOCAL0, true},
		{"local5", syslog.LOG_LOCAL5, true},
		{"local7", syslog.LOG_LOCAL7, true},
		{"user", syslog.LOG_USER, true},
		{"daemon", syslog.LOG_DAEMON, true},
		{"8", 0, false},
		{"-1", 0, false},
		{"7x", 0, false},
		{"", 0, false},
		{"local8", 0, false},
		{"local", 0, false},
		{"local05", 0, false},
		{"LOCAL1", 0, false},
		{"User", 0, false},
		{"foo", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseFacility(tt.in)
		if !tt.ok {
			var fe *FacilityError
			if !errors.As(err, &fe) {
				t.Errorf("ParseFacility(%q) = %v, %v; want a *FacilityError", tt.in, got, err)
				continue
			}
			if want := "Invalid log facility '" + tt.in + "'"; err.Error() != want {
				t.Errorf("ParseFacility(%q) error %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFacility(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// listenSyslog binds a datagram socket standing in for /dev/log.
func listenSyslog(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// readDatagrams returns what arrives on c until it stays quiet for wait.
func readDatagrams(t *testing.T, c *net.UnixConn, wait time.Duration) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got
			}
			t.Fatalf("reading syslog socket: %v", err)
		}
		got = append(got, string(buf[:n]))
	}
}

// stripStamp checks and removes the RFC 3164 timestamp of a datagram
// written to the local syslog socket: "<PRI>Mmm dd hh:mm:ss REST".
func stripStamp(t *testing.T, d string) string {
	t.Helper()
	pri, rest, ok := strings.Cut(d, ">")
	if !ok || len(rest) < len(time.Stamp)+1 {
		t.Fatalf("datagram %q has no <PRI>timestamp", d)
	}
	stamp := rest[:len(time.Stamp)]
	if _, err := time.Parse(time.Stamp, stamp); err != nil {
		t.Errorf("datagram %q: timestamp %q: %v", d, stamp, err)
	}
	return pri + ">" + rest[len(time.Stamp):]
}

func TestSyslog(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		log  func(l *logrus.Logger)
		want []string // with the timestamp removed; %[1]d is our pid
	}{
		{
			name: "default ident and facility",
			opts: Options{},
			log: func(l *logrus.Logger) {
				l.Info("Starting Keepalived v2.2.7 (01/16,2022)")
			},
			want: []string{"<30> Keepalived[%[1]d]: Starting Keepalived v2.2.7 (01/16,2022)\n"},
		},
		{
			name: "child idents and severities",
			opts: Options{Facility: syslog.LOG_LOCAL3},
			log: func(l *logrus.Logger) {
				WithIdent(l, IdentVRRP).Info("(VI_1) Entering MASTER STATE")
				WithIdent(l, IdentCheckers).Warn("TCP connection to [10.0.0.2]:tcp:80 failed.")
				WithIdent(l, IdentCheckers).Error("IPVS: No such process")
				l.Debug("not sent without -D")
			},
			want: []string{
				"<158> Keepalived_vrrp[%[1]d]: (VI_1) Entering MASTER STATE\n",
				"<156> Keepalived_healthcheckers[%[1]d]: TCP connection to [10.0.0.2]:tcp:80 failed.\n",
				"<155> Keepalived_healthcheckers[%[1]d]: IPVS: No such process\n",
			},
		},
		{
			name: "detail sends debug messages",
			opts: Options{Facility: syslog.LOG_USER, Detail: true, Ident: IdentVRRP},
			log: func(l *logrus.Logger) {
				l.Debug("VRRP sockpool: [ifindex(  3), family(IPv4), proto(112)]")
			},
			want: []string{"<15> Keepalived_vrrp[%[1]d]: VRRP sockpool: [ifindex(  3), family(IPv4), proto(112)]\n"},
		},
		{
			name: "no syslog",
			opts: Options{Facility: syslog.LOG_DAEMON, NoSyslog: true},
			log: func(l *logrus.Logger) {
				l.Info("(VI_1) Entering BACKUP STATE")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, path := listenSyslog(t)
			tt.opts.SyslogSocket = path
			l, sinks, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer sinks.Close()
			tt.log(l)
			got := readDatagrams(t, c, 200*time.Millisecond)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d datagrams %q, want %d", len(got), got, len(tt.want))
			}
			for i, d := range got {
				want := fmt.Sprintf(tt.want[i], os.Getpid())
				if s := stripStamp(t, d); s != want {
					t.Errorf("datagram %d = %q, want %q", i, s, want)
				}
			}
		})
	}
}

func TestSyslogAbsent(t *testing.T) {
	var console bytes.Buffer
	l, sinks, err := New(Options{
		Console:      true,
		Stderr:       &console,
		Facility:     syslog.LOG_DAEMON,
		SyslogSocket: filepath.Join(t.TempDir(), "no-such-socket"),
	})
	if err != nil {
		t.Fatalf("New without a syslog daemon: %v", err)
	}
	defer sinks.Close()
	l.Info("Startup complete")
	if !strings.HasSuffix(console.String(), ": Startup complete\n") {
		t.Errorf("console = %q, want the message despite syslog being absent", console.String())
	}
}

func TestConsole(t *testing.T) {
	var console bytes.Buffer
	l, sinks, err := New(Options{Console: true, Stderr: &console, NoSyslog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sinks.Close()
	before := time.Now().Truncate(time.Second)
	l.Info("(VI_1) Entering MASTER STATE")
	l.Debug("hidden without -D")
	after := time.Now()

	line := console.String()
	stamp, msg, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
	if !ok || msg != "(VI_1) Entering MASTER STATE" || strings.Count(line, "\n") != 1 {
		t.Fatalf("console = %q, want one line \"<time>: (VI_1) Entering MASTER STATE\"", line)
	}
	at, err := time.ParseInLocation(time.ANSIC, stamp, time.Local)
	if err != nil {
		t.Fatalf("console time %q: %v", stamp, err)
	}
	if at.Before(before) || at.After(after) {
		t.Errorf("console time %v, want between %v and %v", at, before, after)
	}
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, sinks, err := New(Options{File: path, NoSyslog: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Info("between rotation and reopen")
	if err := sinks.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	l.Info("after reopen")
	if err := sinks.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	messages := func(name string) []string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if _, msg, ok := strings.Cut(line, ": "); ok {
				line = msg
			}
			msgs = append(msgs, line)
		}
		return msgs
	}
	if got, want := messages(path+".1"), []string{"earlier line", "before rotation", "between rotation and reopen"}; !slices.Equal(got, want) {
		t.Errorf("rotated file holds %q, want %q", got, want)
	}
	if got, want := messages(path), []string{"after reopen"}; !slices.Equal(got, want) {
		t.Errorf("new file holds %q, want %q", got, want)
	}
}

func TestFileUnwritable(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := New(Options{File: filepath.Join(notDir, "keepalived.log"), NoSyslog: true})
	if err == nil || !strings.Contains(err.Error(), "opening log file") {
		t.Errorf("New with a log file under a regular file: %v, want an opening error", err)
	}
}

func TestNewRejectsSeverity(t *testing.T) {
	_, _, err := New(Options{Facility: syslog.LOG_LOCAL3 | syslog.LOG_ERR, NoSyslog: true})
	if err == nil {
		t.Error("New accepted a facility with a severity in it")
	}
}
