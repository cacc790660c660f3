package mapping

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestOutboxItemsReadBackInBothForms(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		it   OutboxItem
	}{
		{"an item with every field", OutboxItem{Queue: "c1", Seq: 42, Face: FaceConnectorAPI, Target: "http://x/y", Kind: "ContentEvent", App: "app",
			Headers: map[string]string{"Content-Type": "application/json", "X-A": "b"}, Body: []byte(`{"kind":"notification"}`),
			EnqueuedAt: at, NextAttempt: at.Add(time.Second), Expires: at.Add(time.Hour), Attempts: 3, LastError: "503",
			Trace: "00-abc-def-01", DroppedAt: at.Add(time.Minute), DropReason: "expired", Replays: 1}},
		{"an item with only what a new one has", OutboxItem{Queue: "c2", Face: FaceCustomerChannel, Target: "http://x", Body: []byte("b"), EnqueuedAt: at, NextAttempt: at, Expires: at}},
		{"the zero item", OutboxItem{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeItem(encodeItem(nil, &tc.it))
			if err != nil || !reflect.DeepEqual(*got, tc.it) {
				t.Fatalf("binary round trip = %+v, %v; want %+v", got, err, tc.it)
			}
			enq, next, err := itemTimes(encodeItem(nil, &tc.it))
			if err != nil || !enq.Equal(tc.it.EnqueuedAt) || !next.Equal(tc.it.NextAttempt) {
				t.Fatalf("times = %s, %s, %v", enq, next, err)
			}
			// Files written before the binary form hold JSON.
			raw, _ := json.Marshal(&tc.it)
			old, err := decodeItem(raw)
			if err != nil || old.Queue != tc.it.Queue || old.Seq != tc.it.Seq || !old.NextAttempt.Equal(tc.it.NextAttempt) || string(old.Body) != string(tc.it.Body) {
				t.Fatalf("JSON item = %+v, %v", old, err)
			}
		})
	}
	for _, bad := range [][]byte{nil, {itemV1}, {7, 1, 2}, append(encodeItem(nil, &tests[0].it), 0)} {
		if _, err := decodeItem(bad); err == nil {
			t.Errorf("decodeItem(%x) took it", bad)
		}
	}
}
