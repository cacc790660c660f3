package customerchannel

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/connector-proxy/connector-proxy/mapping"
)

func TestAChatMessageIDReadInOnePassKeysItsSendRecord(t *testing.T) {
	f, store := newUnitFace(t, &fakeBackend{})
	openConv(t, store, "c-1", "web", "")
	s := &fakeSocket{id: "s-1"}
	f.hub.join(s, "c-1")
	payload := json.RawMessage(`{"type":"ChatMessage","conversationId":"c-1","id":"m-1","text":"hello"}`)
	var got Ack
	f.handleEvent(context.Background(), s, EventSendMessage, []json.RawMessage{payload}, func(a ...any) error {
		got = a[0].(Ack)
		return nil
	})
	if got.Status != "ok" {
		t.Fatalf("ack %+v", got)
	}
	rec, ok, err := store.Send(context.Background(), "c-1", "cc:m-1")
	if err != nil || !ok || rec.State != mapping.SendSent {
		t.Fatalf("send record under the client's id = %+v, %v, %v", rec, ok, err)
	}
}
