package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFileName is the signing key's name inside the data directory.
const KeyFileName = "appjwt-rsa.pem"

// keyBits is the size of a generated key; 2048 is what RS256 issuers use.
const keyBits = 2048

// loadOrCreateKey reads the signing key from keyFile, or from the data
// directory where it is generated on first start so that tokens survive a
// restart.
func loadOrCreateKey(keyFile, dataDir string) (*rsa.PrivateKey, error) {
	if keyFile != "" {
		return readKey(keyFile)
	}
	if dataDir == "" {
		return nil, errors.New("auth: neither a key file nor a data directory is configured")
	}
	path := filepath.Join(dataDir, KeyFileName)
	k, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err = rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("auth: generate key: %w", err)
	}
	if err := writeKey(path, k); err != nil {
		return nil, err
	}
	return k, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read key: %w", err)
	}
	return ParseKey(b)
}

// ParseKey reads an RSA private key in PEM, PKCS#1 or PKCS#8.
func ParseKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("auth: key file holds no PEM block")
	}
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("auth: key is %T, RS256 needs RSA", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("auth: PEM block %q is not a private key", blk.Type)
}

// writeKey writes through a temporary file and a rename, so that a crash
// never leaves half a key that the next start would refuse.
func writeKey(path string, k *rsa.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("auth: key directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".appjwt-*.pem")
	if err != nil {
		return fmt.Errorf("auth: write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: write key: %w", err)
	}
	err = pem.Encode(tmp, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("auth: write key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("auth: write key: %w", err)
	}
	return nil
}

// keyID names a public key by its fingerprint, so a token signed by an
// older key is told apart from a forged one in logs.
func keyID(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub) // an RSA public key always marshals
	sum := sha256.Sum256(der)
	return "appjwt-" + hex.EncodeToString(sum[:8])
}
