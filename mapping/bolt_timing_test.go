package mapping

import (
	"path/filepath"
	"testing"
)

func BenchmarkBolt(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchStore(b, s)
}
