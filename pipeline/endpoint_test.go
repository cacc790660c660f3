package pipeline

import "testing"

func TestEndpointNamesATargetWithoutItsSecrets(t *testing.T) {
	tests := []struct{ target, want string }{
		{"https://hooks.example.com/lp/content", "https://hooks.example.com/lp/content"},
		{"https://user:s3cret@hooks.example.com/lp?token=s3cret", "https://hooks.example.com/lp"},
		{"http://127.0.0.1:8080/a%20b?x=1#frag", "http://127.0.0.1:8080/a%20b"},
		{"not a url", "(an unparsable URL)"},
		{"://", "(an unparsable URL)"},
	}
	for _, tc := range tests {
		if got := Endpoint(tc.target); got != tc.want {
			t.Errorf("Endpoint(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}
