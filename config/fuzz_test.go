package config

import (
	"errors"
	"testing"
)

// FuzzDecodeFile feeds arbitrary files to the decoder, the manifest
// normalisation and the error-to-field mapping: none may panic, and every
// FieldError names a field.
func FuzzDecodeFile(f *testing.F) {
	for _, s := range []string{
		"listen: ':8080'\n",
		"connector_api:\n  apps:\n    - client_id: a\n      webhooks:\n        cqm.ExConversationChangeNotification: {endpoint: 'https://x', headers: [{header_name: a, header_value: b}]}\n        retry: {retention_time: 60}\n",
		"store:\n  cache_size: many\n",
		"connector_api: {apps: [{webhooks: {a: [1, {b: c}]}}]}\n",
		"a: &x {b: *x}\n",
		"- 1\n- 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var c Config
		err := decodeFile("fuzz.yaml", raw, &c)
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field == "" {
			t.Fatalf("a FieldError without a field: %v", err)
		}
	})
}
