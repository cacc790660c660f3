package console

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed static
var static embed.FS

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// contentType is the type of the kinds of file static/ holds; a file of
// another kind is not served.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	}
	return "", false
}

// loadFiles reads static/ once: the files never change in a running
// binary, so each gets its ETag at start.
func loadFiles() (map[string]*file, error) {
	files := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentType(path.Ext(p))
		if !ok {
			return nil
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[strings.TrimPrefix(p, "static/")] = &file{
			body:        body,
			contentType: ct,
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: embedded files: %w", err)
	}
	if files["index.html"] == nil {
		return nil, fmt.Errorf("console: embedded files: no index.html")
	}
	return files, nil
}

// csp allows the page's own origin only: its scripts, styles and images,
// fetch, WebSocket and EventSource to the proxy (Chromium and Firefox
// count ws: and wss: to the same host as 'self').
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

func setSecurityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// serveFile serves an embedded file; "" is index.html.
func (c *Console) serveFile(ctx *fasthttp.RequestCtx, name string) {
	if name == "" {
		name = "index.html"
	}
	f := c.files[name]
	if f == nil {
		notFound(ctx)
		return
	}
	if !readOnly(ctx) {
		return
	}
	setSecurityHeaders(ctx)
	h := &ctx.Response.Header
	// Revalidate every time: a new binary must not run an old page.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	if string(ctx.Request.Header.Peek("If-None-Match")) == f.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(f.contentType)
	ctx.SetBody(f.body)
}
