package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/legacyv1"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// provisionLegacy builds the legacy /api/digital/v1 face when it is
// configured, and registers it with the event pipeline (its Apply and its
// webhook Sender) under its owner face. Its tokens are signed with a key
// kept in the data directory, so that they survive a restart. Its webhook
// registrations are read before anything is served, then again every few
// seconds for those other replicas take, until cleanup.
func (p *Proxy) provisionLegacy(faces map[mapping.Face]pipeline.Face, senders map[mapping.Face]pipeline.Sender) error {
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
		ReplicaID:             p.holder,
		SettleTimeout:         2 * p.cfg.AXP.Timeout,
		UnconfirmedWindow:     p.cfg.AXP.UnconfirmedWindow,
		RequestTimeout:        max(legacyv1.DefaultRequestTimeout, 3*p.cfg.AXP.Timeout+time.Second),
		Changed:               func(conv string) { p.pipe.Poke(conv) },
		Logger:                p.log.With("face", "legacyv1"),
		Tracing:               p.tel,
	}, p.backend, p.store)
	if err != nil {
		return fmt.Errorf("proxy: legacy v1 face: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.legacy.LoadWebhooks(ctx); err != nil {
		return fmt.Errorf("proxy: legacy v1 face: %w", err)
	}
	watch, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.legacy.WatchWebhooks(watch) }()
	p.closers = append(p.closers, func() error { stop(); <-done; return nil })
	faces[legacyv1.OwnerFace] = p.legacy
	senders[legacyv1.OwnerFace] = p.legacy
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
