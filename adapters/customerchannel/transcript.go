package customerchannel

import (
	"context"
	"fmt"
	"strings"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// handleTranscript serves GET or POST /api/customer/transcript/{id}/{type}:
// rest is "{id}/{type}". The customer proves the right to it (see
// transcriptaccess.go); an email is sent once per MailEvery at most.
func (f *Face) handleTranscript(ctx *fasthttp.RequestCtx, rest string) {
	id, typ, ok := strings.Cut(rest, "/")
	if !ok || id == "" || strings.Contains(typ, "/") {
		writeError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "use /api/customer/transcript/{id}/{pdf|email}")
		f.m.transcriptDone("", ctx.Response.StatusCode())
		return
	}
	defer func() { f.m.transcriptDone(typ, ctx.Response.StatusCode()) }()
	if typ != "pdf" && typ != "email" {
		writeError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "type must be pdf or email")
		return
	}
	cctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout+f.cfg.SMTP.Timeout)
	defer cancel()
	ferr := func() *httpFail {
		conv, ferr := f.authorizeTranscript(cctx, id, proofOf(ctx))
		if ferr != nil {
			return ferr
		}
		if conv.Open() {
			return &httpFail{status: fasthttp.StatusNotFound, code: "ONGOING", msg: "the conversation has not ended"}
		}
		if typ == "email" {
			return f.emailTranscript(cctx, conv)
		}
		pdf, ferr := f.transcript(cctx, conv)
		if ferr != nil {
			return ferr
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("application/pdf")
		ctx.Response.Header.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"transcript-%s.pdf\"", safeFileName(conv.ID)))
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBody(pdf)
		return nil
	}()
	if ferr != nil {
		if ferr.status >= 500 {
			f.log.Warn("customerchannel: transcript failed", "conversation", id, "error", ferr)
		}
		writeFail(ctx, ferr)
	}
}

// emailTranscript mails the transcript unless it was mailed within
// MailEvery (then it answers 200 and sends nothing, so a repeated or
// replayed request mails nobody twice).
func (f *Face) emailTranscript(ctx context.Context, conv *mapping.Conversation) *httpFail {
	if conv.Attrs[attrEmail] == "" || f.cfg.SMTP.Addr == "" {
		return f.mailTranscript(ctx, conv, nil) // the refusal it gives for these
	}
	send, release, ferr := f.claimMail(ctx, conv)
	if ferr != nil || !send {
		return ferr
	}
	pdf, ferr := f.transcript(ctx, conv)
	if ferr == nil {
		ferr = f.mailTranscript(ctx, conv, pdf)
	}
	if ferr != nil {
		release()
	}
	return ferr
}

// transcript renders an ended conversation's PDF from its message record,
// or from every page of AXP's message list when the record is not
// complete (record.go). Unknown and ongoing conversations are 404, as the seed says.
func (f *Face) transcript(ctx context.Context, conv *mapping.Conversation) ([]byte, *httpFail) {
	doc := &transcriptDoc{
		Title:   "Conversation transcript",
		Created: f.now(),
		Header: []string{
			"Conversation: " + conv.ID,
			"Channel: " + conv.Channel,
			"Customer: " + conv.Attrs[attrName],
			"Started: " + conv.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
			"Ended: " + conv.ClosedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		},
	}
	if s := conv.Attrs[attrSubject]; s != "" {
		doc.Header = append(doc.Header, "Subject: "+s)
	}
	cust := customerOf(conv)
	names := []string{cust.Name + " (" + cust.Type + ")"}
	seen := map[string]bool{names[0]: true}
	for m, err := range f.history(ctx, conv, useTranscript) {
		if err != nil {
			return nil, upstreamFail("list the messages", err)
		}
		if whisper(m) {
			continue // agents' notes are not the customer's to read
		}
		cm := f.chatMessage(conv, m)
		entry := transcriptEntry{From: cm.From.Name, Role: cm.From.Type, Text: cm.Text}
		if m.ReceivedAt != nil {
			entry.At = m.ReceivedAt.Time
		}
		for _, a := range cm.Attachments {
			entry.Text += "\n[attachment: " + firstNonEmpty(a.Name, a.ContentURL) + "]"
		}
		doc.Entries = append(doc.Entries, entry)
		if who := cm.From.Name + " (" + cm.From.Type + ")"; !seen[who] {
			seen[who] = true
			names = append(names, who)
		}
	}
	doc.Header = append(doc.Header, "Participants: "+strings.Join(names, ", "))
	return f.renderTranscript(doc), nil
}

// renderTranscript writes the PDF with the Unicode writer and the
// configured fonts, or with the WinAnsi writer when there are none or the
// fonts fail.
func (f *Face) renderTranscript(doc *transcriptDoc) []byte {
	if fs := f.transcriptFonts(); fs != nil {
		pdf, err := doc.renderUnicode(fs)
		if err == nil {
			return pdf
		}
		f.log.Warn("customerchannel: Unicode transcript failed; writing Latin-1 only", "error", err)
	}
	return doc.render()
}

// safeFileName keeps a header value free of quotes and control characters.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}
