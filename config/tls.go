package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// check names the TLS field at fault: a file that cannot be read, a
// certificate that does not parse, a key that does not match it.
func (t TLS) check() error {
	if !t.Enabled() {
		if t.PlainListen != "" {
			return &FieldError{Field: "tls.plain_listen", Msg: "needs tls.cert_file and tls.key_file (without TLS the public listener is plain http already)"}
		}
		return nil
	}
	if t.CertFile == "" {
		return &FieldError{Field: "tls.cert_file", Msg: "is required with tls.key_file"}
	}
	if t.KeyFile == "" {
		return &FieldError{Field: "tls.key_file", Msg: "is required with tls.cert_file"}
	}
	certPEM, err := os.ReadFile(t.CertFile)
	if err != nil {
		return &FieldError{Field: "tls.cert_file", Msg: err.Error()}
	}
	keyPEM, err := os.ReadFile(t.KeyFile)
	if err != nil {
		return &FieldError{Field: "tls.key_file", Msg: err.Error()}
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return &FieldError{Field: "tls.cert_file", Msg: fmt.Sprintf("%s holds no PEM CERTIFICATE block", t.CertFile)}
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		return &FieldError{Field: "tls.cert_file", Msg: err.Error()}
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return &FieldError{Field: "tls.key_file", Msg: fmt.Sprintf("does not match tls.cert_file: %v", err)}
	}
	return nil
}

// LoadTLS is the public listener's TLS configuration: the pair from the
// files, TLS 1.2 at least.
func (t TLS) LoadTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, &FieldError{Field: "tls.key_file", Msg: err.Error()}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
