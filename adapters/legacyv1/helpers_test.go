package legacyv1

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// golden reads testdata/golden/name.json.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readGolden(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readGolden is golden for the fuzz targets' seeds.
func readGolden(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
}

// decodeStrict decodes b into v, refusing fields v does not have: a golden
// sample must decode entirely into the model, or the model misses a field.
func decodeStrict(t *testing.T, name string, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode into %T: %v", name, v, err)
	}
}

// flatten maps every leaf of a JSON document to its canonical JSON, keyed by
// its path ("dialogs[0].connections[1].participantId"). Empty leaves ("",
// 0, null, {}, []) are left out: a field a model omits when empty and one
// it writes empty say the same.
func flatten(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("flatten %s: %v", doc, err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for i, e := range x {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		case nil:
		case string:
			if x != "" {
				out[path] = strconv.Quote(x)
			}
		case json.Number:
			if f, err := x.Float64(); err != nil || f != 0 {
				out[path] = x.String()
			}
		default:
			b, _ := json.Marshal(x)
			out[path] = string(b)
		}
	}
	walk("", v)
	return out
}

// fieldRules say, per path (a path covers everything under it), why a
// translated document is not equal to the other column's sample there.
type fieldRules struct {
	// differs: both carry the field, with other values, because the
	// seed's two samples describe different things (another account,
	// another instant) or the mapping cannot tell two legacy values apart.
	differs map[string]string
	// lost: the sample has the field; the translation cannot make it,
	// since the source document does not carry what it is made from.
	lost map[string]string
	// added: the translation writes a field the sample leaves out.
	added map[string]string
}

func covers(rule, path string) bool {
	return path == rule || strings.HasPrefix(path, rule+".") || strings.HasPrefix(path, rule+"[")
}

func ruleFor(rules map[string]string, path string) (string, bool) {
	for r := range rules {
		if covers(r, path) {
			return r, true
		}
	}
	return "", false
}

// compareFields checks got against want field by field: equal wherever no
// rule speaks, and each rule true of the documents (a rule that no longer
// holds fails, so that the lists stay honest).
func compareFields(t *testing.T, got, want []byte, rules fieldRules) {
	t.Helper()
	g, w := flatten(t, got), flatten(t, want)
	used := map[string]bool{}
	paths := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range []map[string]string{g, w} {
			for p := range m {
				if !seen[p] {
					seen[p] = true
					if !yield(p) {
						return
					}
				}
			}
		}
	})
	for _, p := range paths {
		gv, inG := g[p]
		wv, inW := w[p]
		if r, ok := ruleFor(rules.differs, p); ok {
			used["differs "+r] = true
			continue // checked as a whole below
		}
		if r, ok := ruleFor(rules.lost, p); ok {
			used["lost "+r] = true
			if inG {
				t.Errorf("%s: documented as lost (%s) but translated as %s", p, rules.lost[r], gv)
			}
			continue
		}
		if r, ok := ruleFor(rules.added, p); ok {
			used["added "+r] = true
			if inW {
				t.Errorf("%s: documented as added (%s) but the sample has %s", p, rules.added[r], wv)
			}
			continue
		}
		switch {
		case !inG:
			t.Errorf("%s: the sample has %s, the translation nothing", p, wv)
		case !inW:
			t.Errorf("%s: the translation has %s, the sample nothing", p, gv)
		case gv != wv:
			t.Errorf("%s: translated %s, the sample has %s", p, gv, wv)
		}
	}
	for r, why := range rules.differs {
		var gs, ws []string
		for _, p := range paths {
			if covers(r, p) {
				if v, ok := g[p]; ok {
					gs = append(gs, p+"="+v)
				}
				if v, ok := w[p]; ok {
					ws = append(ws, p+"="+v)
				}
			}
		}
		switch {
		case len(gs) == 0 || len(ws) == 0:
			t.Errorf("%s: documented as differing (%s) but not in both documents (translated %v, sample %v)", r, why, gs, ws)
		case slices.Equal(gs, ws):
			t.Errorf("%s: documented as differing (%s) but equal: %v", r, why, gs)
		}
	}
	for r := range rules.lost {
		if !used["lost "+r] {
			t.Errorf("%s: documented as lost but the sample does not have it", r)
		}
	}
	for r := range rules.added {
		if !used["added "+r] {
			t.Errorf("%s: documented as added but the translation does not write it", r)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeClock is an injected clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
