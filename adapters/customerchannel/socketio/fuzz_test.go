package socketio

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodePacket: any input decodes or fails with ErrMalformed/ErrBinary,
// never panics, and a decoded packet re-encodes to what it was decoded
// from, modulo the default namespace.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		"0", `0{"token":"123"}`, "0/admin,", "1", `2["hey","Jude"]`, `212["foo"]`,
		`2/admin,7["bar",1]`, `312["bar"]`, `312[]`, `4{"message":"x"}`,
		`51-["baz",{"_placeholder":true,"num":0}]`, `2abc["a"]`, `2{}`, `2[42]`,
		`299999999999999999999["a"]`, `2["disconnect"]`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBinary) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := decodePacket(appendPacket(nil, p))
		if err != nil {
			t.Fatalf("re-decoding %q: %v", appendPacket(nil, p), err)
		}
		if again.typ != p.typ || again.nsp != p.nsp || again.id != p.id || !bytes.Equal(again.data, p.data) || again.event != p.event {
			t.Fatalf("round trip changed %+v into %+v", p, again)
		}
	})
}

// FuzzParseEIO: any Engine.IO packet parses or fails cleanly; data is the
// input after the type.
func FuzzParseEIO(f *testing.F) {
	for _, s := range []string{"0", "1", "2", "2probe", "3", `42["a"]`, "5", "6", "7", "bAQID", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, data, err := parseEIO(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBinary) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if typ != b[0] || !bytes.Equal(data, b[1:]) {
			t.Fatalf("parseEIO(%q) = %q %q", b, typ, data)
		}
	})
}

// FuzzSplitPayload: a split payload joins back to the body, and no packet
// is empty or holds a separator.
func FuzzSplitPayload(f *testing.F) {
	for _, s := range []string{"40", "42[\"a\"]\x1e3\x1e41", "", "\x1e", "40\x1e", "a\x1e\x1eb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := splitPayload(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, p := range pkts {
			if len(p) == 0 || bytes.IndexByte(p, recordSeparator) >= 0 {
				t.Fatalf("bad packet %q in %q", p, b)
			}
		}
		if back := appendPayload(nil, pkts); !bytes.Equal(back, b) {
			t.Fatalf("join(split(%q)) = %q", b, back)
		}
	})
}

// FuzzSessionInput feeds a polling payload to a connected session: whatever
// the client sends, the server neither panics nor leaves a goroutine behind
// once closed.
func FuzzSessionInput(f *testing.F) {
	for _, s := range []string{
		`421["echo","x"]`, "42[\"ping-me\",1]\x1e430[2]", `42["drop"]`, `42["bye"]`, "41", "1", "3",
		"2probe", "5", `451-["a",{"_placeholder":true,"num":0}]`, "bAQID", `40/admin,`, "4abc", `42["nope"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewServer(Options{Authenticate: testAuthenticate})
		testHandlers(s)
		c := s.newConn(transportPolling)
		s.register(c)
		c.start()
		if err := c.onEngine([]byte("40")); err != nil {
			t.Fatal(err)
		}
		if pkts, err := splitPayload(b); err == nil {
			for _, p := range pkts {
				if c.onEngine(p) != nil {
					break
				}
			}
		}
		_ = s.Close()
		// Close returns when the last goroutine has signalled; give it the
		// moment it needs to return.
		waitFor(t, "no goroutine of the server", func() bool { n, _ := packageGoroutines(); return n == 0 })
	})
}

// FuzzWebSocketFrames: any bytes, fed whole or in chunks of any size,
// give the same messages and control frames and the same end, never a
// panic, and no message over the limit.
func FuzzWebSocketFrames(f *testing.F) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f.Add(clientFrame(true, opText, []byte(`42["sendMessage",{}]`), key), uint8(3))
	f.Add(append(clientFrame(false, opText, []byte("4"), key), clientFrame(true, opContinuation, []byte("2"), key)...), uint8(1))
	f.Add(clientFrame(true, opClose, []byte{3, 232}, key), uint8(2))
	f.Add(clientFrame(true, opPing, nil, key), uint8(0))
	f.Add([]byte{0x81, 0xfe, 0x00, 0x10, 1, 2, 3, 4}, uint8(5))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		const limit = 64
		whole, errWhole := feedAll(b, 0, limit)
		parts, errParts := feedAll(b, int(chunk%16)+1, limit)
		if whole != parts || (errWhole == nil) != (errParts == nil) {
			t.Fatalf("whole: %q %v; in chunks of %d: %q %v", whole, errWhole, chunk%16+1, parts, errParts)
		}
		var we *wsError
		if errWhole != nil && !errors.As(errWhole, &we) {
			t.Fatalf("error %v is not a *wsError", errWhole)
		}
	})
}

// FuzzWebSocketRoundTrip: a message a client sends in fragments of any
// size, with pings between them, arrives whole.
func FuzzWebSocketRoundTrip(f *testing.F) {
	f.Add([]byte(`42["typing"]`), uint8(3), uint32(0xdeadbeef))
	f.Add([]byte{}, uint8(0), uint32(0))
	f.Fuzz(func(t *testing.T, msg []byte, frag uint8, mask uint32) {
		key := [4]byte{byte(mask), byte(mask >> 8), byte(mask >> 16), byte(mask >> 24)}
		size := int(frag) + 1
		var in []byte
		want := ""
		op := opText
		rest := msg
		for first := true; first || len(rest) > 0; first = false {
			n := min(size, len(rest))
			fin := n == len(rest)
			in = append(in, clientFrame(fin, op, rest[:n], key)...)
			rest, op = rest[n:], opContinuation
			if !fin {
				in = append(in, clientFrame(true, opPing, []byte("p"), key)...)
				want += "ctl 9 \"p\"\n"
			}
		}
		var l frameLog
		_ = l.message(opText, msg)
		want += l.String()
		got, err := feedAll(in, int(mask%32), 1<<20)
		if err != nil || got != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	})
}
