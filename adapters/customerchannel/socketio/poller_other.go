//go:build !linux

package socketio

import "errors"

// poller is Linux's epoll; elsewhere every WebSocket has a reader
// goroutine (see websocket.go).
type poller struct{}

// rawIO is the poller's read and write state; there is none here.
type rawIO struct{}

func newPoller() (*poller, error) { return nil, errors.New("socketio: no poller on this system") }

func (p *poller) add(*wsConn) error             { return errors.New("socketio: no poller") }
func (p *poller) remove(*wsConn)                {}
func (p *poller) run(func(*wsConn))             {}
func (p *poller) close()                        {}
func (ws *wsConn) readRaw([]byte) (int, error)  { return 0, errors.New("socketio: no poller") }
func (ws *wsConn) writeRaw([]byte) (int, error) { return 0, errors.New("socketio: no poller") }
