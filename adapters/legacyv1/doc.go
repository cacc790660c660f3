// Package legacyv1 is connector-proxy's face for clients of AXP's legacy
// /api/digital/v1 engagement API.
package legacyv1
