package mapping

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMemIndexShowsATransactionsChangesOnlyOnceItCommits(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Queues of one shard (one owner's conversations share its shard), so
	// that one scan sees them all.
	owner := ConsumerKey{Face: FaceConnectorAPI, Account: "a", Consumer: "c"}
	qs := []string{NewConversationID(owner), NewConversationID(owner), NewConversationID(owner)}
	shard := ShardOf(qs[0])
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	m := newMemIndex()
	errRolledBack := errors.New("rolled back")
	steps := []struct {
		name string
		tx   func()
		fail bool
		now  int64
		want []string
	}{
		{"a committed set is seen", func() { m.set(qs[0], at(10)); m.set(qs[1], at(5)) }, false, 20, []string{qs[1], qs[0]}},
		{"only what is due", nil, false, 7, []string{qs[1]}},
		{"a rolled-back change is not", func() { m.del(qs[1]); m.set(qs[2], at(1)) }, true, 20, []string{qs[1], qs[0]}},
		{"keepEarlier keeps the earlier time", func() { m.keepEarlier(qs[1], at(50)) }, false, 7, []string{qs[1]}},
		{"keepEarlier takes a new earlier one", func() { m.keepEarlier(qs[0], at(2)) }, false, 20, []string{qs[0], qs[1]}},
		{"the transaction reads its own changes", func() {
			m.del(qs[0])
			if _, ok := m.get(qs[0]); ok {
				t.Error("a deleted queue is still read in its transaction")
			}
			m.set(qs[2], at(3))
		}, false, 20, []string{qs[2], qs[1]}},
	}
	for _, st := range steps {
		if st.tx != nil {
			err := db.Update(func(tx *bolt.Tx) error {
				m.begin()
				tx.OnCommit(m.commit)
				st.tx()
				if st.fail {
					return errRolledBack
				}
				return nil
			})
			if (err != nil) != st.fail {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if got := m.scan(shard, at(st.now), 10); !slices.Equal(got, st.want) {
			t.Fatalf("%s: scan at %d = %v, want %v", st.name, st.now, got, st.want)
		}
	}
	if got := m.scan(shard, at(100), 1); !slices.Equal(got, []string{qs[2]}) {
		t.Fatalf("scan with limit 1 = %v", got)
	}
	if e, ok := m.earliest(shard); !ok || !e.Equal(at(3)) {
		t.Fatalf("earliest = %v, %v; want %v", e, ok, at(3))
	}
}
