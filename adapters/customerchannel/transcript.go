package customerchannel

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// handleTranscript serves GET /api/customer/transcript/{id}/{type}: rest is
// "{id}/{type}".
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
	conv, pdf, ferr := f.transcript(cctx, id)
	if ferr == nil && typ == "email" {
		ferr = f.mailTranscript(cctx, conv, pdf)
	}
	if ferr != nil {
		if ferr.status >= 500 {
			f.log.Warn("customerchannel: transcript failed", "conversation", id, "error", ferr)
		}
		writeFail(ctx, ferr)
		return
	}
	if typ == "email" {
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/pdf")
	ctx.Response.Header.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"transcript-%s.pdf\"", safeFileName(conv.ID)))
	ctx.SetBody(pdf)
}

// transcript renders an ended conversation's PDF from every page of AXP's
// message list. Unknown and ongoing conversations are 404, as the seed says.
func (f *Face) transcript(ctx context.Context, id string) (*mapping.Conversation, []byte, *httpFail) {
	conv, err := f.store.Conversation(ctx, id)
	if errors.Is(err, mapping.ErrNotFound) || (err == nil && conv.Owner.Face != mapping.FaceCustomerChannel) {
		return nil, nil, &httpFail{status: fasthttp.StatusNotFound, code: "NOT_FOUND", msg: "no such conversation"}
	}
	if err != nil {
		return nil, nil, upstreamFail("load the conversation", err)
	}
	if conv.Open() {
		return nil, nil, &httpFail{status: fasthttp.StatusNotFound, code: "ONGOING", msg: "the conversation has not ended"}
	}
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
	for m, err := range f.backend.AllMessages(ctx, conv.EngagementID, conv.SessionID, conv.DialogID) {
		if err != nil {
			return nil, nil, upstreamFail("list the messages", err)
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
	return conv, doc.render(), nil
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
