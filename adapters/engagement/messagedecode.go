package engagement

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// A MESSAGES callback is the event AXP sends for every message, and
// encoding/json spent 16 µs of reflection on one (half of the webhook's
// CPU in bench/webhooks.sh). decodeMessage reads the shape AXP writes in
// one walk instead. Wherever its answer and encoding/json's could differ
// it gives up, and encoding/json decodes the body (errors included): a
// member name in another case, escaped or not ASCII; a member given
// twice; a null; a value of another type; a number that is not a plain
// integer. FuzzDecodeMessageAgrees holds the two to the same result.

// decodeMessage decodes a MESSAGES body into its message and the header's
// eventDate; ok is false when encoding/json must decide (or the body is
// not a MESSAGES event).
func decodeMessage(body []byte) (m *Message, date Time, ok bool) {
	d := msgDecoder{b: body, s: string(body)}
	m = new(Message)
	var seen members
	i := jsonscan.SkipSpace(body, 0)
	end, ok := jsonscan.Object(body, i, func(key, v jsonscan.Span) bool {
		f, ok := messageField(body[key.Start:key.End])
		switch {
		case !ok:
			return false
		case f == fieldUnknown:
			return true
		case !seen.first(f):
			return false
		}
		raw := body[v.Start:v.End]
		switch f {
		case fieldEventType:
			return string(raw) == `"`+EventMessages+`"`
		case fieldEventDate:
			return timeValue(raw, &date)
		case fieldMessageIndex:
			m.MessageIndex, ok = intValue(raw)
			return ok
		case fieldReceivedAt, fieldLastUpdatedAt:
			t := new(Time)
			if !timeValue(raw, t) {
				return false
			}
			if f == fieldReceivedAt {
				m.ReceivedAt = t
			} else {
				m.LastUpdatedAt = t
			}
			return true
		case fieldBody:
			return d.body(v, &m.Body)
		case fieldRecipients:
			m.RecipientParticipants, ok = d.participants(v)
			return ok
		case fieldCustomData:
			m.CustomData, ok = d.parameters(v)
			return ok
		case fieldEngagementParameters:
			m.EngagementParameters, ok = d.parameters(v)
			return ok
		case fieldHeaders:
			return !isNull(raw) && json.Unmarshal(raw, &m.Headers) == nil
		case fieldAttachments:
			return !isNull(raw) && json.Unmarshal(raw, &m.Attachments) == nil
		}
		s, ok := d.str(v)
		if ok {
			*m.stringField(f) = s
		}
		return ok
	})
	if !ok || !seen.has(fieldEventType) || jsonscan.SkipSpace(body, end) != len(body) {
		return nil, Time{}, false
	}
	return m, date, true
}

// msgDecoder takes the strings of a body from one copy of it, s.
type msgDecoder struct {
	b []byte
	s string
}

// decodeMessageJSON is decodeMessage by encoding/json, for every body.
func decodeMessageJSON(body []byte) (*Message, Time, error) {
	msg := struct {
		*Message
		EventDate Time `json:"eventDate"`
	}{Message: new(Message)}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, Time{}, err
	}
	return msg.Message, msg.EventDate, nil
}

// Members of a MESSAGES body: Message's and the header's eventDate.
const (
	fieldUnknown = iota
	fieldEventType
	fieldEventDate
	fieldMessageID
	fieldAccountID
	fieldDialogID
	fieldEngagementID
	fieldStatus
	fieldSessionID
	fieldBusinessAccountName
	fieldChannelProviderID
	fieldChannelID
	fieldSenderParticipantID
	fieldSenderParticipantName
	fieldSenderParticipantType
	fieldBody
	fieldFallbackText
	fieldHeaders
	fieldAttachments
	fieldRecipients
	fieldCustomData
	fieldMessageIndex
	fieldParentMessageID
	fieldProviderDialogID
	fieldProviderSenderID
	fieldProviderMessageID
	fieldProviderParentMessageID
	fieldEngagementParameters
	fieldReceivedAt
	fieldLastUpdatedAt
	fieldCorrelationID
)

// messageField names the member key (quotes included) of a MESSAGES body;
// ok is false when encoding/json could match it differently.
func messageField(key []byte) (int, bool) {
	var buf keyBuf
	lower, ok := buf.lower(key)
	if !ok || lower == nil {
		return fieldUnknown, ok
	}
	var f int
	var name string
	switch string(lower) {
	case "eventtype":
		f, name = fieldEventType, "eventType"
	case "eventdate":
		f, name = fieldEventDate, "eventDate"
	case "messageid":
		f, name = fieldMessageID, "messageId"
	case "accountid":
		f, name = fieldAccountID, "accountId"
	case "dialogid":
		f, name = fieldDialogID, "dialogId"
	case "engagementid":
		f, name = fieldEngagementID, "engagementId"
	case "status":
		f, name = fieldStatus, "status"
	case "sessionid":
		f, name = fieldSessionID, "sessionId"
	case "businessaccountname":
		f, name = fieldBusinessAccountName, "businessAccountName"
	case "channelproviderid":
		f, name = fieldChannelProviderID, "channelProviderId"
	case "channelid":
		f, name = fieldChannelID, "channelId"
	case "senderparticipantid":
		f, name = fieldSenderParticipantID, "senderParticipantId"
	case "senderparticipantname":
		f, name = fieldSenderParticipantName, "senderParticipantName"
	case "senderparticipanttype":
		f, name = fieldSenderParticipantType, "senderParticipantType"
	case "body":
		f, name = fieldBody, "body"
	case "fallbacktext":
		f, name = fieldFallbackText, "fallbackText"
	case "headers":
		f, name = fieldHeaders, "headers"
	case "attachments":
		f, name = fieldAttachments, "attachments"
	case "recipientparticipants":
		f, name = fieldRecipients, "recipientParticipants"
	case "customdata":
		f, name = fieldCustomData, "customData"
	case "messageindex":
		f, name = fieldMessageIndex, "messageIndex"
	case "parentmessageid":
		f, name = fieldParentMessageID, "parentMessageId"
	case "providerdialogid":
		f, name = fieldProviderDialogID, "providerDialogId"
	case "providersenderid":
		f, name = fieldProviderSenderID, "providerSenderId"
	case "providermessageid":
		f, name = fieldProviderMessageID, "providerMessageId"
	case "providerparentmessageid":
		f, name = fieldProviderParentMessageID, "providerParentMessageId"
	case "engagementparameters":
		f, name = fieldEngagementParameters, "engagementParameters"
	case "receivedat":
		f, name = fieldReceivedAt, "receivedAt"
	case "lastupdatedat":
		f, name = fieldLastUpdatedAt, "lastUpdatedAt"
	case "correlationid":
		f, name = fieldCorrelationID, "correlationId"
	default:
		return fieldUnknown, true
	}
	return f, string(key[1:len(key)-1]) == name
}

// stringField is the string member f of m.
func (m *Message) stringField(f int) *string {
	switch f {
	case fieldMessageID:
		return &m.MessageID
	case fieldAccountID:
		return &m.AccountID
	case fieldDialogID:
		return &m.DialogID
	case fieldEngagementID:
		return &m.EngagementID
	case fieldStatus:
		return &m.Status
	case fieldSessionID:
		return &m.SessionID
	case fieldBusinessAccountName:
		return &m.BusinessAccountName
	case fieldChannelProviderID:
		return &m.ChannelProviderID
	case fieldChannelID:
		return &m.ChannelID
	case fieldSenderParticipantID:
		return &m.SenderParticipantID
	case fieldSenderParticipantName:
		return &m.SenderParticipantName
	case fieldSenderParticipantType:
		return &m.SenderParticipantType
	case fieldFallbackText:
		return &m.FallbackText
	case fieldParentMessageID:
		return &m.ParentMessageID
	case fieldProviderDialogID:
		return &m.ProviderDialogID
	case fieldProviderSenderID:
		return &m.ProviderSenderID
	case fieldProviderMessageID:
		return &m.ProviderMessageID
	case fieldProviderParentMessageID:
		return &m.ProviderParentMessageID
	case fieldCorrelationID:
		return &m.CorrelationID
	}
	panic("engagement: no string member of a message is numbered so")
}

// bodyValue decodes a message body element: its text by hand, rich
// content (rare) by encoding/json.
func (d *msgDecoder) body(at jsonscan.Span, b *Body) bool {
	var seen members
	end, ok := jsonscan.Object(d.b, at.Start, func(ks, v jsonscan.Span) bool {
		key := d.b[ks.Start:ks.End]
		var buf keyBuf
		lower, ok := buf.lower(key)
		if !ok {
			return false
		}
		name := string(key[1 : len(key)-1])
		var f int
		switch string(lower) {
		case "elementtype":
			f, ok = 1, name == "elementType"
		case "elementtext":
			f, ok = 2, name == "elementText"
		case "payload":
			f, ok = 3, name == "payload"
		case "richmediapayload":
			f, ok = 4, name == "richMediaPayload"
		case "selectedaction":
			f, ok = 5, name == "selectedAction"
		default:
			return true
		}
		if !ok || !seen.first(f) {
			return false
		}
		raw := d.b[v.Start:v.End]
		switch f {
		case 1:
			b.ElementType, ok = d.str(v)
		case 2:
			b.ElementText, ok = d.elementText(v)
		case 3:
			b.Payload, ok = d.str(v)
		case 4:
			ok = !isNull(raw) && json.Unmarshal(raw, &b.RichMediaPayload) == nil
		case 5:
			ok = !isNull(raw) && json.Unmarshal(raw, &b.SelectedAction) == nil
		}
		return ok
	})
	return ok && end == at.End
}

func (d *msgDecoder) elementText(at jsonscan.Span) (*ElementText, bool) {
	t := new(ElementText)
	var seen members
	end, ok := jsonscan.Object(d.b, at.Start, func(ks, v jsonscan.Span) bool {
		key := d.b[ks.Start:ks.End]
		var buf keyBuf
		lower, ok := buf.lower(key)
		if !ok {
			return false
		}
		name := string(key[1 : len(key)-1])
		var dst *string
		var f int
		switch string(lower) {
		case "text":
			f, dst, ok = 1, &t.Text, name == "text"
		case "textformat":
			f, dst, ok = 2, &t.TextFormat, name == "textFormat"
		default:
			return true
		}
		if !ok || !seen.first(f) {
			return false
		}
		*dst, ok = d.str(v)
		return ok
	})
	return t, ok && end == at.End
}

func (d *msgDecoder) participants(at jsonscan.Span) ([]Participant, bool) {
	out := make([]Participant, 0, 2)
	end, ok := jsonscan.Array(d.b, at.Start, func(e jsonscan.Span) bool {
		out = append(out, Participant{})
		return d.participant(e, &out[len(out)-1])
	})
	return out, ok && end == at.End
}

func (d *msgDecoder) participant(at jsonscan.Span, p *Participant) bool {
	var seen members
	end, ok := jsonscan.Object(d.b, at.Start, func(ks, v jsonscan.Span) bool {
		key := d.b[ks.Start:ks.End]
		var buf keyBuf
		lower, ok := buf.lower(key)
		if !ok {
			return false
		}
		name := string(key[1 : len(key)-1])
		var dst *string
		var f int
		switch string(lower) {
		case "participantid":
			f, dst, ok = 1, &p.ParticipantID, name == "participantId"
		case "participanttype":
			f, dst, ok = 2, &p.ParticipantType, name == "participantType"
		case "displayname":
			f, dst, ok = 3, &p.DisplayName, name == "displayName"
		case "connectionid":
			f, dst, ok = 4, &p.ConnectionID, name == "connectionId"
		case "providerparticipantid":
			f, dst, ok = 5, &p.ProviderParticipantID, name == "providerParticipantId"
		case "channelproviderid":
			f, dst, ok = 6, &p.ChannelProviderID, name == "channelProviderId"
		default:
			return true
		}
		if !ok || !seen.first(f) {
			return false
		}
		*dst, ok = d.str(v)
		return ok
	})
	return ok && end == at.End
}

// parameters decodes an object of strings. A key given twice keeps its
// last value, as encoding/json does for a map.
func (d *msgDecoder) parameters(at jsonscan.Span) (Parameters, bool) {
	out := Parameters{}
	end, ok := jsonscan.Object(d.b, at.Start, func(ks, v jsonscan.Span) bool {
		k, ok := d.str(ks)
		if !ok {
			return false
		}
		s, ok := d.str(v)
		out[k] = s
		return ok
	})
	return out, ok && end == at.End
}

// str decodes the JSON string at v; false for any other value (null
// included), which encoding/json decides. A plain string is a part of d.s,
// allocated once for all of them.
func (d *msgDecoder) str(v jsonscan.Span) (string, bool) {
	if v.End-v.Start < 2 || d.b[v.Start] != '"' {
		return "", false
	}
	in := d.b[v.Start+1 : v.End-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return d.s[v.Start+1 : v.End-1], true // what encoding/json makes of it too
	}
	var s string
	return s, json.Unmarshal(d.b[v.Start:v.End], &s) == nil
}

// intValue decodes a plain integer that fits an int: digits, maybe a
// minus, no fraction or exponent.
func intValue(v []byte) (int, bool) {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if len(v) != len(digits) {
		n = -n
	}
	return n, true
}

// timeValue decodes a timestamp as encoding/json would, through
// Time.UnmarshalJSON; null is left to encoding/json.
func timeValue(v []byte, t *Time) bool {
	return !isNull(v) && t.UnmarshalJSON(v) == nil
}

func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// keyBuf holds a lower-cased member key, on its user's stack.
type keyBuf [24]byte

// lower lower-cases a member key (quotes included) for matching: nil for a
// key longer than any member name. ok is false when the key is escaped or
// not ASCII: encoding/json folds some other letters onto ASCII ones, so it
// may match a field in ways only encoding/json knows.
func (buf *keyBuf) lower(key []byte) ([]byte, bool) {
	name := key[1 : len(key)-1]
	long := len(name) > len(buf)
	for i, c := range name {
		if c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
		if long {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	if long {
		return nil, true
	}
	return buf[:len(name)], true
}

// members records the members of an object met so far, one bit each.
type members uint64

// first reports whether member f is met for the first time: a member given
// twice is left to encoding/json, which merges objects and keeps the last
// of the rest.
func (s members) has(f int) bool { return s&(members(1)<<f) != 0 }

func (s *members) first(f int) bool {
	bit := members(1) << f
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}
