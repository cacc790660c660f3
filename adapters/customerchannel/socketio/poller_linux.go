//go:build linux

package socketio

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller tells which WebSockets have bytes to read, so that an idle one
// needs no goroutine blocked in Read: one goroutine waits for all of them
// and starts a reader only for a connection with input.
//
// The epoll descriptor is itself watched by Go's network poller (an epoll
// set is readable while it has events), so the waiting goroutine is parked
// like any reader, with no thread blocked in epoll_wait and no wake-up
// through another thread. Edge-triggered: an event means "new bytes since
// you last drained", and the reader reads until the socket has no more
// (see wsConn.drain), so no re-arming call is made per event.
type poller struct {
	file *os.File        // the epoll set; closing it ends run
	rc   syscall.RawConn // its descriptor, guarded against its close

	mu    sync.Mutex
	conns map[uint64]*wsConn
	next  uint64

	done chan struct{}
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("socketio: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("socketio: epoll set: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "socketio-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("socketio: epoll set: %w", err)
	}
	return &poller{file: f, rc: rc, conns: make(map[uint64]*wsConn), done: make(chan struct{})}, nil
}

func setToken(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func token(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// ctl changes the epoll set, unless it is closed.
func (p *poller) ctl(op, fd int, ev *unix.EpollEvent) error {
	var err error
	if cerr := p.rc.Control(func(epfd uintptr) { err = unix.EpollCtl(int(epfd), op, fd, ev) }); cerr != nil {
		return cerr
	}
	return err
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
	cerr := ws.raw.Control(func(fd uintptr) { err = p.ctl(unix.EPOLL_CTL_ADD, int(fd), &ev) })
	if err = errors.Join(cerr, err); err != nil {
		p.forget(ws)
		return fmt.Errorf("socketio: watch a websocket: %w", err)
	}
	return nil
}

// remove stops watching ws (added or not); call it before the socket is
// closed.
func (p *poller) remove(ws *wsConn) {
	_ = ws.raw.Control(func(fd uintptr) { _ = p.ctl(unix.EPOLL_CTL_DEL, int(fd), nil) })
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
		var n int
		err := p.rc.Read(func(epfd uintptr) bool {
			var werr error
			n, werr = unix.EpollWait(int(epfd), events, 0)
			return n > 0 || (werr != nil && werr != unix.EINTR)
		})
		if err != nil {
			return // closed
		}
		batch = batch[:0]
		p.mu.Lock()
		for i := range max(n, 0) {
			if ws := p.conns[token(&events[i])]; ws != nil {
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

// close ends run and releases the epoll set.
func (p *poller) close() {
	_ = p.file.Close()
	<-p.done
}

// rawIO is one read or one write of a socket that does not wait: the
// function raw.Control runs, made once per connection and direction, so
// that a call costs no closure.
type rawIO struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr)
}

func (r *rawIO) read(fd uintptr) {
	for {
		r.n, r.err = unix.Read(int(fd), r.buf)
		if r.err != unix.EINTR {
			return
		}
	}
}

func (r *rawIO) write(fd uintptr) {
	for {
		r.n, r.err = unix.Write(int(fd), r.buf)
		if r.err != unix.EINTR {
			return
		}
	}
}

// do runs r's call on buf: errWouldBlock when the socket has nothing to
// give or no room to take.
func (r *rawIO) do(rc syscall.RawConn, buf []byte) (int, error) {
	r.buf = buf
	cerr := rc.Control(r.fn)
	n, err := r.n, r.err
	r.buf, r.err = nil, nil // the buffer goes back to its pool
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

// readRaw reads what the socket holds without waiting: n == 0 with a nil
// error is the end of the stream, errWouldBlock that nothing is left. One
// reader at a time (drain's).
func (ws *wsConn) readRaw(buf []byte) (int, error) {
	if ws.rr.fn == nil {
		ws.rr.fn = ws.rr.read
	}
	return ws.rr.do(ws.raw, buf)
}

// writeRaw writes what the socket takes of b now, without waiting for
// room: n < len(b) with a nil error means it is full. One writer at a time
// (write's, under wmu).
func (ws *wsConn) writeRaw(b []byte) (int, error) {
	if ws.rw.fn == nil {
		ws.rw.fn = ws.rw.write
	}
	n, err := ws.rw.do(ws.raw, b)
	if err == errWouldBlock {
		return 0, nil
	}
	return n, err
}
