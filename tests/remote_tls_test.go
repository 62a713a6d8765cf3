package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate and its key for the
// loopback names, usable for servers and clients, as NAME.crt and
// NAME.key under dir.
func selfSigned(t *testing.T, dir, name string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestRemoteTLS pushes and pulls through a server with a self-signed
// certificate that also requires client certificates.
func TestRemoteTLS(t *testing.T) {
	certs := t.TempDir()
	serverCert, serverKey := selfSigned(t, certs, "server")
	clientCert, clientKey := selfSigned(t, certs, "client")
	otherCert, otherKey := selfSigned(t, certs, "stranger")
	addr := bstServer(t, "--cache-dir", t.TempDir(), "--tls-cert", serverCert, "--tls-key", serverKey, "--client-ca", clientCert)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	url := "https://localhost:" + port

	dir := project(t, "")
	home := t.TempDir()
	mustBst(t, dir, home, "Built 1 elements", "build", "hello.bst")

	remote := func(extra string) string { return "url=" + url + ",server-cert=" + serverCert + extra }
	// The server's certificate is not one the system trusts.
	failBst(t, dir, home, `Failed to initialize remote https://localhost:[0-9]+: connecting: unavailable: .*certificate signed by unknown authority`,
		"artifact", "push", "--artifact-remote", url+"", "hello.bst")
	// Trusted, but without a client certificate.
	failBst(t, dir, home, `Failed to initialize remote https://localhost:[0-9]+: connecting: unavailable: .*(certificate required|bad certificate|handshake|broken pipe|reset by peer|EOF)`,
		"artifact", "push", "--artifact-remote", remote(""), "hello.bst")
	// A client certificate the server does not accept.
	failBst(t, dir, home, `Failed to initialize remote .*unavailable`,
		"artifact", "push", "--artifact-remote", remote(",client-cert="+otherCert+",client-key="+otherKey), "hello.bst")
	out := mustBst(t, dir, home, `SUCCESS pushed demo/hello/`,
		"artifact", "push", "--artifact-remote", remote(",client-cert="+clientCert+",client-key="+clientKey), "hello.bst")
	if strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("the key appears in the output")
	}

	// Another cache pulls with the user configuration's auth:, by IP
	// address this time.
	home2 := t.TempDir()
	conf := "artifacts:\n  servers:\n  - url: https://127.0.0.1:" + port + "\n    auth:\n      server-cert: " + serverCert +
		"\n      client-cert: " + clientCert + "\n      client-key: " + clientKey + "\n"
	if err := os.MkdirAll(filepath.Join(home2, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home2, "config", "buildstream.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	mustBst(t, dir, home2, `SUCCESS pulled demo/hello/`, "artifact", "pull", "hello.bst")
	co := filepath.Join(t.TempDir(), "co")
	mustBst(t, dir, home2, "", "artifact", "checkout", "hello.bst", "--directory", co)
	data, err := os.ReadFile(filepath.Join(co, "hello.txt"))
	if err != nil || string(data) != "hello from a remote\n" {
		t.Fatalf("checked out %q, %v", data, err)
	}
}
