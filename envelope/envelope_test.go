package envelope

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequestKeepsTheIDForm(t *testing.T) {
	tests := []struct {
		name, in, wantID string
	}{
		{"string id", `{"kind":"req","id":"1","type":"ms.PublishEvent","body":{}}`, `"1"`},
		{"string id with trailing comma", `{"kind":"req","id":"1,","type":"t","body":{}}`, `"1,"`},
		{"number id", `{"kind":"req","id":5,"type":"t","body":{}}`, `5`},
		{"big number id kept as written", `{"kind":"req","id":12345678901234567890,"type":"t","body":{}}`, `12345678901234567890`},
		{"escaped string id kept with its escapes", `{"kind":"req","id":"a\u0041\"","type":"t","body":{}}`, `"a\u0041\""`},
		{"whitespace around the envelope", "  \n{\"kind\":\"req\",\"id\":\"x\",\"type\":\"t\",\"body\":{\"a\":1}}\n", `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := DecodeRequest([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if string(env.ID) != tt.wantID {
				t.Errorf("ID = %s, want %s", env.ID, tt.wantID)
			}
			out, err := (&Response{ReqID: env.ID, Code: 200}).AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `"reqId":`+tt.wantID+`,`) {
				t.Errorf("response %s does not echo reqId %s", out, tt.wantID)
			}
		})
	}
}

func TestDecodeRequestRefusesBadEnvelopes(t *testing.T) {
	tests := []struct {
		name, in  string
		sentinel  error
		field     string
		wantReqID string
	}{
		{"empty input", ``, ErrSyntax, "", ""},
		{"not JSON", `hello`, ErrSyntax, "", ""},
		{"truncated JSON", `{"kind":"req","id":"1"`, ErrSyntax, "", ""},
		{"a batch where one envelope is expected", `[{"kind":"req","id":"1","type":"t","body":{}}]`, ErrInvalid, "", ""},
		{"missing kind", `{"id":"1","type":"t","body":{}}`, ErrInvalid, "kind", `"1"`},
		{"unknown kind", `{"kind":"request","id":"1","type":"t","body":{}}`, ErrKind, "kind", `"1"`},
		{"response kind from a client", `{"kind":"resp","id":"1","type":"t","body":{}}`, ErrKind, "kind", `"1"`},
		{"notification kind from a client", `{"kind":"notification","id":"1","type":"t","body":{}}`, ErrKind, "kind", `"1"`},
		{"kind of the wrong type", `{"kind":1,"id":"1","type":"t","body":{}}`, ErrInvalid, "kind", ""},
		{"missing id", `{"kind":"req","type":"t","body":{}}`, ErrInvalid, "id", ""},
		{"null id", `{"kind":"req","id":null,"type":"t","body":{}}`, ErrInvalid, "id", ""},
		{"empty id", `{"kind":"req","id":"","type":"t","body":{}}`, ErrInvalid, "id", ""},
		{"object id", `{"kind":"req","id":{},"type":"t","body":{}}`, ErrInvalid, "id", ""},
		{"boolean id", `{"kind":"req","id":true,"type":"t","body":{}}`, ErrInvalid, "id", ""},
		{"missing type", `{"kind":"req","id":"1","body":{}}`, ErrInvalid, "type", `"1"`},
		{"empty type", `{"kind":"req","id":"1","type":"","body":{}}`, ErrInvalid, "type", `"1"`},
		{"missing body", `{"kind":"req","id":"1","type":"t"}`, ErrInvalid, "body", `"1"`},
		{"null body", `{"kind":"req","id":"1","type":"t","body":null}`, ErrInvalid, "body", `"1"`},
		{"array body", `{"kind":"req","id":"1","type":"t","body":[]}`, ErrInvalid, "body", `"1"`},
		{"string body", `{"kind":"req","id":7,"type":"t","body":"x"}`, ErrInvalid, "body", `7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.in))
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *Error", err)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q", e.Field, tt.field)
			}
			if string(e.ReqID) != tt.wantReqID {
				t.Errorf("ReqID = %s, want %q", e.ReqID, tt.wantReqID)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	good := `[{"kind":"req","id":"1,","type":"userprofile.SetUserProfile","body":{}},` +
		`{"kind":"req","id":2,"type":"cm.ConsumerRequestConversation","body":{"brandId":"a"}}]`
	envs, err := DecodeBatch([]byte(good))
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if len(envs) != 2 || envs[0].Type != "userprofile.SetUserProfile" || string(envs[1].ID) != "2" ||
		string(envs[1].Body) != `{"brandId":"a"}` {
		t.Fatalf("decoded %+v", envs)
	}

	bad := []struct {
		name, in string
		sentinel error
		index    int
	}{
		{"one envelope where a batch is expected", `{"kind":"req","id":"1","type":"t","body":{}}`, ErrInvalid, -1},
		{"empty batch", `[]`, ErrInvalid, -1},
		{"not an array", `"x"`, ErrSyntax, -1},
		{"malformed array", `[{"kind":"req",]`, ErrSyntax, -1},
		{"array of strings", `["a"]`, ErrSyntax, 0},
		{"second envelope bad", `[{"kind":"req","id":"1","type":"t","body":{}},{"kind":"req","id":"2","type":"t"}]`, ErrInvalid, 1},
		{"too many envelopes", "[" + strings.Repeat(`{"kind":"req","id":"1","type":"t","body":{}},`, MaxBatch) + `{"kind":"req","id":"1","type":"t","body":{}}]`, ErrInvalid, -1},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBatch([]byte(tt.in))
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var e *Error
			if errors.As(err, &e) && e.Index != tt.index {
				t.Errorf("Index = %d, want %d", e.Index, tt.index)
			}
		})
	}
}

// TestDecodedEnvelopeDoesNotAliasTheInput: the input may be a fasthttp
// buffer reused once the handler returns.
func TestDecodedEnvelopeDoesNotAliasTheInput(t *testing.T) {
	in := []byte(`{"kind":"req","id":"abc","type":"t","body":{"k":"v"}}`)
	env, err := DecodeRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	batchIn := []byte("[" + string(in) + "]")
	batch, err := DecodeBatch(batchIn)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{in, batchIn} {
		for i := range b {
			b[i] = 'X'
		}
	}
	for _, e := range []*Envelope{env, batch[0]} {
		if string(e.ID) != `"abc"` || string(e.Body) != `{"k":"v"}` {
			t.Fatalf("envelope changed with its input: id %s body %s", e.ID, e.Body)
		}
	}
}

func TestDecodeBodyNamesTheBadField(t *testing.T) {
	env, err := DecodeRequest([]byte(`{"kind":"req","id":"1","type":"t","body":{"event":{"message":5}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Event struct {
			Message string `json:"message"`
		} `json:"event"`
	}
	err = env.DecodeBody(&body)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want *Error ErrInvalid", err)
	}
	if e.Field != "body.event.message" || string(e.ReqID) != `"1"` {
		t.Errorf("Field %q ReqID %s", e.Field, e.ReqID)
	}
}

func TestResponseEncoding(t *testing.T) {
	tests := []struct {
		name string
		r    Response
		want string
	}{
		{"success is OK", Response{ReqID: json.RawMessage(`"1"`), Code: 200, Body: map[string]int{"sequence": 0}},
			`{"kind":"resp","reqId":"1","code":"OK","body":{"sequence":0}}`},
		{"numeric id stays numeric", Response{ReqID: json.RawMessage(`5`), Code: 200, Body: json.RawMessage(`{"x":1}`)},
			`{"kind":"resp","reqId":5,"code":"OK","body":{"x":1}}`},
		{"error carries code number and type", Response{Code: 401, Body: map[string]any{"errorCode": 40102}, Type: ErrorRespType},
			`{"kind":"resp","code":401,"body":{"errorCode":40102},"type":".ReqBody$ErrorResp"}`},
		{"nil body is an empty object", Response{ReqID: json.RawMessage(`"a"`), Code: 200},
			`{"kind":"resp","reqId":"a","code":"OK","body":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

func TestBatchAnswersKeepRequestOrder(t *testing.T) {
	rs := []Response{
		{ReqID: json.RawMessage(`"2,"`), Code: 200, Body: map[string]string{"msg": "b"}},
		{ReqID: json.RawMessage(`"1,"`), Code: 200, Body: map[string]string{"conversationId": "c"}},
	}
	got, err := AppendBatch(nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	var back []struct {
		ReqID string `json:"reqId"`
	}
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if len(back) != 2 || back[0].ReqID != "2," || back[1].ReqID != "1," {
		t.Fatalf("order lost: %s", got)
	}
}

func TestResponseBodyThatCannotEncodeIsAnError(t *testing.T) {
	_, err := (&Response{Code: 200, Body: make(chan int)}).AppendJSON(nil)
	if err == nil {
		t.Fatal("want an error for an unencodable body")
	}
}
