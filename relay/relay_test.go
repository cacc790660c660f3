package relay

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

type recorder struct {
	got  []string
	fail error
}

func (r *recorder) Deliver(_ context.Context, conv *mapping.Conversation, ev *engagement.Event) error {
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, conv.ID+"/"+ev.DedupeKey())
	return nil
}

func message(dialog, id string) *engagement.Event {
	return &engagement.Event{EventType: engagement.EventMessages, Message: &engagement.Message{DialogID: dialog, MessageID: id}}
}

func setup(t *testing.T) (*mapping.Bolt, *recorder, *Relay, map[Outcome]int) {
	t.Helper()
	store, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.PutConversation(context.Background(), &mapping.Conversation{
		ID: "conv-1", DialogID: "dialog-1", State: mapping.StateOpen, CreatedAt: time.Unix(1, 0),
		Owner: mapping.ConsumerKey{Face: mapping.FaceConnectorAPI, Account: "a", Consumer: "c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	outcomes := map[Outcome]int{}
	r := New(store, map[mapping.Face]Face{mapping.FaceConnectorAPI: rec}, Options{
		Observe: func(_ string, o Outcome) { outcomes[o]++ },
	})
	return store, rec, r, outcomes
}

func TestRelayRoutesByDialogAndDropsWhatIsNotOurs(t *testing.T) {
	cases := []struct {
		name string
		ev   *engagement.Event
		want Outcome
		got  int
	}{
		{"a message of a known dialog is delivered", message("dialog-1", "m1"), Delivered, 1},
		{"a dialog of another connector is acknowledged and dropped", message("dialog-x", "m2"), Unrouted, 0},
		{"an event naming no dialog is dropped", &engagement.Event{EventType: "TYPING"}, Unrouted, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rec, r, outcomes := setup(t)
			if err := r.HandleEvent(context.Background(), tc.ev); err != nil {
				t.Fatal(err)
			}
			if outcomes[tc.want] != 1 || len(rec.got) != tc.got {
				t.Fatalf("outcomes %v, delivered %v", outcomes, rec.got)
			}
		})
	}
}

func TestRelayDropsEventsOfAFaceItDoesNotServe(t *testing.T) {
	store, rec, r, outcomes := setup(t)
	err := store.PutConversation(context.Background(), &mapping.Conversation{
		ID: "conv-2", DialogID: "dialog-2", State: mapping.StateOpen, CreatedAt: time.Unix(2, 0),
		Owner: mapping.ConsumerKey{Face: mapping.FaceCustomerChannel, Account: "a", Consumer: "c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.HandleEvent(context.Background(), message("dialog-2", "m1")); err != nil {
		t.Fatalf("err = %v, want the event acknowledged", err)
	}
	if len(rec.got) != 0 || outcomes[Unrouted] != 1 {
		t.Fatalf("delivered %v, outcomes %v", rec.got, outcomes)
	}
	// Not marked seen: a face added later still gets AXP's re-send.
	if first, err := store.MarkSeen(context.Background(), message("dialog-2", "m1").DedupeKey(), time.Hour); err != nil || !first {
		t.Fatalf("dedupe key marked for an unrouted event: first = %v, %v", first, err)
	}
}

func TestRelayDropsResentEvents(t *testing.T) {
	_, rec, r, outcomes := setup(t)
	for range 3 {
		if err := r.HandleEvent(context.Background(), message("dialog-1", "m1")); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.got) != 1 || outcomes[Duplicate] != 2 {
		t.Fatalf("delivered %v, outcomes %v", rec.got, outcomes)
	}
}

func TestRelayFailedDeliveryIsTakenAgainOnResend(t *testing.T) {
	_, rec, r, outcomes := setup(t)
	boom := errors.New("outbox full")
	rec.fail = boom
	if err := r.HandleEvent(context.Background(), message("dialog-1", "m1")); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the face's error so that AXP re-sends", err)
	}
	rec.fail = nil
	if err := r.HandleEvent(context.Background(), message("dialog-1", "m1")); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || outcomes[Failed] != 1 || outcomes[Delivered] != 1 {
		t.Fatalf("delivered %v, outcomes %v", rec.got, outcomes)
	}
}

func TestRelayStoreFailureIsAnErrorNotUnrouted(t *testing.T) {
	store, rec, r, outcomes := setup(t)
	store.Close()
	err := r.HandleEvent(context.Background(), message("dialog-1", "m1"))
	if !errors.Is(err, mapping.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable so that AXP re-sends", err)
	}
	if len(rec.got) != 0 || outcomes[Unrouted] != 0 || outcomes[Failed] != 1 {
		t.Fatalf("delivered %v, outcomes %v", rec.got, outcomes)
	}
}
