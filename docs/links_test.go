package docs

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// repoRoot is the repository's top folder, the parent of this package's.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the repository root: %v", root, err)
	}
	return root
}

// markdownFiles lists the repository's Markdown, leaving out installed
// dependencies.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s*\[[^\]]+\]:\s*(\S+)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
)

// link is one link target of a Markdown file, with its line.
type link struct {
	target string
	line   int
}

// links reads the link targets of a Markdown file, outside code.
func links(t *testing.T, path string) (out []link, anchors map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	anchors = map[string]bool{}
	seen := map[string]int{}
	fenced := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok {
			a := slug(strings.TrimLeft(h, "#"))
			if k := seen[a]; k > 0 {
				anchors[fmt.Sprintf("%s-%d", a, k)] = true
			} else {
				anchors[a] = true
			}
			seen[a]++
		}
		prose := codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(prose, -1) {
			out = append(out, link{m[1], n})
		}
		if m := refLink.FindStringSubmatch(prose); m != nil {
			out = append(out, link{m[1], n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, anchors
}

// slug is a heading's anchor as GitHub makes it: lower case, letters,
// digits, "-" and "_" kept, spaces to "-", the rest dropped.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every relative link in the README and the docs leads to a file in the
// repository (not to ../shared or anywhere else outside it), and every
// anchor to a heading of its file.
func TestRelativeLinksResolveInsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	files := markdownFiles(t, root)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	anchorsOf := map[string]map[string]bool{}
	all := map[string][]link{}
	for _, f := range files {
		all[f], anchorsOf[f] = links(t, f)
	}
	checked := 0
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		for _, l := range all[f] {
			u, err := url.Parse(l.target)
			if err != nil {
				t.Errorf("%s:%d: link %q does not parse: %v", rel, l.line, l.target, err)
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				continue // absolute URLs are the web's, not the tree's
			}
			checked++
			target := f
			if u.Path != "" {
				target = filepath.Join(filepath.Dir(f), filepath.FromSlash(u.Path))
				inside, err := filepath.Rel(root, target)
				if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
					t.Errorf("%s:%d: link %q leaves the repository", rel, l.line, l.target)
					continue
				}
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s:%d: link %q: no such file %s", rel, l.line, l.target, inside)
					continue
				}
			}
			if u.Fragment != "" && strings.HasSuffix(target, ".md") {
				if a, ok := anchorsOf[target]; ok && !a[u.Fragment] {
					t.Errorf("%s:%d: link %q: no heading with anchor #%s", rel, l.line, l.target, u.Fragment)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link was checked: the scan is broken")
	}
}

func TestSlugMatchesGitHubAnchors(t *testing.T) {
	for h, want := range map[string]string{
		" The Messaging Connector API face":                             "the-messaging-connector-api-face",
		" Quick start (fresh machine with Go 1.26)":                     "quick-start-fresh-machine-with-go-126",
		" Pointing an existing LivePerson connector at connector-proxy": "pointing-an-existing-liveperson-connector-at-connector-proxy",
		" `error` codes — what to do":                                   "error-codes--what-to-do",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}
