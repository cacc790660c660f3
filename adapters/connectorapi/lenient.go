package connectorapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// looseString is an id that LivePerson clients send as a JSON string or a
// number: the documentation writes campaignId, engagementId, skillId,
// visitorId … as strings, and LivePerson's own demo app sends
// campaignInfo {campaignId: 2894629312, engagementId: 2894629412} as
// numbers. A number is kept as written (no float rounding of large ids);
// null is "". Anything else is a type error naming the field.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = looseString(v)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = looseString(b) // the decoder handed over a valid number token
		return nil
	case string(b) == "null":
		*s = ""
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[looseString]()}
}

// JSONExpected names what looseString takes, for refusals.
func (looseString) JSONExpected() string { return "a string or a number" }

// jsonKind is the JSON kind of a value as the decoder's errors name it.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	}
	return "number"
}

// decodeBody decodes a request body into v. A value of the wrong type is
// refused naming its exact field below prefix ("body.campaignInfo.campaignId",
// "body.authenticatedData.lp_sdes[1].personal.contacts[0].phone"), a body
// that is not JSON naming prefix itself; what names the request for the
// message.
func decodeBody(data []byte, v any, prefix, what string) *apiError {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := joinField(prefix, jsonscan.TypeErrorPath(data, te))
		got := te.Value
		if i := bytes.IndexByte([]byte(got), ' '); i >= 0 {
			got = got[:i]
		}
		return badRequest(nil, field, "%s: %s must be %s, not %s", what, field, jsonscan.Expected(te.Type), got)
	}
	return badRequest(nil, prefix, "%s: %v", what, err)
}

// joinField appends a jsonscan path to a field prefix.
func joinField(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case prefix == "" || path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}
