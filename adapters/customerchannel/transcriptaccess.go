package customerchannel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// Who may have a transcript: the conversation's customer, proved as
// joinConversation proves it, by the participant id init handed out
// (header X-Participant-Id), or by a signed, short-lived link that the face
// hands to that customer (the endOfConversation activity's and
// conversationInfo's transcript links): ?token={expiry}.{signature}, the
// signature an HMAC-SHA256 keyed by the participant id itself, so that
// every replica can check it with nothing but the conversation's record
// and a leaked link dies at its expiry. A request with no proof is 401;
// a wrong proof is the same 404 as an unknown conversation.

// Defaults of TranscriptConfig.
const (
	DefaultTranscriptLinkTTL   = time.Hour
	DefaultTranscriptMailEvery = 10 * time.Minute
	DefaultTranscriptMailRate  = 30 // a minute, for the whole face
)

// HeaderParticipant carries the participant id that proves a customer's
// right to their transcript.
const HeaderParticipant = "X-Participant-Id"

// attrMailedAt is when the transcript was last mailed (RFC 3339).
const attrMailedAt = "cc.transcriptMailedAt"

// TranscriptConfig configures transcripts.
type TranscriptConfig struct {
	// Fonts are TrueType files tried in order for each character (a list
	// covering the scripts customers write); missing files are skipped.
	// Default: DefaultTranscriptFonts(). None readable: the built-in
	// WinAnsi writer (Latin-1 text only).
	Fonts []string
	// BoldFont is the headings' face (default DefaultTranscriptBoldFont).
	BoldFont string
	// LinkTTL is how long a transcript link stays good (default 1 h).
	LinkTTL time.Duration
	// MailEvery is how long after a mailed transcript another request
	// mails it again (default 10 min); sooner, it is answered and nothing
	// is sent.
	MailEvery time.Duration
	// MailPerMinute bounds the transcripts the face mails, all
	// conversations together (default 30); past it, 429 with Retry-After.
	MailPerMinute int
}

// TranscriptLinks are the signed links of an ended conversation's
// transcript, relative to the proxy's public URL.
type TranscriptLinks struct {
	PDF       string `json:"pdf"`
	Email     string `json:"email"`
	ExpiresAt string `json:"expiresAt"`
}

// transcriptLinks signs links for conv good for the configured TTL; nil
// when conv has no participant to prove.
func (f *Face) transcriptLinks(conv *mapping.Conversation) *TranscriptLinks {
	secret := conv.Attrs[attrParticipant]
	if secret == "" {
		return nil
	}
	exp := f.now().Add(f.cfg.Transcript.LinkTTL).Truncate(time.Second)
	tok := url.QueryEscape(transcriptToken(secret, conv.ID, exp))
	base := "/api/customer/transcript/" + url.PathEscape(conv.ID) + "/"
	return &TranscriptLinks{PDF: base + "pdf?token=" + tok, Email: base + "email?token=" + tok, ExpiresAt: stamp(exp)}
}

func transcriptToken(secret, convID string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + transcriptSig(secret, convID, e)
}

func transcriptSig(secret, convID, exp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("connector-proxy transcript\x00" + convID + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// The refusals of transcript access.
func errNoProof() *httpFail {
	return &httpFail{status: fasthttp.StatusUnauthorized, code: "PROOF_REQUIRED",
		msg: "send the participant id from init in " + HeaderParticipant + ", or use a transcript link"}
}

func errLinkExpired() *httpFail {
	return &httpFail{status: fasthttp.StatusUnauthorized, code: "LINK_EXPIRED",
		msg: "the transcript link has expired; rejoin the conversation for a new one"}
}

func errNoSuchConv() *httpFail {
	return &httpFail{status: fasthttp.StatusNotFound, code: "NOT_FOUND", msg: "no such conversation"}
}

// transcriptProof is what a request presents.
type transcriptProof struct {
	participant string
	token       string
}

func proofOf(ctx *fasthttp.RequestCtx) transcriptProof {
	return transcriptProof{
		participant: strings.TrimSpace(string(ctx.Request.Header.Peek(HeaderParticipant))),
		token:       string(ctx.QueryArgs().Peek("token")),
	}
}

// authorizeTranscript loads the conversation and checks the proof; it
// answers 401 before any lookup when there is none.
func (f *Face) authorizeTranscript(ctx context.Context, id string, p transcriptProof) (*mapping.Conversation, *httpFail) {
	if p.participant == "" && p.token == "" {
		return nil, errNoProof()
	}
	conv, err := f.store.Conversation(ctx, id)
	if errors.Is(err, mapping.ErrNotFound) || (err == nil && conv.Owner.Face != mapping.FaceCustomerChannel) {
		return nil, errNoSuchConv()
	}
	if err != nil {
		return nil, upstreamFail("load the conversation", err)
	}
	secret := conv.Attrs[attrParticipant]
	if secret == "" {
		return nil, errNoSuchConv()
	}
	if p.participant != "" {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(p.participant)) != 1 {
			return nil, errNoSuchConv()
		}
		return conv, nil
	}
	exp, sig, ok := strings.Cut(p.token, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(transcriptSig(secret, conv.ID, exp)), []byte(sig)) != 1 {
		return nil, errNoSuchConv()
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !f.now().Before(time.Unix(secs, 0)) {
		return nil, errLinkExpired()
	}
	return conv, nil
}

// mailGate makes mailing idempotent and bounded: one mail per conversation
// per MailEvery (recorded with the conversation, so replicas sharing the
// store agree), and at most MailPerMinute mails a minute from this face.
type mailGate struct {
	mu     sync.Mutex // serialises claims on this replica
	window time.Time  // start of the current minute's count
	sent   int
}

// claim decides a mail request: send (true) after recording the claim;
// already sent within MailEvery (false, nil); or refused by the rate
// limit. release undoes a claim whose mail failed.
func (f *Face) claimMail(ctx context.Context, conv *mapping.Conversation) (send bool, release func(), ferr *httpFail) {
	g := &f.mail
	g.mu.Lock()
	defer g.mu.Unlock()
	now := f.now()
	prev := conv.Attrs[attrMailedAt]
	if t, err := time.Parse(time.RFC3339Nano, prev); err == nil && now.Sub(t) < f.cfg.Transcript.MailEvery {
		return false, nil, nil
	}
	if now.Sub(g.window) >= time.Minute {
		g.window, g.sent = now, 0
	}
	if g.sent >= f.cfg.Transcript.MailPerMinute {
		wait := g.window.Add(time.Minute).Sub(now)
		return false, nil, &httpFail{status: fasthttp.StatusTooManyRequests, code: CodeRateLimited,
			msg: "too many transcripts mailed; retry later", retryAfter: int((wait + time.Second - 1) / time.Second)}
	}
	stamp := now.UTC().Format(time.RFC3339Nano)
	// Recorded on the conversation, so that every replica sees it; a
	// mailing another replica recorded meanwhile wins.
	_, err := mapping.Update(ctx, f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if t, err := time.Parse(time.RFC3339Nano, c.Attrs[attrMailedAt]); err == nil && now.Sub(t) < f.cfg.Transcript.MailEvery {
			return nil, errMailedMeanwhile
		}
		if c.Attrs == nil {
			c.Attrs = map[string]string{}
		}
		c.Attrs[attrMailedAt] = stamp
		return nil, nil
	})
	if errors.Is(err, errMailedMeanwhile) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, upstreamFail("record the mailing", err)
	}
	g.sent++
	release = func() {
		// The mail did not go: the next request may try again at once.
		g.mu.Lock()
		defer g.mu.Unlock()
		g.sent--
		_, err := mapping.Update(context.WithoutCancel(ctx), f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
			if c.Attrs[attrMailedAt] != stamp {
				return nil, mapping.ErrNoChange // a later mailing's
			}
			if prev == "" {
				delete(c.Attrs, attrMailedAt)
			} else {
				c.Attrs[attrMailedAt] = prev
			}
			return nil, nil
		})
		if err != nil {
			f.log.Warn("customerchannel: undo a failed transcript mailing's claim", "conversation", conv.ID, "error", err)
		}
	}
	return true, release, nil
}

// transcriptFonts reads the transcript fonts at the first transcript and
// logs the ones it skipped; nil means the WinAnsi writer.
func (f *Face) transcriptFonts() *pdfFonts {
	f.fontsOnce.Do(func() {
		fs, errs := loadPDFFonts(f.cfg.Transcript.Fonts, f.cfg.Transcript.BoldFont)
		for _, err := range errs {
			f.log.Info("customerchannel: transcript font skipped", "error", err)
		}
		if fs == nil {
			f.log.Warn("customerchannel: no transcript font could be read; transcripts show Latin-1 text only",
				"fonts", fmt.Sprint(f.cfg.Transcript.Fonts))
		}
		f.fonts = fs
	})
	return f.fonts
}

// errMailedMeanwhile ends a mailing claim that another request made first.
var errMailedMeanwhile = errors.New("customerchannel: transcript mailed meanwhile")
