package check

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Behaviours of rawHTTPServer, healthy and hostile.
const (
	modeOK       = "ok"       // 200 with body "hello"
	modeHang     = "hang"     // accepts and never answers
	modeSlow     = "slow"     // answers after two seconds
	modeStatus   = "status"   // 503
	modeBody     = "body"     // 200 with another body
	modeReset    = "reset"    // resets the connection mid-body
	modeInfinite = "infinite" // 200 with a body that never ends
)

const okBody = "hello"

// rawHTTPServer is an HTTP/1.0 server written on a bare listener so that it
// can misbehave in ways net/http will not. It records the last request.
type rawHTTPServer struct {
	t    *testing.T
	ln   net.Listener
	mode atomic.Value // string
	tls  *tls.Config

	mu      sync.Mutex
	lastReq []byte
	conns   []net.Conn
}

func startRawHTTP(t *testing.T, network, addr string, tlsConf *tls.Config) *rawHTTPServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &rawHTTPServer{t: t, ln: ln, tls: tlsConf}
	s.mode.Store(modeOK)
	done := make(chan struct{})
	go s.serve(done)
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	})
	return s
}

func (s *rawHTTPServer) addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

func (s *rawHTTPServer) setMode(m string) { s.mode.Store(m) }

func (s *rawHTTPServer) request() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastReq
}

func (s *rawHTTPServer) serve(done chan struct{}) {
	defer close(done)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		wg.Go(func() { s.handle(c) })
	}
}

func (s *rawHTTPServer) handle(raw net.Conn) {
	defer raw.Close()
	mode := s.mode.Load().(string)
	if mode == modeHang {
		io.Copy(io.Discard, raw)
		return
	}
	var c net.Conn = raw
	if s.tls != nil {
		c = tls.Server(raw, s.tls)
	}
	var req []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(req, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		req = append(req, buf[:n]...)
	}
	s.mu.Lock()
	s.lastReq = req
	s.mu.Unlock()
	switch mode {
	case modeOK:
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"+okBody)
	case modeSlow:
		time.Sleep(2 * time.Second)
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"+okBody)
	case modeStatus:
		io.WriteString(c, "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 5\r\n\r\n"+okBody)
	case modeBody:
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nHELLO")
	case modeReset:
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("x", 100))
		time.Sleep(20 * time.Millisecond)
		raw.(*net.TCPConn).SetLinger(0)
	case modeInfinite:
		io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	if tc, ok := c.(*tls.Conn); ok {
		tc.CloseWrite()
	}
}

// selfSigned makes a certificate for name and the pool that trusts it.
func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
