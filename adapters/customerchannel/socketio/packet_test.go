package socketio

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestParseEIO(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		typ     byte
		data    string
		wantErr error
	}{
		{"open", `0{"sid":"x"}`, eioOpen, `{"sid":"x"}`, nil},
		{"close", "1", eioClose, "", nil},
		{"ping", "2", eioPing, "", nil},
		{"probe ping", "2probe", eioPing, "probe", nil},
		{"pong", "3", eioPong, "", nil},
		{"message", `42["a"]`, eioMessage, `2["a"]`, nil},
		{"upgrade", "5", eioUpgrade, "", nil},
		{"noop", "6", eioNoop, "", nil},
		{"empty is malformed", "", 0, "", ErrMalformed},
		{"type 7 is malformed", "7", 0, "", ErrMalformed},
		{"letter is malformed", "x", 0, "", ErrMalformed},
		{"base64 binary is refused", "bAQID", 0, "", ErrBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, data, err := parseEIO([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (typ != tt.typ || string(data) != tt.data) {
				t.Fatalf("got %q %q, want %q %q", typ, data, tt.typ, tt.data)
			}
		})
	}
}

func TestSplitPayload(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"one packet", "40", []string{"40"}, false},
		{"several packets", "42[\"a\"]\x1e3\x1e41", []string{`42["a"]`, "3", "41"}, false},
		{"empty body", "", nil, true},
		{"trailing separator", "40\x1e", nil, true},
		{"leading separator", "\x1e40", nil, true},
		{"empty packet between", "40\x1e\x1e3", nil, true},
		{"only a separator", "\x1e", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitPayload([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			var s []string
			for _, p := range got {
				s = append(s, string(p))
			}
			if !reflect.DeepEqual(s, tt.want) {
				t.Fatalf("got %q, want %q", s, tt.want)
			}
			if back := string(appendPayload(nil, got)); back != tt.in {
				t.Fatalf("appendPayload = %q, want %q", back, tt.in)
			}
		})
	}
}

func TestDecodePacket(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name    string
		in      string
		want    packet
		wantErr error
	}{
		{"connect without auth", "0", packet{typ: sioConnect, nsp: "/", id: -1}, nil},
		{"connect with auth", `0{"token":"123"}`, packet{typ: sioConnect, nsp: "/", id: -1, data: raw(`{"token":"123"}`)}, nil},
		{"connect to a namespace", "0/admin,", packet{typ: sioConnect, nsp: "/admin", id: -1}, nil},
		{"connect to a namespace without comma", "0/admin", packet{typ: sioConnect, nsp: "/admin", id: -1}, nil},
		{"connect with array auth", `0["x"]`, packet{}, ErrMalformed},
		{"connect with bad json", `0{"token"`, packet{}, ErrMalformed},
		{"disconnect", "1", packet{typ: sioDisconnect, nsp: "/", id: -1}, nil},
		{"disconnect namespace", "1/admin,", packet{typ: sioDisconnect, nsp: "/admin", id: -1}, nil},
		{"disconnect with payload", `1{}`, packet{}, ErrMalformed},
		{"event", `2["hey","Jude"]`, packet{typ: sioEvent, nsp: "/", id: -1, data: raw(`["hey","Jude"]`), event: "hey", args: []json.RawMessage{raw(`"Jude"`)}}, nil},
		{"event with ack id", `212["foo"]`, packet{typ: sioEvent, nsp: "/", id: 12, data: raw(`["foo"]`), event: "foo", args: []json.RawMessage{}}, nil},
		{"event on namespace with id", `2/admin,7["bar",1]`, packet{typ: sioEvent, nsp: "/admin", id: 7, data: raw(`["bar",1]`), event: "bar", args: []json.RawMessage{raw(`1`)}}, nil},
		{"event with numeric name", `2[42,"x"]`, packet{typ: sioEvent, nsp: "/", id: -1, data: raw(`[42,"x"]`), event: "42", args: []json.RawMessage{raw(`"x"`)}}, nil},
		{"event empty array", `2[]`, packet{}, ErrMalformed},
		{"event object", `2{}`, packet{}, ErrMalformed},
		{"event no payload", `2`, packet{}, ErrMalformed},
		{"event bad json", `2abc["a"]`, packet{}, ErrMalformed},
		{"event name is an object", `2[{"a":1}]`, packet{}, ErrMalformed},
		{"event reserved name", `2["disconnect"]`, packet{}, ErrMalformed},
		{"event ack id overflow", `299999999999999999999["a"]`, packet{}, ErrMalformed},
		{"ack", `312["bar"]`, packet{typ: sioAck, nsp: "/", id: 12, data: raw(`["bar"]`), args: []json.RawMessage{raw(`"bar"`)}}, nil},
		{"ack empty", `312[]`, packet{typ: sioAck, nsp: "/", id: 12, data: raw(`[]`), args: []json.RawMessage{}}, nil},
		{"ack without id", `3["bar"]`, packet{}, ErrMalformed},
		{"ack not array", `31{}`, packet{}, ErrMalformed},
		{"connect error object", `4{"message":"no"}`, packet{typ: sioConnectError, nsp: "/", id: -1, data: raw(`{"message":"no"}`)}, nil},
		{"connect error string", `4"no"`, packet{typ: sioConnectError, nsp: "/", id: -1, data: raw(`"no"`)}, nil},
		{"connect error without payload", `41`, packet{}, ErrMalformed},
		{"binary event refused", `51-["baz",{"_placeholder":true,"num":0}]`, packet{}, ErrBinary},
		{"binary ack refused", `61-15["bar",{"_placeholder":true,"num":0}]`, packet{}, ErrBinary},
		{"empty", ``, packet{}, ErrMalformed},
		{"type 7", `7`, packet{}, ErrMalformed},
		{"type letter", `a`, packet{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePacket([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAppendPacketMatchesTheProtocolStrings(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name string
		p    packet
		want string
	}{
		{"connect reply", packet{typ: sioConnect, id: -1, data: raw(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}, `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`},
		{"connect error", packet{typ: sioConnectError, id: -1, data: raw(`{"message":"Not authorized"}`)}, `4{"message":"Not authorized"}`},
		{"invalid namespace", packet{typ: sioConnectError, nsp: "/random", id: -1, data: raw(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{"event", packet{typ: sioEvent, nsp: "/", id: -1, data: raw(`["hey","Jude"]`)}, `2["hey","Jude"]`},
		{"event with ack", packet{typ: sioEvent, id: 12, data: raw(`["foo"]`)}, `212["foo"]`},
		{"ack", packet{typ: sioAck, id: 12, data: raw(`["bar"]`)}, `312["bar"]`},
		{"ack on namespace", packet{typ: sioAck, nsp: "/admin", id: 13, data: raw(`["bar"]`)}, `3/admin,13["bar"]`},
		{"disconnect", packet{typ: sioDisconnect, id: -1}, `1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendPacket(nil, tt.p)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncodeArgs(t *testing.T) {
	tests := []struct {
		name  string
		event string
		args  []any
		want  string
	}{
		{"event only", "hello", nil, `["hello"]`},
		{"event with args", "m", []any{1, "2", map[string]any{"3": []bool{true}}}, `["m",1,"2",{"3":[true]}]`},
		{"raw args kept", "m", []any{json.RawMessage(`{"a":1}`)}, `["m",{"a":1}]`},
		{"ack without event", "", []any{"x", nil}, `["x",null]`},
		{"empty ack", "", nil, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeArgs(tt.event, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := encodeArgs("e", []any{func() {}}); err == nil {
		t.Fatal("encoding a func should fail")
	}
}

func TestAppendArgsWritesWhatJSONMarshalWrites(t *testing.T) {
	tests := []struct {
		event string
		args  []any
	}{
		{"messageArrived", []any{map[string]any{"text": "a <b> & \u2028", "n": 1}}},
		{"with space", nil},
		{"quote\"and\\back", []any{"x"}},
		{"é", nil},
		{"", []any{json.RawMessage(`{"status":"ok","id":"m-1"}`)}},
		{"", []any{json.RawMessage(`{ "spaced" : [1, 2] }`)}},
		{"", []any{json.RawMessage(`{"html":"<b>&"}`)}},
		{"", []any{json.RawMessage(`"\u2028"`), json.RawMessage(`null`)}},
	}
	for _, tt := range tests {
		all := []any{}
		if tt.event != "" {
			all = append(all, tt.event)
		}
		all = append(all, tt.args...)
		want, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendArgs(nil, tt.event, tt.args)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendArgs(%q, %v) = %s, %v; want %s", tt.event, tt.args, got, err, want)
		}
	}
	if _, err := appendArgs(nil, "", []any{json.RawMessage(`{bad`)}); err == nil {
		t.Error("invalid raw JSON was embedded")
	}
}
