package customerchannel

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

// errNoSMTP is returned when no mail server is configured.
var errNoSMTP = errors.New("customerchannel: no SMTP server configured")

// mailTranscript mails the transcript to the address the customer gave at
// init: a short text part and the PDF attached.
func (f *Face) mailTranscript(ctx context.Context, conv *mapping.Conversation, pdf []byte) *httpFail {
	to := conv.Attrs[attrEmail]
	if to == "" {
		return &httpFail{status: fasthttp.StatusNotFound, code: "NO_EMAIL", msg: "the customer gave no email address"}
	}
	if f.cfg.SMTP.Addr == "" {
		return &httpFail{status: fasthttp.StatusServiceUnavailable, code: "UNAVAILABLE", msg: "email transcripts are not configured", err: errNoSMTP}
	}
	msg := transcriptMail(f.cfg.SMTP.From, to, conv, pdf, f.now())
	if err := f.sendMail(ctx, to, msg); err != nil {
		return &httpFail{status: fasthttp.StatusServiceUnavailable, code: "UNAVAILABLE", msg: "the mail server did not take the transcript", err: err}
	}
	return nil
}

// transcriptMail builds the MIME message. The addresses were validated by
// net/mail at init, so they carry no header injection.
func transcriptMail(from, to string, conv *mapping.Conversation, pdf []byte, now time.Time) []byte {
	boundary := "cc-" + strings.ReplaceAll(uuid.NewString(), "-", "")
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", "Your conversation transcript"))
	hdr("Date", now.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+uuid.NewString()+"@connector-proxy>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	text := fmt.Sprintf("Hello %s,\r\n\r\nthe transcript of your conversation %s is attached.\r\n", conv.Attrs[attrName], conv.ID)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary)
	writeBase64(&b, []byte(text))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"transcript-%s.pdf\"\r\n\r\n",
		boundary, safeFileName(conv.ID))
	writeBase64(&b, pdf)
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// writeBase64 writes data in base64 lines of 76 characters (RFC 2045).
func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

// sendSMTP delivers one message with net/smtp: STARTTLS when the server
// offers it, PLAIN auth when a user is configured, all within ctx and the
// configured timeout.
func sendSMTP(ctx context.Context, cfg SMTPConfig, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("customerchannel: dial SMTP %s: %w", cfg.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fmt.Errorf("customerchannel: SMTP deadline: %w", err)
		}
	}
	// Closing the connection unblocks the client when ctx ends early.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	host, _, _ := net.SplitHostPort(cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("customerchannel: SMTP greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("customerchannel: SMTP STARTTLS: %w", err)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return fmt.Errorf("customerchannel: SMTP auth: %w", err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("customerchannel: SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("customerchannel: SMTP RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("customerchannel: SMTP DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("customerchannel: SMTP write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("customerchannel: SMTP end of data: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("customerchannel: SMTP QUIT: %w", err)
	}
	return nil
}
