//go:build linux

package socketio

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// poller tells which WebSockets have bytes to read, so that an idle one
// needs no goroutine blocked in Read: one goroutine waits in epoll_wait for
// all of them and starts a reader only for a connection with input.
//
// Edge-triggered: an event means "new bytes since you last drained", and
// the reader reads until the socket has no more (see wsConn.drain), so no
// re-arming call is made per event.
type poller struct {
	epfd int
	wake int // an eventfd that ends run

	mu    sync.Mutex
	conns map[uint64]*wsConn
	next  uint64

	done chan struct{}
}

// wakeToken marks the eventfd's events; connection ids start at 1.
const wakeToken = 0

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("socketio: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("socketio: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setToken(&ev, wakeToken)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_ = unix.Close(wake)
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("socketio: epoll_ctl: %w", err)
	}
	return &poller{epfd: epfd, wake: wake, conns: make(map[uint64]*wsConn), done: make(chan struct{})}, nil
}

func setToken(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func token(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// add watches ws's socket; events may arrive before add returns (at once
// when bytes are already waiting).
func (p *poller) add(ws *wsConn) error {
	p.mu.Lock()
	p.next++
	id := p.next
	ws.id = id
	p.conns[id] = ws
	p.mu.Unlock()
	if ws.closed.Load() { // closed meanwhile: its remove may have come first
		p.forget(ws)
		return ErrClosed
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET}
	setToken(&ev, id)
	var err error
	cerr := ws.raw.Control(func(fd uintptr) {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err = errors.Join(cerr, err); err != nil {
		p.forget(ws)
		return fmt.Errorf("socketio: watch a websocket: %w", err)
	}
	return nil
}

// remove stops watching ws (added or not); call it before the socket is
// closed.
func (p *poller) remove(ws *wsConn) {
	_ = ws.raw.Control(func(fd uintptr) {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.forget(ws)
}

func (p *poller) forget(ws *wsConn) {
	p.mu.Lock()
	delete(p.conns, ws.id)
	p.mu.Unlock()
}

// run waits for events until close; ready is called for each connection
// with new input (from this goroutine: it must not block).
func (p *poller) run(ready func(*wsConn)) {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	batch := make([]*wsConn, 0, len(events))
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // EBADF after close, or nothing to be done
		}
		batch = batch[:0]
		p.mu.Lock()
		for i := range n {
			id := token(&events[i])
			if id == wakeToken {
				p.mu.Unlock()
				return
			}
			if ws := p.conns[id]; ws != nil {
				batch = append(batch, ws)
			}
		}
		p.mu.Unlock()
		for i, ws := range batch {
			ready(ws)
			batch[i] = nil
		}
	}
}

// close ends run and releases the descriptors.
func (p *poller) close() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
	<-p.done
	_ = unix.Close(p.wake)
	_ = unix.Close(p.epfd)
}

// readRaw reads what the socket holds without waiting: n == 0 with a nil
// error is the end of the stream, errWouldBlock that nothing is left.
func (ws *wsConn) readRaw(buf []byte) (int, error) {
	var (
		n   int
		err error
	)
	cerr := ws.raw.Control(func(fd uintptr) {
		for {
			n, err = unix.Read(int(fd), buf)
			if err != unix.EINTR {
				return
			}
		}
	})
	switch {
	case cerr != nil:
		return 0, cerr
	case err == unix.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n < 0:
		return 0, errWouldBlock
	}
	return n, nil
}
