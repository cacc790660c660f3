package socketio

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// clientFrame encodes one frame as a client sends it: masked with key.
func clientFrame(fin bool, op byte, payload []byte, key [4]byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// frameLog records what a frameReader hands over, as text to compare.
type frameLog struct{ strings.Builder }

func (l *frameLog) message(op byte, msg []byte) error {
	fmt.Fprintf(l, "msg %d %q\n", op, msg)
	return nil
}

func (l *frameLog) control(op byte, payload []byte) error {
	fmt.Fprintf(l, "ctl %d %q\n", op, payload)
	return nil
}

// feedAll feeds b to a new frameReader in chunks of size (all at once when
// size is 0) and returns the log and the error that stopped it.
func feedAll(b []byte, size, limit int) (string, error) {
	b = append([]byte(nil), b...) // feed unmasks in place
	var r frameReader
	var l frameLog
	if size <= 0 {
		size = len(b) + 1
	}
	for len(b) > 0 {
		n := min(size, len(b))
		if err := r.feed(b[:n], limit, &l); err != nil {
			return l.String(), err
		}
		b = b[n:]
	}
	return l.String(), nil
}

// frameSinkNop takes frames and does nothing with them.
type frameSinkNop struct{ n int }

func (s *frameSinkNop) message(byte, []byte) error { s.n++; return nil }
func (s *frameSinkNop) control(byte, []byte) error { return nil }
