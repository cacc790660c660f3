package mapping

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// sendsInForce is how many records the send index holds.
func sendsInForce(b *Bolt) int { return b.sends.len() }

// segmentFiles are the names of the send log's files, in order.
func segmentFiles(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(path + ".sends")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// segmentPath is the path of a file of the send log.
func segmentPath(path, name string) string { return filepath.Join(path+".sends", name) }

// appendTestFrame appends the frame of the send log holding rec under key,
// with sequence seq.
func appendTestFrame(tb testing.TB, b []byte, seq uint64, key []byte, rec SendRecord, expires time.Time) []byte {
	tb.Helper()
	v, err := appendLoggedSend(nil, key, rec, expires)
	if err != nil {
		tb.Fatal(err)
	}
	return appendFrame(b, seq, v)
}

// fileBytes is the size of the file at path, and segmentBytes the sum of
// the send log's files.
func fileBytes(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func segmentBytes(t *testing.T, path string) int64 {
	t.Helper()
	var n int64
	for _, name := range segmentFiles(t, path) {
		n += fileBytes(t, segmentPath(path, name))
	}
	return n
}
