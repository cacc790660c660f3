package socketio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFrameReader(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	join := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	big := bytes.Repeat([]byte("x"), 70000)
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  string
		code  int // close code of the error, 0 for none
	}{
		{"text", clientFrame(true, opText, []byte("42[\"a\"]"), key), 100, "msg 1 \"42[\\\"a\\\"]\"\n", 0},
		{"empty text", clientFrame(true, opText, nil, key), 100, "msg 1 \"\"\n", 0},
		{"16-bit length", clientFrame(true, opText, big[:300], key), 1000, "msg 1 \"" + strings.Repeat("x", 300) + "\"\n", 0},
		{"64-bit length", clientFrame(true, opBinary, big, key), 1 << 20, "msg 2 \"" + string(big) + "\"\n", 0},
		{"fragments with a ping between", join(
			clientFrame(false, opText, []byte("ab"), key),
			clientFrame(true, opPing, []byte("p"), key),
			clientFrame(false, opContinuation, []byte("cd"), key),
			clientFrame(true, opContinuation, []byte("e"), key),
		), 100, "ctl 9 \"p\"\nmsg 1 \"abcde\"\n", 0},
		{"close with a code", clientFrame(true, opClose, []byte{0x03, 0xe8, 'b', 'y'}, key), 100, "ctl 8 \"\\x03\\xe8by\"\n", 0},
		{"close without a code", clientFrame(true, opClose, nil, key), 100, "ctl 8 \"\"\n", 0},
		{"pong", clientFrame(true, opPong, []byte("x"), key), 100, "ctl 10 \"x\"\n", 0},
		{"unmasked", []byte{0x81, 0x01, 'a'}, 100, "", closeProtocolError},
		{"reserved bit", append([]byte{0xc1}, clientFrame(true, opText, []byte("a"), key)[1:]...), 100, "", closeProtocolError},
		{"unknown opcode", clientFrame(true, 0x3, []byte("a"), key), 100, "", closeProtocolError},
		{"fragmented ping", clientFrame(false, opPing, []byte("a"), key), 100, "", closeProtocolError},
		{"ping over 125 bytes", clientFrame(true, opPing, big[:126], key), 1000, "", closeProtocolError},
		{"continuation first", clientFrame(true, opContinuation, []byte("a"), key), 100, "", closeProtocolError},
		{"text inside a fragmented message", join(
			clientFrame(false, opText, []byte("a"), key),
			clientFrame(true, opText, []byte("b"), key),
		), 100, "", closeProtocolError},
		{"close of one byte", clientFrame(true, opClose, []byte{3}, key), 100, "", closeProtocolError},
		{"close code 1005", clientFrame(true, opClose, []byte{0x03, 0xed}, key), 100, "", closeProtocolError},
		{"frame over the limit", clientFrame(true, opText, big[:101], key), 100, "", closeTooBig},
		{"fragments over the limit", join(
			clientFrame(false, opText, big[:60], key),
			clientFrame(true, opContinuation, big[:41], key),
		), 100, "", closeTooBig},
		{"64-bit length with the high bit", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 100, "", closeProtocolError},
		{"a message at the limit", clientFrame(true, opText, big[:100], key), 100, "msg 1 \"" + strings.Repeat("x", 100) + "\"\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2, 7} {
				got, err := feedAll(tt.in, size, tt.limit)
				code := 0
				var we *wsError
				if errors.As(err, &we) {
					code = we.code
				} else if err != nil {
					t.Fatalf("chunks of %d: error %v is not a *wsError", size, err)
				}
				if code != tt.code || (tt.code == 0 && got != tt.want) {
					t.Fatalf("chunks of %d: got %q, close %d; want %q, close %d", size, got, code, tt.want, tt.code)
				}
			}
		})
	}
}

func TestFrameReaderKeepsNothingBetweenFrames(t *testing.T) {
	var r frameReader
	var l frameLog
	f := clientFrame(true, opText, []byte("3"), [4]byte{9, 8, 7, 6})
	if err := r.feed(f[:3], 100, &l); err != nil || r.in == nil {
		t.Fatalf("half a frame: err %v, kept %v", err, r.in)
	}
	if err := r.feed(f[3:], 100, &l); err != nil || r.in != nil || r.msg != nil {
		t.Fatalf("the rest: err %v, kept %v %v", err, r.in, r.msg)
	}
}

func TestAppendFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		b := appendFrame(nil, opText, make([]byte, n))
		var hdr int
		switch {
		case n <= 125:
			hdr = 2
		case n <= 65535:
			hdr = 4
		default:
			hdr = 10
		}
		if len(b) != hdr+n || b[0] != 0x81 {
			t.Errorf("%d bytes: frame of %d bytes, first byte %#x", n, len(b), b[0])
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3's example.
	if got := acceptKey([]byte("dGhlIHNhbXBsZSBub25jZQ==")); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey = %q", got)
	}
	for key, want := range map[string]bool{"dGhlIHNhbXBsZSBub25jZQ==": true, "": false, "dGhlIHNhbXBsZQ==": false, "!!!!!!!!!!!!!!!!!!!!!!==": false} {
		if validChallengeKey([]byte(key)) != want {
			t.Errorf("validChallengeKey(%q) != %v", key, want)
		}
	}
}
