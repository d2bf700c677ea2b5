package notify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// DefaultSMTPPort is the port of an smtp_server given without one.
const DefaultSMTPPort = 25

// DefaultSMTPConnectTimeout is keepalived's smtp_connect_timeout default.
// It bounds the connection and every later read and write, as in
// keepalived, where the same value times each step of the dialogue.
const DefaultSMTPConnectTimeout = 30 * time.Second

// A Dialer opens the connection to the SMTP server; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// A Mailer sends keepalived's smtp_alert emails: one short RFC 821
// dialogue per alert (HELO, MAIL, RCPT per recipient, DATA, QUIT), with
// the subjects, bodies, headers and log lines of keepalived 2.2.7.
//
// Alerts are sent in the background: the methods that queue them never
// block the caller, and failures are only logged, as keepalived does.
// Set the fields before the first alert and do not change them after.
type Mailer struct {
	Server         string        // smtp_server "host" or "host:port"; the port defaults to 25
	HeloName       string        // smtp_helo_name; the local host name if empty
	From           string        // notification_email_from
	To             []string      // notification_email
	ConnectTimeout time.Duration // smtp_connect_timeout; DefaultSMTPConnectTimeout if zero
	RouterID       string        // router_id, which prefixes every subject

	Log    logrus.FieldLogger // where alerts log, at Info as keepalived does; silent if nil
	Dialer Dialer             // a *net.Dialer if nil
	Now    func() time.Time   // time.Now if nil; gives the Date header

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// VRRPState mails an instance's transition as keepalived's
// vrrp_smtp_notifier does. States keepalived does not mail are ignored.
func (m *Mailer) VRRPState(instance string, s State) {
	var subject, body string
	switch s {
	case Master:
		subject, body = "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="
	case Backup:
		subject, body = "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case Fault:
		subject, body = "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case Stop:
		subject, body = "Stopping", "=> VRRP Instance stopping <="
	default:
		return
	}
	m.send(fmt.Sprintf("[%s] VRRP Instance %s - %s", m.RouterID, instance, subject), body)
}

// GroupState mails a sync group's transition as keepalived's
// vrrp_sync_smtp_notifier does, for the MASTER, BACKUP and FAULT states.
func (m *Mailer) GroupState(group string, s State) {
	switch s {
	case Master, Backup, Fault:
	default:
		return
	}
	m.send(fmt.Sprintf("[%s] VRRP Group %s - Entering %s state", m.RouterID, group, s),
		fmt.Sprintf("=> All VRRP group instances are now in %s state <=", s))
}

// RealServerState mails a real server's health change as keepalived's
// checkers do: body is the checker's own line, such as
// "=> TCP CHECK succeed on service <=" or "=> CHECK failed on service <=".
func (m *Mailer) RealServerState(rs netip.AddrPort, vs VirtualServer, up bool, body string) {
	m.send(fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s",
		m.RouterID, trio(rs, vs.Protocol), vs, upDown(up)), body)
}

// VirtualServerState mails a virtual server's quorum change as
// keepalived's do_vs_notifies does; body is keepalived's line, such as
// "=> Gained quorum 1+0=1 <= 2 <=".
func (m *Mailer) VirtualServerState(vs VirtualServer, up bool, body string) {
	m.send(fmt.Sprintf("[%s] Virtualserver %s - %s", m.RouterID, vs, upDown(up)), body)
}

// CheckerBody is the body keepalived 2.2.7's checker of kind checker
// (TCP_CHECK, HTTP_GET, ...) mails when it brings its real server up or
// takes it down, and false for a kind that sends no mail. HTTP_GET and
// SSL_GET say why they failed in one way for every failure ("=> CHECK
// failed on service : HTTP request failed <="); SMTP_CHECK gives its own
// reason, in CheckerFailureBody, and this is its line without one.
func CheckerBody(checker string, up bool) (string, bool) {
	if !up && (checker == "HTTP_GET" || checker == "SSL_GET") {
		return "=> CHECK failed on service : HTTP request failed <=", true
	}
	var kind string
	switch checker {
	case "TCP_CHECK":
		kind = "TCP CHECK"
	case "UDP_CHECK":
		kind = "UDP CHECK"
	case "PING_CHECK":
		kind = "ICMP CHECK"
	case "MISC_CHECK":
		kind = "MISC CHECK"
	case "DNS_CHECK":
		kind = "DNS_CHECK:"
	case "HTTP_GET", "SSL_GET", "SMTP_CHECK":
		kind = "CHECK"
	default:
		return "", false
	}
	verb := "failed"
	if up {
		verb = "succeed"
	}
	return "=> " + kind + " " + verb + " on service <=", true
}

// CheckerFailureBody is the body of the DOWN mail of a checker that says
// why it failed, as keepalived's SMTP_CHECK does: "=> CHECK failed on
// service : Bad HELO response from server [192.0.2.1]:25 <=".
func CheckerFailureBody(reason string) string {
	return "=> CHECK failed on service : " + reason + " <="
}

// Alert mails a free-form alert, such as keepalived's checker messages,
// with subject "[router_id] subject", or just subject without a router_id.
func (m *Mailer) Alert(subject, body string) {
	if m.RouterID != "" {
		subject = "[" + m.RouterID + "] " + subject
	}
	m.send(subject, body)
}

// Close stops accepting alerts and waits for those under way until ctx is
// done, when it abandons them.
func (m *Mailer) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.init()
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	defer m.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		m.cancel()
		<-done
		return fmt.Errorf("closing mailer for %s: %w", m.Server, ctx.Err())
	}
}

// init must be called with mu held.
func (m *Mailer) init() {
	if m.ctx == nil {
		m.ctx, m.cancel = context.WithCancel(context.Background())
	}
}

func (m *Mailer) send(subject, body string) {
	// As in keepalived, alerts need both recipients and a server.
	if len(m.To) == 0 || m.Server == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.init()
	if m.Log == nil {
		discard := logrus.New()
		discard.Out = io.Discard
		m.Log = discard
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.deliver(m.ctx, subject, body)
	}()
}

// A dialogueError is a failure keepalived logs with its own wording; the
// lines are logged in order.
type dialogueError []string

func (e dialogueError) Error() string { return strings.Join(e, " ") }

func (m *Mailer) deliver(ctx context.Context, subject, body string) {
	host := m.hostPair()
	if err := m.dialogue(ctx, host, subject, body); err != nil {
		var de dialogueError
		if errors.As(err, &de) {
			for _, line := range de {
				m.Log.Info(line)
			}
			return
		}
		m.Log.WithError(err).Infof("SMTP connection ERROR to %s.", host)
	}
}

func (m *Mailer) timeout() time.Duration {
	if m.ConnectTimeout > 0 {
		return m.ConnectTimeout
	}
	return DefaultSMTPConnectTimeout
}

func (m *Mailer) address() string {
	if _, _, err := net.SplitHostPort(m.Server); err == nil {
		return m.Server
	}
	return net.JoinHostPort(m.Server, strconv.Itoa(DefaultSMTPPort))
}

// hostPair names the server as keepalived's inet_sockaddrtopair does:
// "[10.0.0.1]:25".
func (m *Mailer) hostPair() string {
	ap, err := netip.ParseAddrPort(m.address())
	if err != nil {
		return m.address()
	}
	return "[" + ap.Addr().String() + "]:" + strconv.Itoa(int(ap.Port()))
}

func (m *Mailer) dialogue(ctx context.Context, host, subject, body string) error {
	var d Dialer = m.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	timeout := m.timeout()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	conn, err := d.DialContext(dctx, "tcp", m.address())
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return dialogueError{fmt.Sprintf("Timeout connecting SMTP server %s.", host)}
		}
		return dialogueError{fmt.Sprintf("SMTP connection ERROR to %s.", host)}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	m.Log.Infof("Remote SMTP server %s connected.", host)

	s := &session{conn: conn, r: bufio.NewReaderSize(conn, maxReplyLine), host: host, timeout: timeout}
	if err := s.expect(220, "Error connecting SMTP server %s. SMTP status code = %d"); err != nil {
		return err
	}
	helo := m.HeloName
	if helo == "" {
		helo, _ = os.Hostname()
	}
	steps := []step{
		{"HELO " + helo + "\r\n", 250, "HELO"},
		{"MAIL FROM:<" + m.From + ">\r\n", 250, "MAIL"},
	}
	for _, to := range m.To {
		steps = append(steps, step{"RCPT TO:<" + to + ">\r\n", 250, "RCPT"})
	}
	steps = append(steps,
		step{"DATA\r\n", 354, "DATA"},
		step{m.message(subject, body), 250, "DOT"})
	for _, st := range steps {
		if err := s.send(st.cmd); err != nil {
			return err
		}
		if err := s.expect(st.code, "Error processing "+st.name+" cmd on SMTP server %s. SMTP status code = %d"); err != nil {
			return err
		}
	}
	m.Log.Info("SMTP alert successfully sent.")
	// keepalived sends QUIT and closes without waiting for the reply.
	return s.send("QUIT\r\n")
}

// message is what keepalived's body_cmd writes after DATA, up to and
// including the terminating dot.
func (m *Mailer) message(subject, body string) string {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return "Date: " + now().Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n" +
		"From: " + m.From + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"X-Mailer: Keepalived\r\n" +
		"To: " + strings.Join(m.To, ", ") + "\r\n\r\n" +
		body + "\r\n" +
		"\r\n.\r\n"
}

// A step is one command of the dialogue, the reply code that lets it go
// on, and the name keepalived logs when another code comes back.
type step struct {
	cmd  string
	code int
	name string
}

type session struct {
	conn    net.Conn
	r       *bufio.Reader
	host    string
	timeout time.Duration
}

func (s *session) send(cmd string) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.conn.Write([]byte(cmd)); err != nil {
		if isTimeout(err) {
			return dialogueError{fmt.Sprintf("Timeout sending data to remote SMTP server %s.", s.host)}
		}
		return dialogueError{fmt.Sprintf("Can not send data to remote SMTP server %s.", s.host)}
	}
	return nil
}

// Bounds on a server's reply. maxReplyLine is keepalived's
// SMTP_BUFFER_MAX, the most it holds of a reply line; keepalived has no
// bound on the number of continuation lines, but a server that sends
// "250-" forever must not hold the mailer.
const (
	maxReplyLine  = 1024
	maxReplyLines = 100
)

// Errors of readReply for a reply beyond the bounds.
var (
	errReplyLineTooLong = errors.New("reply line too long")
	errReplyTooLong     = errors.New("too many reply lines")
)

// readReply reads one reply from r, whose buffer must hold maxReplyLine
// bytes: the continuation lines of a multi-line reply ("250-...") and its
// last line, whose code it returns (-1 when the line starts with no
// number). A line longer than maxReplyLine or more than maxReplyLines
// lines are errors; so is the end of input, as io.EOF or
// io.ErrUnexpectedEOF after part of a line.
func readReply(r *bufio.Reader) (int, error) {
	for range maxReplyLines {
		line, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return -1, errReplyLineTooLong
		case errors.Is(err, io.EOF) && len(line) > 0:
			return -1, io.ErrUnexpectedEOF
		case err != nil:
			return -1, err
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		code := -1
		if len(line) >= 3 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2]) {
			code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
		}
		return code, nil
	}
	return -1, errReplyTooLong
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// expect reads a reply, skipping the continuation lines of a multi-line
// one, and checks its code. The whole reply must come within the timeout:
// continuation lines do not extend it.
func (s *session) expect(code int, fail string) error {
	s.conn.SetReadDeadline(time.Now().Add(s.timeout))
	got, err := readReply(s.r)
	if err != nil {
		switch {
		case errors.Is(err, errReplyLineTooLong), errors.Is(err, errReplyTooLong):
			return dialogueError{fmt.Sprintf("Received buffer from remote SMTP server %s overflow our get read buffer length.", s.host)}
		case isTimeout(err):
			return dialogueError{fmt.Sprintf("Timeout reading data to remote SMTP server %s.", s.host)}
		case errors.Is(err, io.EOF):
			return dialogueError{fmt.Sprintf("Remote SMTP server %s has closed the connection.", s.host)}
		}
		return dialogueError{fmt.Sprintf("Error reading data from remote SMTP server %s.", s.host)}
	}
	if got == code {
		return nil
	}
	return dialogueError{
		fmt.Sprintf(fail, s.host, got),
		fmt.Sprintf("Can not read data from remote SMTP server %s.", s.host),
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
