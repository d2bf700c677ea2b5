package check

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/check/pcre"
)

// HTTPProtocol is the http_protocol keyword of HTTP_GET and SSL_GET.
type HTTPProtocol int

const (
	// HTTP10 sends an HTTP/1.0 request (the default).
	HTTP10 HTTPProtocol = iota
	// HTTP10C sends an HTTP/1.0 request with "Connection: close".
	HTTP10C
	// HTTP11 sends an HTTP/1.1 request with "Connection: close".
	HTTP11
)

// ParseHTTPProtocol parses an http_protocol value: 1.0, 1.0C (or 1.0c) or 1.1.
func ParseHTTPProtocol(s string) (HTTPProtocol, error) {
	switch s {
	case "1.0":
		return HTTP10, nil
	case "1.0C", "1.0c":
		return HTTP10C, nil
	case "1.1":
		return HTTP11, nil
	}
	return 0, fmt.Errorf("invalid http_protocol version %s", s)
}

func (p HTTPProtocol) String() string {
	switch p {
	case HTTP10C:
		return "1.0C"
	case HTTP11:
		return "1.1"
	}
	return "1.0"
}

// StatusRange is one item of a status_code list: a single code has Min ==
// Max.
type StatusRange struct {
	Min, Max int
}

// URL is one url block of HTTP_GET or SSL_GET.
type URL struct {
	Path string
	// Digest is the expected MD5 of the body in hex, as genhash prints it;
	// empty means no digest check.
	Digest string
	// StatusCodes lists the accepted codes; empty means 200-299.
	StatusCodes []StatusRange
	// VirtualHost overrides the checker's virtualhost for this url.
	VirtualHost string
	// Regex must match the response (or must not, with RegexNoMatch).
	// Like keepalived's, it is matched against the headers and body
	// together when the body's first bytes arrive with the end of the
	// headers, as they mostly do, and against the body alone otherwise.
	Regex        *pcre.Regexp
	RegexNoMatch bool
	// RegexMinOffset and RegexMaxOffset (regex_min_offset and
	// regex_max_offset) bound where in that subject a match may start, in
	// bytes; a zero RegexMaxOffset bounds nothing.
	RegexMinOffset, RegexMaxOffset int
}

func (u *URL) statusOK(code int) bool {
	if len(u.StatusCodes) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range u.StatusCodes {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// DefaultMaxBody is the default cap on the body read for a digest or regex.
const DefaultMaxBody = 1 << 20

// maxHeader bounds the status line and headers; keepalived gives up on
// headers that do not fit its 4 KiB buffer, this allows more.
const maxHeader = 16 << 10

// HTTPGet is keepalived's HTTP_GET, or SSL_GET when TLS is set. The server
// is up when every url passes: the status code is accepted, and the body has
// the digest and matches the regex when those are given.
type HTTPGet struct {
	Dialer Dialer
	// TLS selects SSL_GET.
	TLS bool
	// CA, when set, makes SSL_GET verify the server's certificate chain
	// against it (the SSL block's ca). As with keepalived's OpenSSL
	// context the host name is not verified. Without CA nothing is
	// verified.
	CA *x509.CertPool
	// Certificates are presented to servers asking for a client
	// certificate (the SSL block's certificate and key).
	Certificates []tls.Certificate
	// EnableSNI sends the virtual host as TLS server name.
	EnableSNI bool
	// VirtualHost is the Host header when the url has none; the caller
	// resolves keepalived's fallbacks (checker, then real server, then
	// virtual server). Empty means the connect address and port.
	VirtualHost string
	Protocol    HTTPProtocol
	URLs        []URL
	// FastRecovery is fast_recovery: while the server is down and its
	// failed url passes again, and before the first verdict, the
	// Scheduler checks the next url at once rather than delay_loop
	// later.
	FastRecovery bool
	// MaxBody caps the bytes of body read when a url needs the body (a
	// digest or a regex); a longer body fails the check. Zero means
	// DefaultMaxBody. Without digest or regex only the headers are read.
	MaxBody int64

	requests [][]byte // of each url, for the poller
}

// Check requests every url in turn, each on a new connection, and fails on
// the first that does not pass. ctx's deadline bounds all of them together.
func (h *HTTPGet) Check(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	return h.checkBy(ctx, deadline)
}

// checkBy is Check with its timeout given as a deadline of its own, ctx
// only cancelling it, which spares the Scheduler a context and timer per
// attempt.
func (h *HTTPGet) checkBy(ctx context.Context, deadline time.Time) error {
	if len(h.URLs) == 0 {
		return errors.New("HTTP/SSL_GET checker has no urls specified")
	}
	for i := range h.URLs {
		if err := h.checkURL(ctx, deadline, &h.URLs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (h *HTTPGet) checkURL(ctx context.Context, deadline time.Time, u *URL) error {
	resp, err := h.fetch(ctx, deadline, u, u.need())
	if err != nil {
		return err
	}
	return h.verify(u, resp)
}

// verify checks a url's response against its status codes, digest and
// regex.
func (h *HTTPGet) verify(u *URL, resp *response) error {
	if !u.statusOK(resp.status) {
		return fmt.Errorf("HTTP status code error to %s url(%s): status %d", h.Dialer.Addr, u.Path, resp.status)
	}
	if u.Digest != "" {
		if got := hex.EncodeToString(resp.digest[:]); !strings.EqualFold(got, u.Digest) {
			return fmt.Errorf("MD5 digest error to %s url(%s): got %s, want %s", h.Dialer.Addr, u.Path, got, u.Digest)
		}
	}
	if u.Regex != nil {
		matched, err := u.matchRegex(resp)
		if matched == u.RegexNoMatch {
			if err != nil {
				return fmt.Errorf("regex match failed on %s url(%s): %w", h.Dialer.Addr, u.Path, err)
			}
			return fmt.Errorf("regex match failed on %s url(%s)", h.Dialer.Addr, u.Path)
		}
	}
	return nil
}

// matchRegex matches u's regex in resp within u's offsets. A match that
// could not run to its end counts as none, as in keepalived, and err says
// why.
func (u *URL) matchRegex(resp *response) (matched bool, err error) {
	subject := resp.body
	if resp.bodyWithHeader {
		subject = append(resp.header, resp.body...)
	}
	maxOffset := -1
	if u.RegexMaxOffset > 0 {
		maxOffset = u.RegexMaxOffset
	}
	return u.Regex.Match(subject, u.RegexMinOffset, maxOffset)
}

// inline reports whether start can run h: SSL_GET and link-local
// addresses run on a worker.
func (h *HTTPGet) inline() bool {
	return !h.TLS && h.Dialer.Addr.Addr().Zone() == "" && len(h.URLs) > 0
}

// start runs the check on p, as keepalived's checker does, without a
// goroutine of its own.
func (h *HTTPGet) start(p *poller, ctx canceller, deadline time.Time, done func(error)) {
	h.prepare()
	p.startHTTP(ctx, h, 0, len(h.URLs)-1, deadline, done)
}

// prepare builds the requests the poller sends. They never change: they
// are built once, on the Scheduler's goroutine, before the poller reads
// them.
func (h *HTTPGet) prepare() {
	if h.requests == nil {
		h.requests = make([][]byte, len(h.URLs))
		for i := range h.URLs {
			h.requests[i] = h.request(&h.URLs[i])
		}
	}
}

// The Scheduler checks one url per attempt, as keepalived's HTTP_GET
// does: steps, checkStepBy and startStep are Check, checkBy and start
// for url i alone.

func (h *HTTPGet) steps() int { return len(h.URLs) }

func (h *HTTPGet) checkStepBy(ctx context.Context, deadline time.Time, i int) error {
	return h.checkURL(ctx, deadline, &h.URLs[i])
}

func (h *HTTPGet) startStep(p *poller, ctx canceller, deadline time.Time, i int, done func(error)) {
	h.prepare()
	p.startHTTP(ctx, h, i, i, deadline, done)
}

// successMessage words a url that passed as keepalived logs it while
// the checker is down: by the last of its tests.
func (u *URL) successMessage(server string) string {
	what := "HTTP status code"
	switch {
	case u.Regex != nil:
		what = "Regex match"
	case u.Digest != "":
		what = "MD5 digest"
	}
	return what + " success to " + server + " url(" + u.Path + ")"
}

// need is what a url's check needs of the body.
func (u *URL) need() bodyNeed {
	switch {
	case u.Regex != nil:
		return bodyKeep
	case u.Digest != "":
		return bodyDigest
	}
	return bodySkip
}

// maxBody is MaxBody or its default.
func (h *HTTPGet) maxBody() int64 {
	if h.MaxBody <= 0 {
		return DefaultMaxBody
	}
	return h.MaxBody
}

func (h *HTTPGet) virtualHost(u *URL) string {
	if u.VirtualHost != "" {
		return u.VirtualHost
	}
	return h.VirtualHost
}

// request builds the GET exactly as keepalived's request template does.
func (h *HTTPGet) request(u *URL) []byte {
	host := h.virtualHost(u)
	if host == "" {
		// RFC 2732 brackets for a literal IPv6 address.
		host = h.Dialer.Addr.String()
	}
	version, conn := " HTTP/1.0\r\n", ""
	switch h.Protocol {
	case HTTP10C:
		conn = "Connection: close\r\n"
	case HTTP11:
		version, conn = " HTTP/1.1\r\n", "Connection: close\r\n"
	}
	const agent = "User-Agent: KeepAliveClient\r\n"
	b := make([]byte, 0, len("GET ")+len(u.Path)+len(version)+len(agent)+len(conn)+len("Host: ")+len(host)+4)
	b = append(b, "GET "...)
	b = append(b, u.Path...)
	b = append(b, version...)
	b = append(b, agent...)
	b = append(b, conn...)
	b = append(b, "Host: "...)
	b = append(b, host...)
	return append(b, "\r\n\r\n"...)
}

func (h *HTTPGet) tlsConfig(u *URL) *tls.Config {
	cfg := &tls.Config{
		// Verification, when asked for, is done below against h.CA
		// without a host name, as keepalived's OpenSSL context does.
		InsecureSkipVerify: true,
		Certificates:       h.Certificates,
	}
	if h.EnableSNI {
		cfg.ServerName = h.virtualHost(u)
	}
	if h.CA != nil {
		roots := h.CA
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	return cfg
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("parsing server certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}

// response is what one GET returned.
type response struct {
	status int
	header []byte
	body   []byte
	// bodyWithHeader tells that the body's first bytes came in the read
	// that ended the headers.
	bodyWithHeader bool
	digest         [md5.Size]byte
}

func (h *HTTPGet) fetch(ctx context.Context, deadline time.Time, u *URL, need bodyNeed) (*response, error) {
	start := time.Now()
	raw, stop, err := h.Dialer.dialTCP(ctx, deadline)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	defer stop()

	conn := raw
	if h.TLS {
		tc := tls.Client(raw, h.tlsConfig(u))
		// Handshake, not HandshakeContext: the connection's deadline
		// and its binding to ctx already end it, without the goroutine
		// HandshakeContext starts to watch ctx.
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("SSL handshake with %s: %w", h.Dialer.Addr, deadlineErr(ctx, deadline, err))
		}
		conn = tc
	}
	if _, err := conn.Write(h.request(u)); err != nil {
		return nil, fmt.Errorf("cannot send get request to %s: %w", h.Dialer.Addr, deadlineErr(ctx, deadline, err))
	}

	resp, err := readResponse(conn, need, h.maxBody())
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s after %v: %w", u.Path, h.Dialer.Addr, time.Since(start).Round(time.Millisecond), deadlineErr(ctx, deadline, err))
	}
	return resp, nil
}

// bodyNeed says what readResponse does with the body.
type bodyNeed int

const (
	bodySkip   bodyNeed = iota // headers only
	bodyDigest                 // MD5 of the body
	bodyKeep                   // MD5 and the bytes, for a regex or genhash
)

// readResponse reads the status line and headers, then, as need says, the
// body up to Content-Length or end of stream. Like keepalived it neither
// decodes chunked bodies nor otherwise interprets them: the digest is over
// the bytes as sent.
func readResponse(r io.Reader, need bodyNeed, maxBody int64) (*response, error) {
	var rr respReader
	rr.reset(need, maxBody)
	for {
		n, err := r.Read(rr.space())
		done, perr := rr.advance(n, errors.Is(err, io.EOF))
		if perr != nil {
			return nil, perr
		}
		if done {
			return &rr.resp, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
}

// A respReader parses a response as it arrives, for readResponse and for
// the poller alike: the bytes are read into space, then advance takes
// them.
type respReader struct {
	need    bodyNeed
	maxBody int64
	// buf holds the headers as they arrive; once they are complete,
	// what follows them in buf serves as the body's read buffer.
	buf     []byte
	end     int   // end of the headers in buf; 0 until they are complete
	limit   int64 // body bytes wanted: Content-Length, or one past maxBody
	got     int64 // body bytes taken
	scratch []byte
	hash    hash.Hash
	kept    bytes.Buffer
	resp    response
}

// reset readies rr for a new response, keeping its buffers: most
// responses' headers fit the first 4 KiB.
func (rr *respReader) reset(need bodyNeed, maxBody int64) {
	if rr.buf == nil {
		rr.buf = make([]byte, 0, 4096)
	}
	rr.need, rr.maxBody = need, maxBody
	rr.buf, rr.end, rr.limit, rr.got = rr.buf[:0], 0, 0, 0
	rr.scratch = nil
	rr.kept = bytes.Buffer{}
	rr.resp = response{}
}

// space returns where the next read goes: never empty while a response is
// incomplete.
func (rr *respReader) space() []byte {
	if rr.end == 0 {
		if len(rr.buf) == cap(rr.buf) {
			rr.buf = slices.Grow(rr.buf, len(rr.buf))
		}
		return rr.buf[len(rr.buf):min(cap(rr.buf), maxHeader)]
	}
	// Reads never go past the body wanted, as an io.LimitReader's.
	return rr.scratch[:min(int64(len(rr.scratch)), rr.limit-rr.got)]
}

// advance takes n bytes read into space, and the end of the stream after
// them when eof is set. done reports a complete response in rr.resp.
func (rr *respReader) advance(n int, eof bool) (done bool, err error) {
	if rr.end == 0 {
		// The terminator may straddle this read and the last one.
		from := max(0, len(rr.buf)-3)
		rr.buf = rr.buf[:len(rr.buf)+n]
		i := bytes.Index(rr.buf[from:], []byte("\r\n\r\n"))
		if i < 0 {
			switch {
			case eof && len(rr.buf) == 0:
				return false, errors.New("no data received")
			case eof:
				return false, errors.New("connection closed within the headers")
			case len(rr.buf) >= maxHeader:
				return false, fmt.Errorf("no end of headers in the first %d bytes", maxHeader)
			}
			return false, nil
		}
		return rr.headers(from+i+4, eof)
	}
	rr.take(rr.scratch[:n])
	if rr.got >= rr.limit || eof {
		return true, rr.finish()
	}
	return false, nil
}

// headers parses the complete headers, which end at end in rr.buf, and
// takes the body bytes that came with them.
func (rr *respReader) headers(end int, eof bool) (bool, error) {
	rr.end = end
	rr.resp.header = rr.buf[:end:end]
	status, err := parseStatus(rr.resp.header)
	if err != nil {
		return false, err
	}
	rr.resp.status = status
	if rr.need == bodySkip {
		return true, nil
	}
	// Read one byte past the cap to tell a body of exactly maxBody
	// bytes from a longer one.
	rr.limit = rr.maxBody + 1
	if n := contentLength(rr.resp.header); n >= 0 && n < rr.limit {
		rr.limit = n
	}
	if rr.hash == nil {
		rr.hash = md5.New()
	} else {
		rr.hash.Reset()
	}
	first := rr.buf[end:]
	rr.resp.bodyWithHeader = len(first) > 0
	if int64(len(first)) > rr.limit {
		first = first[:rr.limit]
	}
	rr.take(first)
	if rr.got >= rr.limit || eof {
		return true, rr.finish()
	}
	// What follows the headers in buf has been taken: the rest of buf
	// serves as the read buffer instead of a new one.
	rr.scratch = rr.buf[end:cap(rr.buf)]
	if len(rr.scratch) < 512 {
		rr.scratch = make([]byte, 4096)
	}
	return false, nil
}

func (rr *respReader) take(p []byte) {
	rr.hash.Write(p)
	if rr.need == bodyKeep {
		rr.kept.Write(p)
	}
	rr.got += int64(len(p))
}

func (rr *respReader) finish() error {
	if rr.got > rr.maxBody {
		return fmt.Errorf("body longer than %d bytes", rr.maxBody)
	}
	rr.hash.Sum(rr.resp.digest[:0])
	rr.resp.body = rr.kept.Bytes()
	return nil
}

// parseStatus reads the code of a status line such as "HTTP/1.1 200 OK":
// the three digits after the first space.
func parseStatus(header []byte) (int, error) {
	line, _, _ := bytes.Cut(header, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return 0, fmt.Errorf("malformed status line %q", truncate(line, 64))
	}
	_, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(rest) < 3 {
		return 0, fmt.Errorf("malformed status line %q", truncate(line, 64))
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("malformed status line %q", truncate(line, 64))
		}
		code = code*10 + int(c-'0')
	}
	return code, nil
}

// contentLength returns the Content-Length header's value, or -1.
func contentLength(header []byte) int64 {
	for _, line := range bytes.Split(header, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(name), "Content-Length") {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		if err != nil || n < 0 {
			return -1
		}
		return n
	}
	return -1
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// bindDeadline makes conn's I/O end at ctx's deadline or cancellation. The
// returned func releases the binding.
func bindDeadline(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	s := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
	})
	return func() { s() }
}

// ctxErr prefers the context's error to the I/O error it caused, so that a
// check ended by its deadline says so.
func ctxErr(ctx context.Context, err error) error {
	deadline, _ := ctx.Deadline()
	return deadlineErr(ctx, deadline, err)
}

// deadlineErr is ctxErr for I/O under a deadline (none if zero) that
// ctx does not carry.
func deadlineErr(ctx context.Context, deadline time.Time, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	// The connection's deadline can expire a moment before a context
	// with the same deadline notices.
	if !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
