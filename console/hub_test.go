package console

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func frameOf(seq uint64) []byte { return []byte(strconv.FormatUint(seq, 10)) }

func TestHubDropsAPageThatFallsBehindAndKeepsTheOthers(t *testing.T) {
	m := NewMetrics(nil)
	h := newHub(4, 2, 8, m)
	slow, err := h.subscribe(0, false)
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := h.subscribe(0, false)
	for seq := uint64(1); seq <= 3; seq++ {
		h.publish(frameOf) // never blocks: the slow page reads nothing
		if got := string(<-fast.ch); got != strconv.FormatUint(seq, 10) {
			t.Fatalf("fast page got %s, want %d", got, seq)
		}
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("a page with a full buffer was not dropped")
	}
	select {
	case <-fast.gone:
		t.Fatal("a page that keeps up was dropped")
	default:
	}
	if len(slow.ch) != 2 {
		t.Fatalf("the dropped page's buffer holds %d frames, want its 2: nothing grows past it", len(slow.ch))
	}
	if got := testutil.ToFloat64(m.dropped); got != 1 {
		t.Fatalf("dropped %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.subscribers); got != 1 {
		t.Fatalf("subscribers %v, want 1", got)
	}
	h.unsubscribe(slow) // already gone: a no-op
	h.unsubscribe(fast)
	h.unsubscribe(fast)
	if got := testutil.ToFloat64(m.subscribers); got != 0 {
		t.Fatalf("subscribers %v after both left, want 0", got)
	}
}

func TestHubReplayIsBoundedByThePagesBuffer(t *testing.T) {
	h := newHub(4, 2, 8, NewMetrics(nil))
	for range 6 {
		h.publish(frameOf)
	}
	s, _ := h.subscribe(1, true) // missed 2…6, room for 2
	if a, b := string(<-s.ch), string(<-s.ch); a != "2" || b != "3" || len(s.ch) != 0 {
		t.Fatalf("replay %s %s (+%d), want 2 3", a, b, len(s.ch))
	}
}

func TestHubAfterCloseRefusesAndDropsNothingMore(t *testing.T) {
	h := newHub(4, 2, 8, NewMetrics(nil))
	s, _ := h.subscribe(0, false)
	h.close()
	select {
	case <-s.gone:
	default:
		t.Fatal("close did not let the page go")
	}
	h.publish(frameOf) // no panic, nothing queued
	if len(s.ch) != 0 {
		t.Fatal("a frame was queued after close")
	}
	if _, err := h.subscribe(0, false); err != errHubClosed {
		t.Fatalf("subscribe after close: %v", err)
	}
	h.close()
}
