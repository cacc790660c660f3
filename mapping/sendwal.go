package mapping

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The embedded store's send records are not in the bbolt file but in a
// log beside it, a directory of files to which records are appended. A
// SEND writes its record twice (pending, then sent) and reads it back only
// when the client retries. In bbolt every group commit of those cost two
// fdatasyncs and a B+tree's pages rewritten: a quarter of the proxy's CPU
// per SEND, and most of the 0.7-0.9 ms its answer waited for the commit.
// Appended, a group commit is one write and one fdatasync per file.
//
// A file (a segment) holds the records whose expiry falls in one span of
// time, so that a segment is deleted whole once its span has passed,
// without compaction, whatever the records' TTLs (2 minutes for a SEND,
// an hour for the legacy API's). A record that replaces another is never
// put in an earlier segment than the one it replaces: deleting a segment
// cannot bring an older record back.
//
// A segment is a run of frames: the payload's length and CRC-32C
// (Castagnoli), then the payload: a sequence number, which orders the
// records of one key across segments, then the stored record as
// appendLoggedSend writes it (expiry, key, JSON). A record whose expiry is
// 0 is a deletion. When the store is opened each segment is read to its
// first frame that does not check, and cut there: a commit that a crash
// tore was answered to nobody.

const (
	// sendSpan is the time one segment's expiries cover.
	sendSpan = 30 * time.Second
	// sendFrameHead is a frame's length and CRC; sendSeqLen its payload's
	// sequence number.
	sendFrameHead = 8
	sendSeqLen    = 8
	// maxSendRecord bounds a stored record: no face's key comes near it,
	// and a frame read back longer than it is a torn one.
	maxSendRecord = 1 << 20
)

var sendCRC = crc32.MakeTable(crc32.Castagnoli)

// sendLoc is where a key's record in force is: its segment, the stored
// record's offset and length there, its expiry (unix ns; 0 for a deletion,
// which only opening keeps in the index) and its sequence.
type sendLoc struct {
	seg     int64
	off, n  uint32
	expires int64
	seq     uint64
}

// sendSegment is one file of the log.
type sendSegment struct {
	id  int64 // the span: expiries in [id*sendSpan, (id+1)*sendSpan)
	f   *os.File
	end int64 // committed length: where the next batch goes
	// buf is the open batch's frames, written at end when it commits; the
	// writer alone touches buf and end.
	buf []byte
}

// sendLog is the log's files and its writer's state. Only the writer's
// goroutine (sendLog.commit) creates and removes segments; it changes segs
// under mu, which readers hold while they read a file.
type sendLog struct {
	dir string
	x   *sendIndex

	mu   sync.RWMutex
	segs map[int64]*sendSegment

	// broken is why the log takes no more writes: a cut after a failed
	// write that failed too.
	broken atomic.Pointer[error]
	// size is the committed bytes of the files, for the metrics: the
	// writer adds what it writes, remove takes off what it deletes.
	size atomic.Int64

	// The writer's own:
	seq   uint64
	swept int64          // segments below it are gone or going
	dirty []*sendSegment // written in the open batch
	rbuf  []byte         // a record read back
	obs   func(writes int, took time.Duration)
}

// openSendLog opens the log in dir (creating it), reads every segment and
// indexes the records in force at now into x; obs is told of its commits.
func openSendLog(dir string, x *sendIndex, now func() time.Time, obs func(writes int, took time.Duration)) (*sendLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mapping: send log: %w", err)
	}
	l := &sendLog{dir: dir, x: x, segs: map[int64]*sendSegment{}, obs: orNoObserver(obs)}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mapping: send log: %w", err)
	}
	for _, e := range names {
		id, ok := segmentID(e.Name())
		if !ok {
			continue
		}
		if err := l.load(id); err != nil {
			l.close()
			return nil, err
		}
	}
	at := now().UnixNano()
	for h, loc := range x.seqs {
		if loc.expires <= at {
			delete(x.seqs, h)
		}
	}
	return l, nil
}

func segmentName(id int64) string { return fmt.Sprintf("%016x.log", id) }

func segmentID(name string) (int64, bool) {
	hex, ok := strings.CutSuffix(name, ".log")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	id, err := strconv.ParseInt(hex, 16, 64)
	return id, err == nil
}

// load reads segment id into the index and cuts a torn end off it.
func (l *sendLog) load(id int64) error {
	path := filepath.Join(l.dir, segmentName(id))
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("mapping: send log: %w", err)
	}
	seg := &sendSegment{id: id, f: f}
	l.segs[id] = seg
	good, err := scanSegment(f, func(off int64, seq uint64, rec []byte) {
		l.index(seg.id, off, seq, rec)
		l.seq = max(l.seq, seq)
	})
	if err != nil {
		return fmt.Errorf("mapping: send log %s: %w", path, err)
	}
	seg.end = good
	l.size.Add(good)
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("mapping: send log %s: %w", path, err)
	} else if fi.Size() != good {
		if err := f.Truncate(good); err != nil {
			return fmt.Errorf("mapping: send log %s: cut at %d: %w", path, good, err)
		}
		if err := fdatasync(f); err != nil {
			return fmt.Errorf("mapping: send log %s: %w", path, err)
		}
	}
	return nil
}

// index takes a record read from a segment into the index, unless a later
// one of its key is there.
func (l *sendLog) index(seg, off int64, seq uint64, rec []byte) {
	key, _, _ := loggedKey(rec)
	h := l.x.hash(key)
	if cur, ok := l.x.seqs[h]; ok && cur.seq > seq {
		return
	}
	l.x.seqs[h] = sendLoc{seg: seg, off: uint32(off), n: uint32(len(rec)), expires: loggedExpiry(rec), seq: seq}
}

// scanSegment calls fn with each whole frame of r from its start: the
// stored record's offset, the sequence and the record (valid during the
// call). It returns where the last whole frame ends; only a failure to
// read is an error.
func scanSegment(r io.Reader, fn func(off int64, seq uint64, rec []byte)) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		head [sendFrameHead]byte
		pay  []byte
		at   int64
	)
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return at, readEnd(err)
		}
		n, sum := binary.BigEndian.Uint32(head[:4]), binary.BigEndian.Uint32(head[4:])
		if n < sendSeqLen+8 || n > sendSeqLen+maxSendRecord {
			return at, nil
		}
		if cap(pay) < int(n) {
			pay = make([]byte, n)
		}
		pay = pay[:n]
		if _, err := io.ReadFull(br, pay); err != nil {
			return at, readEnd(err)
		}
		rec := pay[sendSeqLen:]
		if crc32.Checksum(pay, sendCRC) != sum {
			return at, nil
		}
		if _, _, ok := loggedKey(rec); !ok {
			return at, nil
		}
		fn(at+sendFrameHead+sendSeqLen, binary.BigEndian.Uint64(pay), rec)
		at += sendFrameHead + int64(n)
	}
}

// readEnd is what running out of a segment mid-frame means: its end.
func readEnd(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// loggedExpiry is a stored record's expiry, unix ns.
func loggedExpiry(rec []byte) int64 { return int64(binary.BigEndian.Uint64(rec[:8])) }

// spanOf is the segment of an expiry.
func spanOf(expires int64) int64 { return expires / int64(sendSpan) }

// segment is the segment of span id, created when missing; the writer's.
func (l *sendLog) segment(id int64) (*sendSegment, error) {
	id = max(id, l.swept)
	if seg := l.segs[id]; seg != nil {
		return seg, nil
	}
	path := filepath.Join(l.dir, segmentName(id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("mapping: send log: %w", err)
	}
	// The new name must survive a crash with the records it will hold.
	if err := syncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("mapping: send log: %w", err)
	}
	seg := &sendSegment{id: id, f: f}
	l.mu.Lock()
	l.segs[id] = seg
	l.mu.Unlock()
	return seg, nil
}

// appendRecord adds a stored record to the open batch, in the segment of
// span (no earlier than its own expiry's), and returns where it will be.
func (l *sendLog) appendRecord(span int64, rec []byte) (sendLoc, error) {
	if len(rec) > maxSendRecord {
		return sendLoc{}, fmt.Errorf("mapping: send record of %d bytes", len(rec))
	}
	expires := loggedExpiry(rec)
	seg, err := l.segment(max(span, spanOf(expires)))
	if err != nil {
		return sendLoc{}, err
	}
	if seg.end+int64(len(seg.buf)+sendFrameHead+sendSeqLen+len(rec)) > math.MaxUint32 {
		// Where a record is, is 32 bits: 30 s of expiries would have to
		// come at 140 MB/s to reach it.
		return sendLoc{}, fmt.Errorf("mapping: send log %s is full", segmentName(seg.id))
	}
	if len(seg.buf) == 0 {
		l.dirty = append(l.dirty, seg)
	}
	l.seq++
	start := len(seg.buf)
	seg.buf = appendFrame(seg.buf, l.seq, rec)
	off := seg.end + int64(start) + sendFrameHead + sendSeqLen
	return sendLoc{seg: seg.id, off: uint32(off), n: uint32(len(rec)), expires: expires, seq: l.seq}, nil
}

// appendFrame appends the frame of a stored record.
func appendFrame(b []byte, seq uint64, rec []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(sendSeqLen+len(rec)))
	b = append(b, 0, 0, 0, 0) // the CRC, once the payload is in
	b = binary.BigEndian.AppendUint64(b, seq)
	b = append(b, rec...)
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+sendFrameHead:], sendCRC))
	return b
}

// staged is a record of the open batch, by where appendRecord put it.
func (l *sendLog) staged(loc sendLoc) []byte {
	seg := l.segs[loc.seg]
	start := int64(loc.off) - seg.end
	return seg.buf[start : start+int64(loc.n)]
}

// read is the committed record at loc, in buf; nil when its segment is gone
// (it had expired).
func (l *sendLog) read(loc sendLoc, buf []byte) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	seg := l.segs[loc.seg]
	if seg == nil {
		return nil, nil
	}
	if cap(buf) < int(loc.n) {
		buf = make([]byte, loc.n)
	}
	buf = buf[:loc.n]
	if _, err := seg.f.ReadAt(buf, int64(loc.off)); err != nil {
		return nil, fmt.Errorf("mapping: send log: read %s at %d: %w", segmentName(loc.seg), loc.off, err)
	}
	return buf, nil
}

// flush writes the open batch's frames and syncs each file written; on a
// failure the files are cut back to what was committed before.
func (l *sendLog) flush() error {
	if err := l.err(); err != nil {
		l.discard()
		return err
	}
	var err error
	for _, seg := range l.dirty {
		if _, err = seg.f.WriteAt(seg.buf, seg.end); err == nil {
			err = fdatasync(seg.f)
		}
		if err != nil {
			err = fmt.Errorf("mapping: send log %s: %w", segmentName(seg.id), err)
			break
		}
	}
	if err != nil {
		for _, seg := range l.dirty {
			if cut := seg.f.Truncate(seg.end); cut != nil {
				// What is past end may hold records answered as failed:
				// appending after them would let a later open find them.
				why := fmt.Errorf("mapping: send log %s: cut after a failed write: %w", segmentName(seg.id), cut)
				l.broken.CompareAndSwap(nil, &why)
			}
		}
		l.discard()
		return err
	}
	for _, seg := range l.dirty {
		seg.end += int64(len(seg.buf))
		l.size.Add(int64(len(seg.buf)))
		seg.buf = seg.buf[:0]
	}
	l.dirty = l.dirty[:0]
	return nil
}

// discard forgets the open batch's frames.
func (l *sendLog) discard() {
	for _, seg := range l.dirty {
		seg.buf = seg.buf[:0]
	}
	l.dirty = l.dirty[:0]
}

// commit is the log's group commit: each write applied in order, their
// records written with one write and one fdatasync per segment, and the
// index changed once they are durable. A sweep in the batch cuts the
// spans that ended once the others' records are written.
func (l *sendLog) commit(batch []*writeReq) {
	start := time.Now()
	l.x.begin()
	wrote := false
	for _, r := range batch {
		r.err = r.send.applyLog(l)
		wrote = wrote || r.send.out.wrote
	}
	if wrote {
		if err := l.flush(); err != nil {
			for _, r := range batch {
				if r.err == nil {
					r.err = storeErr(err)
				}
			}
			l.x.begin() // nothing of it was kept
		} else {
			l.x.commit()
		}
		l.obs(len(batch), time.Since(start))
	}
	for _, r := range batch {
		if r.send.op == opSweep && r.err == nil {
			r.send.out.gone = l.cut(r.send.now)
		}
	}
}

// cut takes the segments whose span ended by now out of the log, for the
// sweep to remove; the writer's.
func (l *sendLog) cut(now time.Time) []*sendSegment {
	l.swept = max(l.swept, spanOf(now.UnixNano()))
	var gone []*sendSegment
	l.mu.Lock()
	for id, seg := range l.segs {
		if id < l.swept {
			gone = append(gone, seg)
			delete(l.segs, id)
		}
	}
	l.mu.Unlock()
	return gone
}

// remove deletes segments cut from the log, and the index entries that
// still name them (expired records); it returns how many those were.
func (l *sendLog) remove(ctx context.Context, gone []*sendSegment) (int, error) {
	n := 0
	var errs []error
	for _, seg := range gone {
		m, err := l.forget(ctx, seg)
		n += m
		// Its records have expired: the file goes even if the index
		// keeps an entry naming it (read finds no segment there).
		err = errors.Join(err, seg.f.Close(), os.Remove(seg.f.Name()))
		l.size.Add(-seg.end)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping: send log: remove %s: %w", segmentName(seg.id), err))
		}
	}
	if len(gone) > 0 {
		if err := syncDir(l.dir); err != nil {
			errs = append(errs, fmt.Errorf("mapping: send log: %w", err))
		}
	}
	return n, errors.Join(errs...)
}

// forget removes the index entries that name seg, a thousand at a time.
func (l *sendLog) forget(ctx context.Context, seg *sendSegment) (int, error) {
	n := 0
	var hs []sendHash
	drop := func() {
		l.x.mu.Lock()
		for _, h := range hs {
			if loc, ok := l.x.seqs[h]; ok && loc.seg == seg.id {
				delete(l.x.seqs, h)
				n++
			}
		}
		l.x.mu.Unlock()
		hs = hs[:0]
	}
	_, err := scanSegment(io.NewSectionReader(seg.f, 0, seg.end), func(_ int64, _ uint64, rec []byte) {
		key, _, _ := loggedKey(rec)
		if hs = append(hs, l.x.hash(key)); len(hs) == sweepChunk {
			drop()
		}
	})
	drop()
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}

// err is why the log takes no more writes, if it does not.
func (l *sendLog) err() error {
	if err := l.broken.Load(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, *err)
	}
	return nil
}

// close closes the segments' files.
func (l *sendLog) close() error {
	var errs []error
	for _, seg := range l.segs {
		errs = append(errs, seg.f.Close())
	}
	return errors.Join(errs...)
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
