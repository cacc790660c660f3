package customerchannel

import (
	"context"
	"encoding/base64"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStockClientConversation runs test/socketio/customer.test.mjs (the
// stock socket.io-client with default options) against the whole path on
// loopback, then checks that the email transcript reached the SMTP sink with
// the conversation's PDF attached.
func TestStockClientConversation(t *testing.T) {
	dir, err := filepath.Abs("../../test/socketio")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client is not installed: run `npm ci --prefix test/socketio` (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is required for this test: install poppler-utils (apt-get install -y poppler-utils)")
	}
	r := newRig(t, nil)
	const email = "nora@example.com"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "customer.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PROXY_URL="+r.proxyURL, "SIM_URL="+r.sim.URL, "SIM_ACCOUNT="+rigAccount, "CUSTOMER_EMAIL="+email)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`CONVERSATION (\S+) (.+) \| (.+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the script did not report its conversation:\n%s", out)
	}
	convID, customerText, agentText := string(m[1]), string(m[2]), strings.TrimSpace(string(m[3]))

	var got receivedMail
	select {
	case got = <-r.smtp.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail reached the SMTP sink")
	}
	select { // the script asked twice: the second is within the cool-down
	case again := <-r.smtp.ch:
		t.Fatalf("a second mail was sent to %s", again.To)
	default:
	}
	if got.To != email {
		t.Errorf("mail went to %q, want %q", got.To, email)
	}
	pdf := attachedPDF(t, got.Data)
	checkPDFStructure(t, pdf)
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{convID, customerText, agentText} {
		if !strings.Contains(text, want) {
			t.Errorf("mailed transcript lacks %q:\n%s", want, text)
		}
	}
}

// attachedPDF returns the application/pdf part of a MIME message.
func attachedPDF(t *testing.T, data string) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("mail does not parse: %v", err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("mail content type: %v", err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("mail has no PDF part: %v", err)
		}
		if p.Header.Get("Content-Type") != "application/pdf" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(readAll(t, p)), ""))
		if err != nil {
			t.Fatalf("PDF part: %v", err)
		}
		return b
	}
}

func readAll(t *testing.T, p *multipart.Part) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := p.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
