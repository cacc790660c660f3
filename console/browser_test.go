package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsoleInChromium runs test/browser/console.test.mjs: Debian's
// Chromium, headless, driven by puppeteer-core, plays a whole conversation
// on each face of /demo/ against a demo-mode proxy, and saves screenshots
// of the three panes at desktop and phone width. Then the transcript the
// page downloaded is read back: it must hold what was said, but not the
// whisper.
func TestConsoleInChromium(t *testing.T) {
	dir, err := filepath.Abs("../test/browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		t.Fatalf("puppeteer-core is not installed: run `PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix test/browser` at the repository root (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	browser := chromium(t)
	shots := screenshotDir(t)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startDemoProxy(t)
	downloads := t.TempDir()
	stamp := time.Now().Format("150405")
	said := map[string]string{
		"CUSTOMER_TEXT":   "Hello, my parcel has not arrived " + stamp,
		"AGENT_TEXT":      "Sorry to hear that, let me look " + stamp,
		"WHISPER_TEXT":    "whisper: check the courier first " + stamp,
		"CONNECTOR_TEXT":  "Hi from the messaging app " + stamp,
		"CONNECTOR_REPLY": "Hello messaging app, agent here " + stamp,
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PROXY_URL="+strings.TrimSuffix(p.ConsoleURL(), "/demo/"),
		"CHROMIUM="+browser,
		"SCREENSHOT_DIR="+shots,
		"DOWNLOAD_DIR="+downloads,
		"PUPPETEER_SKIP_DOWNLOAD=1",
	)
	for k, v := range said {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)

	m := regexp.MustCompile(`TRANSCRIPT (transcript-[0-9a-f-]+\.pdf)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the browser test did not report the transcript it downloaded:\n%s", out)
	}
	text := strings.Join(strings.Fields(pdfText(t, filepath.Join(downloads, string(m[1])))), " ")
	for _, k := range []string{"CUSTOMER_TEXT", "AGENT_TEXT"} {
		if !strings.Contains(text, said[k]) {
			t.Errorf("the downloaded transcript lacks %s %q:\n%s", k, said[k], text)
		}
	}
	if strings.Contains(text, said["WHISPER_TEXT"]) {
		t.Errorf("the downloaded transcript shows the whisper:\n%s", text)
	}
	for _, width := range []string{"desktop", "phone"} {
		for _, pane := range []string{"customer", "connector", "agent"} {
			name := filepath.Join(shots, width+"-"+pane+".png")
			if st, err := os.Stat(name); err != nil || st.Size() < 1000 {
				t.Errorf("screenshot %s missing or empty: %v", name, err)
			}
		}
	}
	t.Logf("screenshots in %s", shots)
}
