package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// metricName is a collector's name in the Go sources, the label
	// names of its vector (when it is one) following before the next
	// collector.
	metricName  = regexp.MustCompile(`Name:\s*"connector_proxy_([a-z0-9_]+)"`)
	metricLabel = regexp.MustCompile(`\},\s*\[\]string\{([^}]*)\}`)
	quoted      = regexp.MustCompile(`"([^"]*)"`)
	tableRow    = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\| (.*) \\|$")
	parens      = regexp.MustCompile(`\([^)]*\)`)
	backticked  = regexp.MustCompile("`([^`]*)`")
)

// codeMetrics maps each connector_proxy_ collector the sources make to its
// label names, sorted.
func codeMetrics(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ms := metricName.FindAllSubmatchIndex(src, -1)
		for i, m := range ms {
			end := len(src)
			if i+1 < len(ms) {
				end = ms[i+1][0]
			}
			seg := src[m[1]:end]
			if next := strings.Index(string(seg), "prometheus.New"); next >= 0 {
				seg = seg[:next]
			}
			labels := []string{}
			if l := metricLabel.FindSubmatch(seg); l != nil {
				for _, q := range quoted.FindAllSubmatch(l[1], -1) {
					labels = append(labels, string(q[1]))
				}
			}
			slices.Sort(labels)
			out[string(src[m[2]:m[3]])] = labels
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readmeMetrics maps each row of the README's metrics table to the label
// names it lists (the values in parentheses left out), sorted.
func readmeMetrics(t *testing.T, root string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "**Metrics**")
	if start < 0 {
		t.Fatal("the README has no **Metrics** table")
	}
	out := map[string][]string{}
	for _, line := range strings.Split(text[start:], "\n")[1:] {
		if strings.HasPrefix(line, "plus ") {
			break
		}
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		labels := []string{}
		for _, b := range backticked.FindAllStringSubmatch(parens.ReplaceAllString(m[2], ""), -1) {
			labels = append(labels, b[1])
		}
		slices.Sort(labels)
		out[m[1]] = labels
	}
	if len(out) == 0 {
		t.Fatal("the README's metrics table has no rows")
	}
	return out
}

// The README's metrics table names every connector_proxy_ series the code
// makes, with the code's labels, and nothing else.
func TestMetricsTableMatchesTheCode(t *testing.T) {
	root := repoRoot(t)
	code, readme := codeMetrics(t, root), readmeMetrics(t, root)
	if len(code) < 20 {
		t.Fatalf("found only %d collectors in the sources: the scan is broken", len(code))
	}
	for name, labels := range code {
		doc, ok := readme[name]
		switch {
		case !ok:
			t.Errorf("`%s` (labels %v) is not in the README's metrics table", name, labels)
		case !slices.Equal(doc, labels):
			t.Errorf("`%s`: the README lists labels %v, the code has %v", name, doc, labels)
		}
	}
	for name := range readme {
		if _, ok := code[name]; !ok {
			t.Errorf("the README's metrics table lists `%s`, which the code does not make", name)
		}
	}
}
