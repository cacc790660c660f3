package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/connector-proxy/connector-proxy/adapters/legacyv1"
)

// provisionLegacy builds the legacy /api/digital/v1 face when it is
// configured. Its tokens are signed with a key kept in the data directory,
// so that they survive a restart. The event pipeline's parts (webhook
// registrations, notifications, routing AXP's events of its conversations
// to legacyv1.Apply) are not wired yet: those endpoints answer 501.
func (p *Proxy) provisionLegacy() error {
	lc := p.cfg.LegacyV1
	if !lc.Enabled() {
		return nil
	}
	key, err := loadOrCreateKey(filepath.Join(p.cfg.DataDir, "legacyv1-token-key"))
	if err != nil {
		return fmt.Errorf("proxy: legacy token key: %w", err)
	}
	p.legacy, err = legacyv1.New(legacyv1.Config{
		Binding: legacyv1.Binding{
			AccountID:         p.cfg.AXP.AccountID,
			ChannelProviderID: p.cfg.AXP.ChannelProviderID,
			IdentifierKey:     lc.IdentifierKey,
		},
		Clients:               []legacyv1.Client{{ID: lc.ClientID, Secret: lc.ClientSecret}},
		TokenKey:              key,
		AllowInsecureWebhooks: lc.AllowInsecureWebhooks,
		Logger:                p.log.With("face", "legacyv1"),
	}, p.backend, p.store)
	if err != nil {
		return fmt.Errorf("proxy: legacy v1 face: %w", err)
	}
	return nil
}

// legacyPath reports whether a path is the legacy face's.
func legacyPath(path []byte) bool {
	return hasPrefix(path, legacyv1.PathAPI) || hasPrefix(path, legacyv1.PathToken)
}

// loadOrCreateKey keeps a 32-byte key (hex) across restarts.
func loadOrCreateKey(path string) ([]byte, error) {
	if raw, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s: want 64 hex digits", path)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
}
