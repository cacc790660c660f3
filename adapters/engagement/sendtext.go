package engagement

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
	"github.com/connector-proxy/connector-proxy/internal/jsonwrite"
)

// TextMessage is a customer's plain text, the message the faces send on
// every customer message: the fixed shape of SendMessage they use, passed
// by value so that sending one allocates nothing of its own.
type TextMessage struct {
	SessionID, DialogID string
	Text                string
	// SenderParticipantName is sent when not "".
	SenderParticipantName string
	// ProviderMessageID is sent as providerMessageId and correlationId:
	// how the message is found again when the answer is lost.
	ProviderMessageID string
}

// SentMessage is what a sender needs of AXP's answer to a send: the
// message's id (which the reference's example lacks: it may be "") and its
// index in the dialog.
type SentMessage struct {
	MessageID    string
	MessageIndex int
	// ReceivedAt is when AXP stored it (zero when the answer did not say).
	ReceivedAt time.Time
}

// SendText sends a customer's plain text (POST /engagements/{id}/messages
// → 202), the request SendMessage would send for it. Of the answer (the
// whole stored message, some 800 bytes) only messageId and messageIndex
// are read: the rest is checked to be JSON, not decoded.
func (c *Client) SendText(ctx context.Context, engagementID string, m TextMessage) (SentMessage, error) {
	x := pooledExchange{req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
	defer x.release()
	var ub [192]byte // the URL is made here, not in a string of its own
	u := append(ub[:0], c.channelBase...)
	u = append(u, "/engagements/"...)
	u = append(u, url.PathEscape(engagementID)...)
	u = append(u, "/messages"...)
	x.req.SetRequestURIBytes(u)
	c.prepare(&x, fasthttp.MethodPost)
	x.req.Header.SetContentType("application/json")
	// The request's own buffer takes the body: no copy of it is made.
	body := x.req.SwapBody(nil)
	x.req.SwapBody(appendTextMessage(body[:0], &m))
	const op = "send_message"
	if err := c.send(ctx, op, &x); err != nil {
		return SentMessage{}, err
	}
	sent, err := decodeSent(x.resp.Body())
	if err != nil {
		return SentMessage{}, fmt.Errorf("engagement: %s: decode answer: %w", op, err)
	}
	return sent, nil
}

// appendTextMessage appends m as JSON, byte for byte as encoding/json's
// Encoder writes the SendMessage it stands for.
func appendTextMessage(b []byte, m *TextMessage) []byte {
	b = append(b, `{"sessionId":`...)
	b = jsonwrite.String(b, m.SessionID)
	b = append(b, `,"dialogId":`...)
	b = jsonwrite.String(b, m.DialogID)
	b = append(b, `,"body":{"elementType":"text","elementText":{"text":`...)
	b = jsonwrite.String(b, m.Text)
	b = append(b, `,"textFormat":"`+TextPlain+`"}}`...)
	if m.SenderParticipantName != "" {
		b = append(b, `,"senderParticipantName":`...)
		b = jsonwrite.String(b, m.SenderParticipantName)
	}
	if m.ProviderMessageID != "" {
		b = append(b, `,"providerMessageId":`...)
		b = jsonwrite.String(b, m.ProviderMessageID)
		b = append(b, `,"correlationId":`...)
		b = jsonwrite.String(b, m.ProviderMessageID)
	}
	return append(b, "}\n"...)
}

// SendMessage is what SendText sends, for callers that hold a TextMessage
// and want the general call (and for the test that holds the two equal).
func (m TextMessage) SendMessage() *SendMessage {
	return &SendMessage{
		SessionID: m.SessionID,
		DialogID:  m.DialogID,
		Body: Body{
			ElementType: "text",
			ElementText: &ElementText{Text: m.Text, TextFormat: TextPlain},
		},
		SenderParticipantName: m.SenderParticipantName,
		ProviderMessageID:     m.ProviderMessageID,
		CorrelationID:         m.ProviderMessageID,
	}
}

// decodeSent reads messageId, messageIndex and receivedAt from a send's
// answer. The
// common answer, an object whose two members are a plain string and an
// integer, is read in one pass that only validates the rest; anything
// else (another shape, escapes, a member named in other case, which
// encoding/json would match) is decoded by encoding/json, so the outcome is
// always the one json.Unmarshal into a Message gives for those two fields.
func decodeSent(body []byte) (SentMessage, error) {
	if sent, ok := scanSent(body); ok {
		return sent, nil
	}
	if len(body) == 0 {
		return SentMessage{}, nil // a 202 without a body
	}
	var m struct {
		MessageID    string `json:"messageId"`
		MessageIndex int    `json:"messageIndex"`
		ReceivedAt   *Time  `json:"receivedAt"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return SentMessage{}, err
	}
	sent := SentMessage{MessageID: m.MessageID, MessageIndex: m.MessageIndex}
	if m.ReceivedAt != nil {
		sent.ReceivedAt = m.ReceivedAt.Time
	}
	return sent, nil
}

// scanSent is decodeSent's one pass; ok is false when the answer is not of
// the common shape.
func scanSent(b []byte) (sent SentMessage, ok bool) {
	i := jsonscan.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return sent, false
	}
	var haveID, haveIndex, haveAt bool
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return sent, jsonscan.SkipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return sent, false
		}
		end, ok := jsonscan.String(b, i)
		if !ok {
			return sent, false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return sent, false // may spell one of ours
		}
		i = jsonscan.SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return sent, false
		}
		i = jsonscan.SkipSpace(b, i+1)
		vend, ok := jsonscan.Value(b, i)
		if !ok {
			return sent, false
		}
		v := b[i:vend]
		switch {
		case string(key) == "messageId":
			if haveID || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
				return sent, false
			}
			haveID, sent.MessageID = true, string(v[1:len(v)-1])
		case string(key) == "messageIndex":
			n, err := strconv.Atoi(string(v))
			if haveIndex || err != nil {
				return sent, false
			}
			haveIndex, sent.MessageIndex = true, n
		case string(key) == "receivedAt":
			var t Time
			if haveAt || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || t.UnmarshalJSON(v) != nil {
				return sent, false
			}
			haveAt, sent.ReceivedAt = true, t.Time
		case bytes.EqualFold(key, []byte("messageId")), bytes.EqualFold(key, []byte("messageIndex")), bytes.EqualFold(key, []byte("receivedAt")):
			return sent, false
		}
		i = jsonscan.SkipSpace(b, vend)
		if i >= len(b) {
			return sent, false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case '}':
			return sent, jsonscan.SkipSpace(b, i+1) == len(b)
		default:
			return sent, false
		}
	}
}

// MessageIDs makes providerMessageIds: random (version 4) UUIDs, their
// randomness read from crypto/rand a block at a time, so that each costs
// no system call, and one allocation (its string) or none (Append). The
// zero value is ready; it is safe for concurrent use.
type MessageIDs struct {
	mu   sync.Mutex
	buf  [64 * 16]byte
	left int // unused bytes at the end of buf
}

// New returns a new id.
func (m *MessageIDs) New() string {
	var b [MessageIDLen]byte
	return string(m.Append(b[:0]))
}

// MessageIDLen is the length of an id MessageIDs makes: a UUID's text.
const MessageIDLen = 36

// Append appends a new id to b, in the form uuid.UUID.String gives.
func (m *MessageIDs) Append(b []byte) []byte {
	var u uuid.UUID
	m.mu.Lock()
	if m.left < len(u) {
		_, _ = rand.Read(m.buf[:]) // crypto/rand.Read does not fail (Go ≥ 1.24)
		m.left = len(m.buf)
	}
	copy(u[:], m.buf[len(m.buf)-m.left:])
	m.left -= len(u)
	m.mu.Unlock()
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var s [MessageIDLen]byte
	hex.Encode(s[0:8], u[0:4])
	hex.Encode(s[9:13], u[4:6])
	hex.Encode(s[14:18], u[6:8])
	hex.Encode(s[19:23], u[8:10])
	hex.Encode(s[24:], u[10:])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return append(b, s[:]...)
}
