package customerchannel

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawSocket is a Socket.IO client over a WebSocket framed by hand, for
// benchmarks: after its handshake it allocates nothing per message, so
// that what a benchmark counts is the server's. It speaks what the
// benchmarks use: text frames, events with acks, pings answered.
type rawSocket struct {
	nc    net.Conn
	br    *bufio.Reader
	out   []byte // the frame being written
	pkt   []byte // the packet being built
	in    []byte // the payload of the frame last read
	ackID int
}

// dialRaw opens a WebSocket session at addr (host:port) and connects the
// default namespace.
func dialRaw(addr string) (*rawSocket, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &rawSocket{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(nc, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	status, err := s.br.ReadString('\n')
	if err != nil || !bytes.Contains([]byte(status), []byte(" 101 ")) {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: %q %v", status, err)
	}
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			nc.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	if msg, err := s.read(); err != nil || len(msg) == 0 || msg[0] != '0' {
		nc.Close()
		return nil, fmt.Errorf("engine.io open: %q %v", msg, err)
	}
	if err := s.write([]byte("40")); err != nil {
		nc.Close()
		return nil, err
	}
	for {
		msg, err := s.read()
		if err != nil {
			nc.Close()
			return nil, err
		}
		if bytes.HasPrefix(msg, []byte("40")) {
			_ = nc.SetDeadline(time.Time{})
			return s, nil
		}
	}
}

func (s *rawSocket) Close() error { return s.nc.Close() }

// write sends one masked text frame.
func (s *rawSocket) write(payload []byte) error {
	mask := [4]byte{0x1d, 0x6a, 0xc4, 0x37}
	b := append(s.out[:0], 0x81)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i&3])
	}
	s.out = b
	_, err := s.nc.Write(b)
	return err
}

// read returns the payload of the next data frame, valid until the next
// read; pings are answered on the way.
func (s *rawSocket) read() ([]byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(s.br, h[:]); err != nil {
			return nil, err
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(s.br, l[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(s.br, l[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		if cap(s.in) < n {
			s.in = make([]byte, n)
		}
		s.in = s.in[:n]
		if _, err := io.ReadFull(s.br, s.in); err != nil {
			return nil, err
		}
		switch op := h[0] & 0x0f; {
		case op == 0x8:
			return nil, errors.New("websocket closed")
		case op >= 0x8: // ping, pong: nothing the benchmarks need
		case len(s.in) == 1 && s.in[0] == '2': // Engine.IO ping
			if err := s.write([]byte("3")); err != nil {
				return nil, err
			}
		default:
			return s.in, nil
		}
	}
}

// call emits event with payload and an ack id and returns the ack's
// payload (the array's contents), valid until the next read; other
// packets are skipped.
func (s *rawSocket) call(event string, payload []byte) ([]byte, error) {
	s.ackID++
	b := append(s.pkt[:0], "42"...)
	b = strconv.AppendInt(b, int64(s.ackID), 10)
	b = append(b, `["`...)
	b = append(b, event...)
	b = append(b, `",`...)
	b = append(b, payload...)
	b = append(b, ']')
	s.pkt = b
	if err := s.write(b); err != nil {
		return nil, err
	}
	for {
		msg, err := s.read()
		if err != nil {
			return nil, err
		}
		if len(msg) > 2 && msg[0] == '4' && msg[1] == '3' {
			rest := msg[2:]
			i := 0
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			if id, err := strconv.Atoi(string(rest[:i])); err == nil && id == s.ackID && i < len(rest) && rest[i] == '[' {
				return rest[i+1 : len(rest)-1], nil
			}
		}
		if len(msg) > 0 && msg[0] == '1' {
			return nil, errors.New("server closed the session")
		}
	}
}
