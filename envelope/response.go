package envelope

import (
	"encoding/json"
	"strconv"
)

// ErrorRespType is the type LivePerson gives an error answer.
const ErrorRespType = ".ReqBody$ErrorResp"

// Response answers one request. Code is an HTTP status: 200 is written as
// "OK", as the Connector API does, anything else as the number.
type Response struct {
	// ReqID is the request's id, raw; nil writes no reqId (an answer to
	// input whose id could not be read).
	ReqID json.RawMessage
	Code  int
	// Body is encoded with encoding/json; a json.RawMessage goes as is.
	Body any
	// Type is set on error answers (ErrorRespType).
	Type string
}

// AppendJSON appends the response's JSON to dst.
func (r *Response) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"kind":"resp"`...)
	if len(r.ReqID) > 0 {
		dst = append(dst, `,"reqId":`...)
		dst = append(dst, r.ReqID...)
	}
	dst = append(dst, `,"code":`...)
	if r.Code == 200 {
		dst = append(dst, `"OK"`...)
	} else {
		dst = strconv.AppendInt(dst, int64(r.Code), 10)
	}
	dst = append(dst, `,"body":`...)
	if r.Body == nil {
		dst = append(dst, `{}`...)
	} else {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return nil, err
		}
		dst = append(dst, b...)
	}
	if r.Type != "" {
		dst = append(dst, `,"type":`...)
		b, _ := json.Marshal(r.Type) // a string always encodes
		dst = append(dst, b...)
	}
	return append(dst, '}'), nil
}

// AppendBatch appends a JSON array of the responses, in the order given
// (the requests' order: clients read answers by position as well as by reqId).
func AppendBatch(dst []byte, rs []Response) ([]byte, error) {
	dst = append(dst, '[')
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = rs[i].AppendJSON(dst); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}
