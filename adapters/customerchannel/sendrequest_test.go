package customerchannel

import (
	"context"
	"encoding/json"
	"testing"
	"time"

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
	// A write is what sees the sent record, which is not waited for (a
	// read may come before it): a retry under the id gets it.
	rec, won, err := store.BeginSend(context.Background(), "c-1", "cc:m-1", mapping.SendRecord{ProviderMessageID: "retry", State: mapping.SendPending}, time.Hour)
	if err != nil || won || rec.State != mapping.SendSent {
		t.Fatalf("send record under the client's id = %+v, won %v, %v; want the sent one", rec, won, err)
	}
}
