package engagement

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// The operations. Paths are those of the reference note (§2–§5), under the
// bases of the client's generation (generation.go); ids are path-escaped so
// that a client-supplied id cannot reach another path.

// CreateSession opens a customer session (POST /sessions → 201).
func (c *Client) CreateSession(ctx context.Context, in *CreateSession) (*Session, error) {
	var out Session
	err := c.do(ctx, call{op: "create_session", method: fasthttp.MethodPost, url: c.channelBase + "/sessions", body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSession reads a session (GET /sessions/{id}).
func (c *Client) GetSession(ctx context.Context, sessionID string) (*Session, error) {
	var out Session
	err := c.do(ctx, call{op: "get_session", method: fasthttp.MethodGet, url: c.session(sessionID, ""), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSession ends a session (DELETE /sessions/{id}?reason= → 204). The
// reference declares reason required with default USER_CLOSED, so "" sends
// USER_CLOSED.
func (c *Client) DeleteSession(ctx context.Context, sessionID, reason string) error {
	if reason == "" {
		reason = ReasonUserClosed
	}
	return c.do(ctx, call{op: "delete_session", method: fasthttp.MethodDelete,
		url: c.session(sessionID, "") + "?reason=" + url.QueryEscape(reason)})
}

// AppendIdentifiers adds identifier values to a session
// (POST /sessions/{id}:appendIdentifiers).
func (c *Client) AppendIdentifiers(ctx context.Context, sessionID string, ids CustomerIdentifiers) (*Session, error) {
	var out Session
	err := c.do(ctx, call{op: "append_identifiers", method: fasthttp.MethodPost, url: c.session(sessionID, ":appendIdentifiers"), body: ids, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSessionParameters adds or updates session parameters
// (POST /sessions/{id}:updateSessionParameters).
func (c *Client) UpdateSessionParameters(ctx context.Context, sessionID string, p Parameters) (*Session, error) {
	var out Session
	err := c.do(ctx, call{op: "update_session_parameters", method: fasthttp.MethodPost, url: c.session(sessionID, ":updateSessionParameters"), body: p, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateEngagement starts an engagement, or a new dialog of the session's
// existing one (POST /engagements → 201).
func (c *Client) CreateEngagement(ctx context.Context, in *CreateEngagement) (*Engagement, error) {
	var out Engagement
	err := c.do(ctx, call{op: "create_engagement", method: fasthttp.MethodPost, url: c.channelBase + "/engagements", body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEngagements lists a session's engagements (GET /engagements?sessionId=).
func (c *Client) ListEngagements(ctx context.Context, sessionID string) ([]Engagement, error) {
	var out []Engagement
	err := c.do(ctx, call{op: "list_engagements", method: fasthttp.MethodGet,
		url: c.channelBase + "/engagements?sessionId=" + url.QueryEscape(sessionID), out: &out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetEngagement reads an engagement (GET /engagements/{id}).
func (c *Client) GetEngagement(ctx context.Context, engagementID string) (*Engagement, error) {
	var out Engagement
	err := c.do(ctx, call{op: "get_engagement", method: fasthttp.MethodGet, url: c.engagement(engagementID, ""), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// JoinEngagement attaches another session of the customer to a dialog
// (POST /engagements/{id}:join).
func (c *Client) JoinEngagement(ctx context.Context, engagementID string, in *JoinEngagement) (*Engagement, error) {
	var out Engagement
	err := c.do(ctx, call{op: "join_engagement", method: fasthttp.MethodPost, url: c.engagement(engagementID, ":join"), body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DisconnectEngagement takes the customer out of a dialog
// (POST /engagements/{id}:disconnect → 200, echoing the request).
func (c *Client) DisconnectEngagement(ctx context.Context, engagementID string, in *DisconnectEngagement) (*DisconnectEngagement, error) {
	var out DisconnectEngagement
	err := c.do(ctx, call{op: "disconnect_engagement", method: fasthttp.MethodPost, url: c.engagement(engagementID, ":disconnect"), body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SendMessage sends a customer message (POST /engagements/{id}/messages → 202).
// The answer may lack messageId (the reference's example has none).
func (c *Client) SendMessage(ctx context.Context, engagementID string, in *SendMessage) (*Message, error) {
	var out Message
	err := c.do(ctx, call{op: "send_message", method: fasthttp.MethodPost, url: c.engagement(engagementID, "/messages"), body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListMessagesQuery selects one page of a dialog's messages. Zero PageSize
// and PageNumber leave AXP's defaults (10 and 1).
type ListMessagesQuery struct {
	SessionID, DialogID  string
	PageSize, PageNumber int
}

// ListMessages reads one page of a dialog's messages
// (GET /engagements/{id}/messages?dialogId&sessionId&pageSize&pageNumber).
func (c *Client) ListMessages(ctx context.Context, engagementID string, q ListMessagesQuery) (*Messages, error) {
	var b strings.Builder
	b.WriteString(c.engagement(engagementID, "/messages"))
	b.WriteString("?dialogId=")
	b.WriteString(url.QueryEscape(q.DialogID))
	b.WriteString("&sessionId=")
	b.WriteString(url.QueryEscape(q.SessionID))
	if q.PageSize > 0 {
		b.WriteString("&pageSize=")
		b.WriteString(strconv.Itoa(q.PageSize))
	}
	if q.PageNumber > 0 {
		b.WriteString("&pageNumber=")
		b.WriteString(strconv.Itoa(q.PageNumber))
	}
	var out Messages
	if err := c.do(ctx, call{op: "list_messages", method: fasthttp.MethodGet, url: b.String(), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// allPageSize is the page size AllMessages asks for (AXP's maximum).
const allPageSize = 50

// AllMessages yields every message of a dialog, page by page (pageSize 50),
// stopping at the first error, which it yields. Pages are numbered from
// pagination rather than links.next, whose documented form is malformed; the
// walk ends at pagination.total or the first short or empty page, so a
// server that miscounts cannot make it loop.
func (c *Client) AllMessages(ctx context.Context, engagementID, sessionID, dialogID string) iter.Seq2[*Message, error] {
	return c.allMessages(ctx, engagementID, sessionID, dialogID, allPageSize)
}

func (c *Client) allMessages(ctx context.Context, engagementID, sessionID, dialogID string, pageSize int) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		seen := 0
		for page := 1; ; page++ {
			p, err := c.ListMessages(ctx, engagementID, ListMessagesQuery{SessionID: sessionID, DialogID: dialogID, PageSize: pageSize, PageNumber: page})
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Messages {
				if !yield(&p.Messages[i], nil) {
					return
				}
			}
			seen += len(p.Messages)
			if len(p.Messages) < pageSize || seen >= p.Pagination.Total {
				return
			}
		}
	}
}

// FindMessage looks among a dialog's newest messages for the one a send
// carrying providerMessageID stored: how a caller whose send ended in
// ErrOutcomeUnknown learns whether it landed. It returns nil and no error
// when there is none. Only the last two pages are read: the message was
// sent moments ago.
func (c *Client) FindMessage(ctx context.Context, engagementID, sessionID, dialogID, providerMessageID string) (*Message, error) {
	q := ListMessagesQuery{SessionID: sessionID, DialogID: dialogID, PageSize: allPageSize, PageNumber: 1}
	first, err := c.ListMessages(ctx, engagementID, q)
	if err != nil {
		return nil, err
	}
	last := max(1, (first.Pagination.Total+allPageSize-1)/allPageSize)
	for page := last; page >= max(1, last-1); page-- {
		p := first
		if page != 1 {
			q.PageNumber = page
			if p, err = c.ListMessages(ctx, engagementID, q); err != nil {
				return nil, err
			}
		}
		for i := len(p.Messages) - 1; i >= 0; i-- {
			if p.Messages[i].ProviderMessageID == providerMessageID {
				return &p.Messages[i], nil
			}
		}
	}
	return nil, nil
}

// FindDialog returns the engagement and dialog of a session whose
// providerDialogId is providerDialogID, or nils when there is none: how a
// caller whose create ended in ErrOutcomeUnknown learns whether the dialog
// was made.
func (c *Client) FindDialog(ctx context.Context, sessionID, providerDialogID string) (*Engagement, *Dialog, error) {
	engs, err := c.ListEngagements(ctx, sessionID)
	if err != nil {
		return nil, nil, err
	}
	for i := range engs {
		for j := range engs[i].Dialogs {
			if engs[i].Dialogs[j].ProviderDialogID == providerDialogID {
				return &engs[i], &engs[i].Dialogs[j], nil
			}
		}
	}
	return nil, nil, nil
}

// CreateSubscription routes a channel provider's events to a callback URL
// (POST /subscriptions → 201).
func (c *Client) CreateSubscription(ctx context.Context, in *Subscription) (*Subscription, error) {
	var out Subscription
	err := c.do(ctx, call{op: "create_subscription", method: fasthttp.MethodPost, url: c.webhookBase + "/subscriptions", body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSubscriptions lists subscriptions, of one channel provider unless
// channelProviderID is "" (GET /subscriptions?channelProviderId=).
func (c *Client) ListSubscriptions(ctx context.Context, channelProviderID string) ([]Subscription, error) {
	u := c.webhookBase + "/subscriptions"
	if channelProviderID != "" {
		u += "?channelProviderId=" + url.QueryEscape(channelProviderID)
	}
	var out []Subscription
	if err := c.do(ctx, call{op: "list_subscriptions", method: fasthttp.MethodGet, url: u, out: &out}); err != nil {
		return nil, err
	}
	return out, nil
}

// GetSubscription reads a subscription (GET /subscriptions/{id}).
func (c *Client) GetSubscription(ctx context.Context, subscriptionID string) (*Subscription, error) {
	var out Subscription
	err := c.do(ctx, call{op: "get_subscription", method: fasthttp.MethodGet, url: c.subscription(subscriptionID), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReplaceSubscription overwrites a subscription (PUT /subscriptions/{id}).
func (c *Client) ReplaceSubscription(ctx context.Context, subscriptionID string, in *Subscription) (*Subscription, error) {
	var out Subscription
	err := c.do(ctx, call{op: "replace_subscription", method: fasthttp.MethodPut, url: c.subscription(subscriptionID), body: in, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSubscription removes a subscription (DELETE /subscriptions/{id} → 204).
func (c *Client) DeleteSubscription(ctx context.Context, subscriptionID string) error {
	return c.do(ctx, call{op: "delete_subscription", method: fasthttp.MethodDelete, url: c.subscription(subscriptionID)})
}

// EnsureSubscription makes callbackURL the one subscription of
// channelProviderID that points at this proxy, run at start-up:
//
//   - "ours" are the provider's subscriptions whose callback URL equals
//     callbackURL up to its last path segment (same scheme, host and
//     /webhooks/axp/ prefix; the segment after it is the token, which may
//     have been rotated since the last start);
//   - one that already has callbackURL and the same event types (as a set)
//     is kept untouched; otherwise the first of ours is replaced (PUT), or,
//     when there is none, a subscription is created;
//   - the other ones of ours are deleted, so that AXP does not deliver
//     every event twice;
//   - subscriptions pointing elsewhere (another connector of the same
//     provider) are left alone.
func (c *Client) EnsureSubscription(ctx context.Context, channelProviderID, callbackURL string, eventTypes []string) (*Subscription, error) {
	if channelProviderID == "" || callbackURL == "" || len(eventTypes) == 0 {
		return nil, errors.New("engagement: EnsureSubscription needs a channel provider, a callback URL and event types")
	}
	all, err := c.ListSubscriptions(ctx, channelProviderID)
	if err != nil {
		return nil, err
	}
	prefix := callbackPrefix(callbackURL)
	var ours []Subscription
	for _, s := range all {
		// Filtered here too: a server may ignore the query parameter.
		if s.ChannelProviderID == channelProviderID && callbackPrefix(s.CallbackURL) == prefix {
			ours = append(ours, s)
		}
	}
	want := Subscription{ChannelProviderID: channelProviderID, CallbackURL: callbackURL, EventTypes: slices.Clone(eventTypes)}
	keep := -1
	for i, s := range ours {
		if s.CallbackURL == callbackURL && sameSet(s.EventTypes, eventTypes) {
			keep = i
			break
		}
	}
	var result *Subscription
	switch {
	case keep >= 0:
		s := ours[keep]
		result = &s
	case len(ours) > 0:
		keep = 0
		result, err = c.ReplaceSubscription(ctx, ours[0].SubscriptionID, &want)
	default:
		result, err = c.CreateSubscription(ctx, &want)
	}
	if err != nil {
		return nil, err
	}
	for i, s := range ours {
		if i == keep {
			continue
		}
		if err := c.DeleteSubscription(ctx, s.SubscriptionID); err != nil && !isNotFound(err) {
			return result, fmt.Errorf("engagement: remove duplicate subscription %s: %w", s.SubscriptionID, err)
		}
	}
	return result, nil
}

// callbackPrefix is u without its last path segment.
func callbackPrefix(u string) string {
	if i := strings.LastIndexByte(strings.TrimSuffix(u, "/"), '/'); i >= 0 {
		return u[:i+1]
	}
	return u
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func isNotFound(err error) bool {
	var p *Problem
	return errors.As(err, &p) && p.Status == fasthttp.StatusNotFound
}

func (c *Client) session(id, suffix string) string {
	return c.channelBase + "/sessions/" + url.PathEscape(id) + suffix
}

func (c *Client) engagement(id, suffix string) string {
	return c.channelBase + "/engagements/" + url.PathEscape(id) + suffix
}

func (c *Client) subscription(id string) string {
	return c.webhookBase + "/subscriptions/" + url.PathEscape(id)
}

// Await polls find, with growing pauses, until it reports found, fails, or
// window has passed (or ctx ended): how a caller whose write ended in
// ErrOutcomeUnknown waits out a call that AXP may still be applying.
func Await(ctx context.Context, window time.Duration, find func(context.Context) (bool, error)) (bool, error) {
	deadline := time.Now().Add(window)
	pause := 50 * time.Millisecond
	for {
		found, err := find(ctx)
		if found || err != nil {
			return found, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		if err := sleepCtx(ctx, min(pause, left)); err != nil {
			return false, nil // out of time: not found so far
		}
		pause = min(2*pause, time.Second)
	}
}
