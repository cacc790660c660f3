package customerchannel

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/siotest"
)

// sioClient is the shared Go test client with the face's ack decoded.
type sioClient struct{ *siotest.Client }

func dialSIO(base string, auth any) (*sioClient, error) {
	c, err := siotest.Dial(base, auth)
	if err != nil {
		return nil, err
	}
	return &sioClient{c}, nil
}

// call emits with an ack and returns the server's Ack.
func (c *sioClient) call(name string, payload any) (Ack, error) {
	var a Ack
	args, err := c.Call(name, payload)
	if err != nil {
		return a, err
	}
	if len(args) == 0 {
		return a, errors.New("empty ack")
	}
	err = json.Unmarshal(args[0], &a)
	return a, err
}

// waitFor returns the first argument of the next event called name.
func (c *sioClient) waitFor(t testing.TB, name string, match func(json.RawMessage) bool) json.RawMessage {
	t.Helper()
	return c.WaitFor(t, name, match, 10*time.Second).Arg()
}

// activity matches a messageArrived ActivityMessage of a type.
func activity(typ string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m ActivityMessage
		return json.Unmarshal(b, &m) == nil && m.Type == TypeActivityMessage && m.ActivityType == typ
	}
}

// chatText matches a messageArrived ChatMessage with a text.
func chatText(text string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m ChatMessage
		return json.Unmarshal(b, &m) == nil && m.Type == TypeChatMessage && m.Text == text
	}
}
