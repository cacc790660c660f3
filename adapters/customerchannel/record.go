package customerchannel

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/jsonwrite"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// The message record: the proxy sees every message of a conversation pass
// (the agents' as AXP's MESSAGES events, the customer's as it sends them),
// so it keeps them in the conversation's own log, and conversationInfo
// (every join and rejoin) and the transcript read them from there instead
// of listing the dialog's messages at AXP, which AXP asks clients not to
// do in a loop and documents for an active dialog only.
//
//   - An agent's message is appended by Apply, in the commit that applies
//     its event: a re-sent event is deduplicated by the pipeline and leaves
//     no second record. Whispers are recorded without their text, to keep
//     the count of indexes.
//   - The customer's message is appended once AXP has taken it (the proxy
//     subscribes to the contact center's messages only, so no event brings
//     it back), in its own commit on the conversation. If that commit
//     fails, the conversation's record is marked incomplete.
//   - A send whose outcome AXP left unknown is recorded as unsure: the
//     record is not served until that message is recorded (a retry of the
//     send that finds it at AXP records it), since a missing last message
//     leaves no gap to be seen.
//   - The conversation's end is recorded too (it also sets the log's
//     expiry on Redis: a log lives as long as its conversation's retention).
//
// The record is used only while it can be trusted: the conversation was
// made with it (attrRecord; conversations from before it have none), it
// holds fewer than mapping.MaxLogRecords records (past that the oldest
// went), and its messageIndexes, which AXP counts from 1 per dialog for
// the customer's and the contact center's messages alike, run from 1
// without a gap (a gap is a message the proxy never saw: a dropped webhook,
// another device of the customer's). Otherwise AXP's list is read, as
// before. Records are kept in arrival order and served in messageIndex
// order; one message recorded twice (by its send and by its event, when
// customer messages are subscribed too) is served once.

// logMessages is the log the record is kept in.
const logMessages = "cc.messages"

// attrRecord marks a conversation whose record holds everything since it
// was made.
const (
	attrRecord     = "cc.record"
	recordComplete = "complete"
)

// Kinds of record.
const (
	recordMessage = ""    // a message (the field is left out)
	recordEnd     = "end" // the conversation ended
	// recordUnsure is a send AXP did not confirm (ProviderMessageID names
	// it): it may have landed.
	recordUnsure = "unsure"
)

// recordedMessage is one record of the log: what conversationInfo and the
// transcript need of a message, in short keys (a conversation may hold
// thousands).
type recordedMessage struct {
	Kind              string               `json:"k,omitempty"`
	Index             int                  `json:"i,omitempty"`
	ID                string               `json:"id,omitempty"`
	ProviderMessageID string               `json:"pm,omitempty"`
	SenderID          string               `json:"sid,omitempty"`
	SenderName        string               `json:"sn,omitempty"`
	SenderType        string               `json:"st,omitempty"`
	Text              string               `json:"t,omitempty"`
	Attachments       []recordedAttachment `json:"a,omitempty"`
	At                time.Time            `json:"at,omitzero"`
	// Whisper is an agents' note: kept for its index, without its text.
	Whisper bool `json:"w,omitempty"`
	// Reason is an end's.
	Reason string `json:"r,omitempty"`
}

type recordedAttachment struct {
	Type  string `json:"t,omitempty"`
	Name  string `json:"n,omitempty"`
	URL   string `json:"u,omitempty"`
	Thumb string `json:"th,omitempty"`
}

// recordOf is the record of an AXP message; at is when it is known to
// have been sent when AXP's receivedAt is missing.
func recordOf(m *engagement.Message, at time.Time) mapping.LogRecord {
	r := recordedMessage{
		Index: m.MessageIndex, ID: m.MessageID, ProviderMessageID: m.ProviderMessageID,
		SenderID: m.SenderParticipantID, SenderName: m.SenderParticipantName, SenderType: m.SenderParticipantType, At: at,
	}
	switch {
	case m.ReceivedAt != nil && !m.ReceivedAt.IsZero():
		r.At = m.ReceivedAt.Time
	case m.LastUpdatedAt != nil && !m.LastUpdatedAt.IsZero():
		r.At = m.LastUpdatedAt.Time
	}
	if whisper(m) {
		r.Whisper, r.SenderName = true, ""
	} else {
		r.Text = m.Text()
		if r.Text == "" {
			r.Text = m.FallbackText
		}
		for _, a := range m.Attachments {
			r.Attachments = append(r.Attachments, recordedAttachment{Type: a.ContentType, Name: a.Name, URL: a.URL, Thumb: a.ThumbnailURL})
		}
	}
	return encodeRecord(r)
}

// endRecord is the record of the conversation's end.
func endRecord(reason string, now time.Time) mapping.LogRecord {
	return encodeRecord(recordedMessage{Kind: recordEnd, Reason: reason, At: now})
}

func encodeRecord(r recordedMessage) mapping.LogRecord {
	b, ok := appendRecord(make([]byte, 0, 320+len(r.Text)), &r)
	if !ok {
		b, _ = json.Marshal(r) // a time JSON cannot hold: nil, as it always was
	}
	return mapping.LogRecord{Log: logMessages, Data: b}
}

// appendRecord appends r as JSON, byte for byte as json.Marshal writes it
// (a record is made for every message, and Marshal's reflection was 3% of
// a sendMessage's CPU). It answers false, for Marshal to decide, when r's
// time is one Marshal refuses (a year past 9999, an offset of a day).
func appendRecord(b []byte, r *recordedMessage) ([]byte, bool) {
	b = append(b, '{')
	b = recordString(b, "k", r.Kind)
	if r.Index != 0 {
		b = strconv.AppendInt(recordKey(b, "i"), int64(r.Index), 10)
	}
	b = recordString(b, "id", r.ID)
	b = recordString(b, "pm", r.ProviderMessageID)
	b = recordString(b, "sid", r.SenderID)
	b = recordString(b, "sn", r.SenderName)
	b = recordString(b, "st", r.SenderType)
	b = recordString(b, "t", r.Text)
	if len(r.Attachments) > 0 {
		b = append(recordKey(b, "a"), '[')
		for i, a := range r.Attachments {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = recordString(b, "t", a.Type)
			b = recordString(b, "n", a.Name)
			b = recordString(b, "u", a.URL)
			b = recordString(b, "th", a.Thumb)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if !r.At.IsZero() {
		var ok bool
		if b, ok = jsonwrite.Time(recordKey(b, "at"), r.At); !ok {
			return b, false
		}
	}
	if r.Whisper {
		b = append(recordKey(b, "w"), "true"...)
	}
	b = recordString(b, "r", r.Reason)
	return append(b, '}'), true
}

// recordKey appends a member's name, after a comma unless it is the first.
func recordKey(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(append(append(b, '"'), name...), '"', ':')
	return b
}

// recordString appends a string member, left out when empty (omitempty).
func recordString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return jsonwrite.String(recordKey(b, name), v)
}

// message turns a record back into the AXP message it was made of, so that
// the record and AXP's list are drawn by the same code.
func (r *recordedMessage) message() *engagement.Message {
	m := &engagement.Message{
		MessageID: r.ID, ProviderMessageID: r.ProviderMessageID, MessageIndex: r.Index,
		SenderParticipantID: r.SenderID, SenderParticipantName: r.SenderName, SenderParticipantType: r.SenderType,
		Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: r.Text, TextFormat: engagement.TextPlain}},
	}
	if !r.At.IsZero() {
		at := engagement.NewTime(r.At)
		m.ReceivedAt = &at
	}
	if r.Whisper {
		m.CustomData = map[string]string{"whisper": "true"}
	}
	for _, a := range r.Attachments {
		m.Attachments = append(m.Attachments, engagement.Attachment{ContentType: a.Type, Name: a.Name, URL: a.URL, ThumbnailURL: a.Thumb})
	}
	return m
}

// Where the history of a conversation was read from (the metric's label).
const (
	sourceRecord = "record"
	sourceAXP    = "axp"
)

// history is the conversation's messages, oldest first: from its record
// when that can be trusted, else from AXP's list.
func (f *Face) history(ctx context.Context, conv *mapping.Conversation, use string) iter.Seq2[*engagement.Message, error] {
	msgs, why := f.recorded(ctx, conv)
	if why == "" {
		f.m.historyRead(use, sourceRecord)
		return func(yield func(*engagement.Message, error) bool) {
			for _, m := range msgs {
				if !yield(m, nil) {
					return
				}
			}
		}
	}
	f.m.historyRead(use, sourceAXP)
	f.log.DebugContext(ctx, "customerchannel: the message record is not complete; listing at AXP", "conversation", conv.ID, "why", why)
	return f.backend.AllMessages(ctx, conv.EngagementID, conv.SessionID, conv.DialogID)
}

// recorded reads the conversation's record; why says, when it is not
// complete, why not.
func (f *Face) recorded(ctx context.Context, conv *mapping.Conversation) (msgs []*engagement.Message, why string) {
	if conv.Attrs[attrRecord] != recordComplete {
		return nil, "the conversation began before it was recorded"
	}
	raws, err := f.store.Log(ctx, conv.ID, logMessages, mapping.MaxLogRecords)
	if err != nil {
		return nil, "the store failed: " + err.Error()
	}
	if len(raws) >= mapping.MaxLogRecords {
		return nil, "the record is full and its oldest messages went"
	}
	return orderRecords(raws)
}

// orderRecords decodes a log into its messages in messageIndex order, each
// once, and checks that the indexes have no gap.
func orderRecords(raws [][]byte) ([]*engagement.Message, string) {
	recs := make([]recordedMessage, 0, len(raws))
	ids, pids := map[string]bool{}, map[string]bool{}
	var unsure []string
	indexed := true
	for _, raw := range raws {
		var r recordedMessage
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, "a record does not decode: " + err.Error()
		}
		switch r.Kind {
		case recordMessage:
		case recordUnsure:
			unsure = append(unsure, r.ProviderMessageID)
			continue
		default:
			continue
		}
		if (r.ID != "" && ids[r.ID]) || (r.ProviderMessageID != "" && pids[r.ProviderMessageID]) {
			continue // recorded twice: by its send and by its event
		}
		ids[r.ID], pids[r.ProviderMessageID] = r.ID != "", r.ProviderMessageID != ""
		indexed = indexed && r.Index > 0
		recs = append(recs, r)
	}
	for _, pm := range unsure {
		if !pids[pm] {
			return nil, "a message the contact center did not confirm may be missing"
		}
	}
	if indexed {
		// AXP's order. Without indexes (an AXP that leaves them out) the
		// order they passed in is all there is, and gaps cannot be seen.
		slices.SortStableFunc(recs, func(a, b recordedMessage) int { return cmp.Compare(a.Index, b.Index) })
		for i, r := range recs {
			if r.Index != i+1 {
				return nil, fmt.Sprintf("message %d is missing from the record", i+1)
			}
		}
	}
	out := make([]*engagement.Message, len(recs))
	for i := range recs {
		out[i] = recs[i].message()
	}
	return out, ""
}

// recordSent appends a message the customer sent, once AXP took it, to
// the conversation's record; when that cannot be written the record is
// marked incomplete, so that it is not served without the message.
func (f *Face) recordSent(ctx context.Context, conv *mapping.Conversation, m *engagement.Message, providerMessageID, text, name string) {
	if conv.Attrs[attrRecord] != recordComplete {
		return // AXP's list is read for it anyway
	}
	sent := *m
	if sent.ProviderMessageID == "" {
		sent.ProviderMessageID = providerMessageID
	}
	if sent.SenderParticipantType == "" {
		sent.SenderParticipantType = engagement.ParticipantCustomer
	}
	if sent.SenderParticipantID == "" {
		sent.SenderParticipantID = conv.ParticipantID
	}
	if sent.SenderParticipantName == "" {
		sent.SenderParticipantName = name
	}
	if sent.Text() == "" {
		sent.Body = engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: text, TextFormat: engagement.TextPlain}}
	}
	f.appendOrGiveUp(ctx, conv, recordOf(&sent, f.now()))
}

// appendOrGiveUp appends a record to the conversation's log, or, when that
// fails, marks the record incomplete so that it is not served short.
//
// The append is not a change of the conversation: it neither reads nor
// rewrites the record (a send costs one small write, not a copy of the
// conversation), and a concurrent change cannot refuse it.
func (f *Face) appendOrGiveUp(ctx context.Context, conv *mapping.Conversation, rec mapping.LogRecord) {
	err := f.store.Commit(ctx, &mapping.Change{Of: conv.ID, Append: []mapping.LogRecord{rec}})
	if err == nil {
		return
	}
	_, merr := f.update(ctx, conv.ID, func(c *mapping.Conversation) (pipeline.Effect, error) {
		if c.Attrs[attrRecord] == "" {
			return pipeline.Effect{}, mapping.ErrNoChange
		}
		delete(c.Attrs, attrRecord)
		return pipeline.Effect{}, nil
	})
	if merr != nil {
		f.log.ErrorContext(ctx, "customerchannel: a message is missing from the record, which could not be marked incomplete",
			"conversation", conv.ID, "error", errors.Join(err, merr))
		return
	}
	f.log.WarnContext(ctx, "customerchannel: a message could not be recorded; the conversation's history is read from AXP",
		"conversation", conv.ID, "error", err)
}

// recordUnsure records a send whose outcome is unknown; when that cannot
// be written the record is marked incomplete.
func (f *Face) recordUnsure(ctx context.Context, conv *mapping.Conversation, providerMessageID string) {
	if conv.Attrs[attrRecord] != recordComplete {
		return
	}
	f.appendOrGiveUp(ctx, conv, encodeRecord(recordedMessage{Kind: recordUnsure, ProviderMessageID: providerMessageID, At: f.now()}))
}

// maxUpdateAttempts bounds update's retries on concurrent changes.
const maxUpdateAttempts = 8

// update changes a conversation as mapping.Update does (compare-and-set,
// read again on a conflict), and commits the change's log records and
// outbox items with it. change returns mapping.ErrNoChange to write
// nothing; the conversation is returned as stored then.
func (f *Face) update(ctx context.Context, id string, change func(c *mapping.Conversation) (pipeline.Effect, error)) (*mapping.Conversation, error) {
	for attempt := 1; ; attempt++ {
		cur, err := f.store.Conversation(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", id, err)
		}
		next := cur.Clone()
		eff, err := change(next)
		if errors.Is(err, mapping.ErrNoChange) {
			return cur, nil
		}
		if err != nil {
			return nil, err
		}
		err = f.store.Commit(ctx, &mapping.Change{Conv: next, Outbox: eff.Outbox, Append: eff.Append})
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, mapping.ErrConflict) || attempt == maxUpdateAttempts {
			return nil, fmt.Errorf("update %s: %w", id, err)
		}
	}
}
