package connectorapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// checkBodyText refuses a JSON body holding a string that is not clean
// text: invalid UTF-8 (which the decoder would silently turn into U+FFFD),
// an unpaired surrogate, NUL or another control character (tab and line
// breaks aside, for message texts). The refusal names the exact field, as
// the face's other 400s do, and carries the envelope's id when it can be
// read. batch says the body is a CONVERSATION array, whose paths start
// with the envelope's index.
func checkBodyText(body []byte, batch bool) *apiError {
	p := jsonscan.Text(body)
	if p == nil {
		return nil
	}
	what := "the value"
	if p.Key {
		what = "the member name"
	}
	ae := badRequest(nil, p.Path, "%s %s %s", p.Path, what, p.Reason)
	if p.Path == "" {
		ae.Details = "the body " + p.Reason
	}
	// An unclean id itself is not echoed.
	if _, rest, _ := strings.Cut(p.Path, "]."); p.Path != "id" && !(batch && rest == "id") {
		ae.ReqID = envelopeID(body, batch, p.Path)
	}
	return ae
}

// envelopeID reads the id of the envelope a refusal is about, for its
// answer: the only one of a SEND, the path's index of a batch. Failing
// that the answer goes without one, as for a body that is not JSON.
func envelopeID(body []byte, batch bool, path string) json.RawMessage {
	if !json.Valid(body) {
		// Raw control bytes inside strings make the JSON invalid; blanked,
		// the envelope's id can still be read.
		body = bytes.Map(func(r rune) rune {
			if r < 0x20 {
				return ' '
			}
			return r
		}, body)
	}
	var one struct {
		ID json.RawMessage `json:"id"`
	}
	if !batch {
		if json.Unmarshal(body, &one) != nil {
			return nil
		}
		return validReqID(one.ID)
	}
	if len(path) < 3 || path[0] != '[' {
		return nil
	}
	end := 1
	for end < len(path) && path[end] != ']' {
		end++
	}
	i, err := strconv.Atoi(path[1:end])
	if err != nil {
		return nil
	}
	var all []struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &all) != nil || i >= len(all) {
		return nil
	}
	return validReqID(all[i].ID)
}

// validReqID keeps an id only when it is one an answer may echo: a string
// or a number (the envelope package's rule).
func validReqID(id json.RawMessage) json.RawMessage {
	if len(id) == 0 {
		return nil
	}
	switch c := id[0]; {
	case c == '"' && len(id) > 2, c == '-', c >= '0' && c <= '9':
		return id
	}
	return nil
}

// checkLines refuses one-line fields (names) that hold a control character,
// tab and line breaks included; the arguments are field, value pairs.
func checkLines(fieldValue ...string) *apiError {
	for i := 0; i+1 < len(fieldValue); i += 2 {
		if reason := jsonscan.CheckLine(fieldValue[i+1]); reason != "" {
			return badRequest(nil, fieldValue[i], "%s %s", fieldValue[i], reason)
		}
	}
	return nil
}
