package config

import (
	"errors"
	"testing"
	"time"
)

func TestReplicaSettings(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		wantID    string
		wantTTL   time.Duration
		wantField string
	}{
		{name: "defaults", wantTTL: 15 * time.Second},
		{name: "from the environment", env: []string{"CONNECTOR_PROXY_REPLICA_ID=proxy-0", "CONNECTOR_PROXY_CONNECTOR_API_LEASE_TTL=2s"},
			wantID: "proxy-0", wantTTL: 2 * time.Second},
		{name: "a lease too short to renew", env: []string{"CONNECTOR_PROXY_CONNECTOR_API_LEASE_TTL=10ms"}, wantField: "connector_api.lease_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("", tt.env)
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("error %v, want one naming %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ReplicaID != tt.wantID || c.ConnectorAPI.LeaseTTL != tt.wantTTL {
				t.Fatalf("replica_id %q lease_ttl %s, want %q %s", c.ReplicaID, c.ConnectorAPI.LeaseTTL, tt.wantID, tt.wantTTL)
			}
		})
	}
}
