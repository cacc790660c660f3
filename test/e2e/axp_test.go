package e2e

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// axp is an AXP API client of the simulator, as the proxy's own: what the
// tests read of AXP's state they read through the API itself.
func (s *sim) axp(t *testing.T) *engagement.Client {
	t.Helper()
	cfg := engagement.Config{BaseURL: s.URL, AccountID: axpAccount, ClientID: axpClientID, ClientSecret: axpClientSecret,
		Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler), APIVersion: apiVersion(t)}
	if cfg.APIVersion == engagement.APIV1 {
		cfg.AppKey = e2eAppKey
	}
	c, err := engagement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// messages lists every message of the engagement's first dialog, in AXP's
// order.
func (s *sim) messages(t *testing.T, c *engagement.Client, engagementID string) []engagement.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	eng, err := c.GetEngagement(ctx, engagementID)
	if err != nil || len(eng.Dialogs) == 0 {
		t.Fatalf("engagement %s: %+v %v", engagementID, eng, err)
	}
	d := eng.Dialogs[0]
	session := ""
	for _, cn := range d.Connections {
		if cn.ParticipantType == engagement.ParticipantCustomer && len(cn.SessionIDs) > 0 {
			session = cn.SessionIDs[0]
		}
	}
	var out []engagement.Message
	for m, err := range c.AllMessages(ctx, engagementID, session, d.DialogID) {
		if err != nil {
			t.Fatalf("messages of %s: %v", engagementID, err)
		}
		out = append(out, *m)
	}
	return out
}
