package lvs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
)

// writeCert writes a self-signed certificate for name and its key, as
// PEM, to two files of dir, and returns their paths and the certificate.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestSSLGetKeyFile checks the SSL block's key: SSL_GET presents the
// SSL block's certificate with the private key of the key file, to a
// real server that requires a client certificate; without key the
// certificate file must hold the key too, and a certificate alone fails.
func TestSSLGetKeyFile(t *testing.T) {
	dir := t.TempDir()
	clientCrt, clientKey, clientCert := writeCert(t, dir, "client")
	_, _, serverCert := writeCert(t, dir, "server")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], clientCert.Certificate[0]) {
				return errors.New("not the client certificate")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), ErrorLog: nil}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	run := func(ssl string) error {
		cfg := parse(t, ssl+fmt.Sprintf(`
virtual_server 10.0.0.1 443 {
	protocol TCP
	real_server 127.0.0.1 %d {
		SSL_GET {
			url {
				path /
				status_code 200
			}
		}
	}
}
`, port))
		rs := &cfg.VirtualServers[0].RealServers[0]
		ck, err := checkEnv(cfg, nil, nil).checker(&rs.Checkers[0])
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return ck.(*check.HTTPGet).Check(ctx)
	}
	if err := run(fmt.Sprintf("SSL {\n\tcertificate %s\n\tkey %s\n}\n", clientCrt, clientKey)); err != nil {
		t.Errorf("certificate and key: %v", err)
	}
	if err := run(fmt.Sprintf("SSL {\n\tcertificate %s\n}\n", clientCrt)); err == nil {
		t.Error("a certificate without its key passed")
	}
}
