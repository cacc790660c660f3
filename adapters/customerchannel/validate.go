package customerchannel

import (
	"encoding/json"
	"errors"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// Input checks of the face's JSON: every string must be clean text (valid
// UTF-8, no NUL or other control character; tab and line breaks only in
// texts and comments), and a field of the wrong type is named. Without
// them encoding/json would turn invalid bytes into U+FFFD and pass NUL on
// to AXP and the agent.

// decodeInit decodes an init body, refusing it with a 400 naming the field
// at fault.
func decodeInit(body []byte, req *InitRequest) *httpFail {
	if p := jsonscan.Text(body); p != nil {
		return fieldFail(p.Path, p.Reason)
	}
	if err := json.Unmarshal(body, req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldFail(jsonscan.TypeErrorPath(body, te), "must be "+jsonscan.Expected(te.Type))
		}
		return badRequest("the body must be a JSON object: %v", err)
	}
	for _, f := range []struct{ name, v string }{
		{"firstName", req.FirstName}, {"lastName", req.LastName}, {"email", req.Email}, {"phone", req.Phone},
		{"channel", req.Channel}, {"language", req.Language}, {"refId", req.RefID}, {"url", req.URL},
		{"subject", req.Subject}, {"requestId", req.RequestID}, {"reqestId", req.ReqestID}, {"timestamp", req.Timestamp},
	} {
		if reason := jsonscan.CheckLine(f.v); reason != "" {
			return fieldFail(f.name, reason)
		}
	}
	return nil
}

func fieldFail(field, reason string) *httpFail {
	f := badRequest("%s %s", orBody(field), reason)
	f.field = field
	return f
}

func orBody(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

// checkPayload decodes an event's object payload into v, refusing unclean
// text and fields of the wrong type by name, then one-line fields (ids,
// names) that hold line breaks or tabs.
func checkPayload(payload json.RawMessage, v any) *eventError {
	if p := jsonscan.Text(payload); p != nil {
		return fieldError(p.Path, p.Reason)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldError(jsonscan.TypeErrorPath(payload, te), "must be "+jsonscan.Expected(te.Type))
		}
		return fail(CodeBadPayload, "", "bad payload: %v", err)
	}
	return checkLines(v)
}

// checkLines refuses line breaks and controls in the names and ids of a
// decoded payload.
func checkLines(v any) *eventError {
	for _, f := range lineFields(v) {
		if reason := jsonscan.CheckLine(f.v); reason != "" {
			return fieldError(f.name, reason)
		}
	}
	return nil
}

func fieldError(field, reason string) *eventError {
	e := fail(CodeBadPayload, "", "%s %s", orPayload(field), reason)
	e.field = field
	return e
}

func orPayload(field string) string {
	if field == "" {
		return "the payload"
	}
	return field
}

type namedValue struct{ name, v string }

// lineFields lists the one-line fields of an event payload; texts are not
// among them.
func lineFields(v any) []namedValue {
	switch r := v.(type) {
	case *JoinRequest:
		return []namedValue{{"conversationId", r.ConversationID}, {"id", r.ID}, {"name", r.Name}}
	case *SendRequest:
		out := []namedValue{{"type", r.Type}, {"conversationId", r.ConversationID}, {"tag", r.Tag}, {"refId", r.RefID}, {"activityType", r.ActivityType}}
		if r.From != nil {
			out = append(out, namedValue{"from.id", r.From.ID}, namedValue{"from.name", r.From.Name})
		}
		return out
	case *EndRequest:
		return []namedValue{{"conversationId", r.ConversationID}, {"refId", r.RefID}}
	case *RegisterRequest:
		return []namedValue{{"id", r.ID}, {"name", r.Name}, {"channel", r.Channel}}
	}
	return nil
}
