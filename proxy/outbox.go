package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// The outbox API on the admin listener: the pending and dropped
// notifications listed, dropped ones replayed, one discarded, an endpoint
// paused and resumed. Behind admin_token (Authorization: Bearer, compared
// in constant time); without one configured it answers 403. JSON in and
// out; every refusal is {"error":{"code","message"}} with its status.

// OutboxPath is the API's root on the admin listener.
const OutboxPath = "/admin/outbox"

// Bounds of the API.
const (
	outboxDefaultLimit = 100
	outboxMaxBody      = 64 << 10
	outboxMaxReplay    = 1000 // replayed by one request
	outboxMaxText      = 256  // a reason, an actor
	outboxTimeout      = 25 * time.Second
)

// The actions and results the API counts.
const (
	actSummary     = "summary"
	actListPending = "list_pending"
	actListDropped = "list_dropped"
	actListPauses  = "list_pauses"
	actReplay      = "replay"
	actDiscard     = "discard"
	actPause       = "pause"
	actResume      = "resume"
	actUnknown     = "unknown"

	resOK           = "ok"
	resBadRequest   = "bad_request"
	resUnauthorized = "unauthorized"
	resOff          = "off"
	resNotFound     = "not_found"
	resUnavailable  = "unavailable"
	resError        = "error"
)

// outboxAPI serves OutboxPath.
type outboxAPI struct {
	pipe    *pipeline.Pipeline
	store   mapping.Store
	log     *slog.Logger
	token   [sha256.Size]byte // the token's digest: equal lengths to compare
	enabled bool
	actions *prometheus.CounterVec
}

func newOutboxAPI(p *Proxy) *outboxAPI {
	a := &outboxAPI{pipe: p.pipe, store: p.store, log: p.log.With("component", "outbox-admin"),
		token: sha256.Sum256([]byte(p.cfg.AdminToken)), enabled: p.cfg.AdminToken != "",
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_outbox_admin_actions_total",
			Help: "Requests to the outbox API on the admin listener, by action and result.",
		}, []string{"action", "result"}),
	}
	p.reg.MustRegister(a.actions)
	// Every action's series from the start, so that a rate over them is
	// there before the first request.
	for _, act := range []string{actSummary, actListPending, actListDropped, actListPauses, actReplay, actDiscard, actPause, actResume} {
		a.actions.WithLabelValues(act, resOK)
	}
	return a
}

// apiError is a refusal: its status, a stable code and what to do.
type apiError struct {
	status  int
	code    string
	message string
	result  string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: fasthttp.StatusBadRequest, code: "bad_request", message: fmt.Sprintf(format, args...), result: resBadRequest}
}

// storeError is the refusal for a failure of the store or the pipeline.
func storeError(err error) *apiError {
	switch {
	case errors.Is(err, mapping.ErrNotFound):
		return &apiError{status: fasthttp.StatusNotFound, code: "not_found", message: err.Error(), result: resNotFound}
	case errors.Is(err, mapping.ErrBadCursor):
		return badRequest("cursor: not one a listing gave")
	case errors.Is(err, mapping.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: fasthttp.StatusServiceUnavailable, code: "store_unavailable", message: "the store did not answer; try again", result: resUnavailable}
	}
	return &apiError{status: fasthttp.StatusInternalServerError, code: "internal", message: "the request failed; the proxy's log says why", result: resError}
}

// route names the action of a request, and the method it takes.
func outboxRoute(path string) (action, method string) {
	switch strings.TrimSuffix(path, "/") {
	case OutboxPath:
		return actSummary, fasthttp.MethodGet
	case OutboxPath + "/pending":
		return actListPending, fasthttp.MethodGet
	case OutboxPath + "/dropped":
		return actListDropped, fasthttp.MethodGet
	case OutboxPath + "/pauses":
		return actListPauses, fasthttp.MethodGet
	case OutboxPath + "/replay":
		return actReplay, fasthttp.MethodPost
	case OutboxPath + "/discard":
		return actDiscard, fasthttp.MethodPost
	case OutboxPath + "/pause":
		return actPause, fasthttp.MethodPost
	case OutboxPath + "/resume":
		return actResume, fasthttp.MethodPost
	}
	return actUnknown, ""
}

// who is what the logs say of the caller: its address and the actor it
// named (X-Admin-Actor), never its token.
type who struct{ remote, actor string }

func (a *outboxAPI) handle(ctx *fasthttp.RequestCtx) {
	action, method := outboxRoute(string(ctx.Path()))
	w := who{remote: ctx.RemoteIP().String(), actor: cleanText(string(ctx.Request.Header.Peek("X-Admin-Actor")), 64)}
	res, err := a.serve(ctx, action, method, w)
	result := resOK
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = storeError(err)
		}
		if ae.result == resError {
			a.log.Error("outbox admin: request failed", "action", action, "remote", w.remote, "actor", w.actor, "err", err)
		}
		result = ae.result
		if ae.status == fasthttp.StatusUnauthorized {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="connector-proxy admin"`)
			a.log.Warn("outbox admin: refused", "action", action, "remote", w.remote, "reason", ae.message)
		}
		writeJSON(ctx, ae.status, map[string]any{"error": map[string]string{"code": ae.code, "message": ae.message}})
	} else {
		status := fasthttp.StatusOK
		if c, ok := res.(created); ok {
			status, res = fasthttp.StatusCreated, c.body
		}
		writeJSON(ctx, status, res)
	}
	a.actions.WithLabelValues(action, result).Inc()
}

// created marks an answer of 201.
type created struct{ body any }

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only plain values are answered
		status, body = fasthttp.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"the answer could not be encoded"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(append(body, '\n'))
}

func (a *outboxAPI) serve(ctx *fasthttp.RequestCtx, action, method string, w who) (any, error) {
	if !a.enabled {
		return nil, &apiError{status: fasthttp.StatusForbidden, code: "outbox_api_off",
			message: "the outbox API is off: set admin_token (CONNECTOR_PROXY_ADMIN_TOKEN) to turn it on", result: resOff}
	}
	if err := a.authorize(ctx); err != nil {
		return nil, err
	}
	if action == actUnknown {
		return nil, &apiError{status: fasthttp.StatusNotFound, code: "not_found", message: "no such outbox API path; see GET " + OutboxPath, result: resNotFound}
	}
	if string(ctx.Method()) != method {
		ctx.Response.Header.Set("Allow", method)
		return nil, &apiError{status: fasthttp.StatusMethodNotAllowed, code: "method_not_allowed", message: "use " + method, result: resBadRequest}
	}
	cctx, cancel := context.WithTimeout(context.Background(), outboxTimeout)
	defer cancel()
	switch action {
	case actSummary:
		return a.summary(cctx)
	case actListPending, actListDropped:
		return a.list(cctx, ctx.QueryArgs(), action)
	case actListPauses:
		ps, err := a.store.Pauses(cctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"pauses": nonNil(ps)}, nil
	}
	var req outboxRequest
	if err := decodeOutboxRequest(ctx.PostBody(), &req); err != nil {
		return nil, err
	}
	switch action {
	case actReplay:
		return a.replay(cctx, req, w)
	case actDiscard:
		return a.discard(cctx, req, w)
	case actPause:
		return a.pause(cctx, req, w)
	default:
		return a.resume(cctx, req, w)
	}
}

// authorize takes only "Bearer <admin_token>".
func (a *outboxAPI) authorize(ctx *fasthttp.RequestCtx) error {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	scheme, token, ok := bytes.Cut(bytes.TrimSpace(h), []byte(" "))
	if len(h) == 0 || !ok || !strings.EqualFold(string(scheme), "bearer") {
		return &apiError{status: fasthttp.StatusUnauthorized, code: "unauthorized", message: "send Authorization: Bearer <admin_token>", result: resUnauthorized}
	}
	sum := sha256.Sum256(bytes.TrimSpace(token))
	if subtle.ConstantTimeCompare(sum[:], a.token[:]) != 1 {
		return &apiError{status: fasthttp.StatusUnauthorized, code: "unauthorized", message: "the token is not the admin token", result: resUnauthorized}
	}
	return nil
}

// outboxRequest is the body of every action; each takes the fields it
// names and refuses the others' absence as it needs.
type outboxRequest struct {
	State        string  `json:"state"`
	Conversation string  `json:"conversation"`
	Seq          *uint64 `json:"seq"`
	App          string  `json:"app"`
	Endpoint     string  `json:"endpoint"`
	Target       string  `json:"target"`
	Reason       string  `json:"reason"`
	Limit        int     `json:"limit"`
}

// decodeOutboxRequest reads one JSON object with known fields only.
func decodeOutboxRequest(body []byte, req *outboxRequest) error {
	if len(body) == 0 {
		return badRequest("the body must be a JSON object")
	}
	if len(body) > outboxMaxBody {
		return badRequest("the body is over %d bytes", outboxMaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return badRequest("the body is not a request object: %v", err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	switch {
	case len(req.Conversation) > 256:
		return badRequest("conversation: over 256 bytes")
	case len(req.App) > 256:
		return badRequest("app: over 256 bytes")
	case len(req.Target) > 4096:
		return badRequest("target: over 4096 bytes")
	case len(req.Reason) > outboxMaxText:
		return badRequest("reason: over %d bytes", outboxMaxText)
	case req.Endpoint != "" && !validEndpoint(req.Endpoint):
		return badRequest("endpoint: must be the 16 hex digits a listing shows")
	case req.Endpoint != "" && req.Target != "":
		return badRequest("name the endpoint by endpoint or by target, not both")
	case req.Limit < 0 || req.Limit > outboxMaxReplay:
		return badRequest("limit: must be from 1 to %d", outboxMaxReplay)
	}
	return nil
}

func validEndpoint(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 16 && err == nil && strings.ToLower(s) == s
}

// endpointOf is the endpoint a request names, by endpoint or by target.
func (r outboxRequest) endpointOf() string {
	if r.Target != "" {
		return mapping.EndpointID(r.Target)
	}
	return r.Endpoint
}

// cleanText keeps printable text, at most n bytes.
func cleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// itemView is an outbox item as the API shows it: no body and no headers
// (they may hold personal data and credentials), the target's secrets
// masked.
type itemView struct {
	State        string     `json:"state"`
	Conversation string     `json:"conversation"`
	Seq          uint64     `json:"seq"`
	Face         string     `json:"face"`
	App          string     `json:"app,omitempty"`
	Kind         string     `json:"kind,omitempty"`
	Endpoint     string     `json:"endpoint"`
	Target       string     `json:"target"`
	Paused       bool       `json:"paused,omitempty"`
	Bytes        int        `json:"bytes"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"lastError,omitempty"`
	NextAttempt  *time.Time `json:"nextAttempt,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	ExpiresAt    time.Time  `json:"expiresAt"`
	DroppedAt    *time.Time `json:"droppedAt,omitempty"`
	DropReason   string     `json:"dropReason,omitempty"`
	Replays      int        `json:"replays,omitempty"`
}

func viewOf(state string, it *mapping.OutboxItem, paused map[string]bool) itemView {
	target := config.MaskURL(it.Target)
	v := itemView{
		State: state, Conversation: it.Queue, Seq: it.Seq, Face: string(it.Face), App: it.App, Kind: it.Kind,
		Endpoint: mapping.EndpointID(it.Target), Target: target, Bytes: len(it.Body), Attempts: it.Attempts,
		LastError: strings.ReplaceAll(it.LastError, it.Target, target), CreatedAt: it.EnqueuedAt, ExpiresAt: it.Expires,
		DropReason: it.DropReason, Replays: it.Replays,
	}
	v.Paused = paused[v.Endpoint]
	if state == mapping.OutboxPending {
		next := it.NextAttempt
		v.NextAttempt = &next
	} else {
		at := it.DroppedAt
		v.DroppedAt = &at
	}
	return v
}

func (a *outboxAPI) pausedSet(ctx context.Context) (map[string]bool, error) {
	ps, err := a.store.Pauses(ctx)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(ps))
	for _, p := range ps {
		set[p.Endpoint] = true
	}
	return set, nil
}

func (a *outboxAPI) summary(ctx context.Context) (any, error) {
	st, err := a.store.OutboxStats(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := a.store.Pauses(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"pending": st.Pending, "dropped": st.Dropped, "pauses": nonNil(ps), "oldestPendingAgeSeconds": 0.0}
	if !st.OldestPending.IsZero() {
		out["oldestPendingAt"] = st.OldestPending
		out["oldestPendingAgeSeconds"] = max(time.Since(st.OldestPending).Seconds(), 0)
	}
	return out, nil
}

// list answers GET pending or dropped: filters conversation, face, app,
// endpoint or target; limit (1 to 1000, default 100) and cursor.
func (a *outboxAPI) list(ctx context.Context, args *fasthttp.Args, action string) (any, error) {
	q := mapping.OutboxQuery{State: mapping.OutboxPending, Limit: outboxDefaultLimit}
	if action == actListDropped {
		q.State = mapping.OutboxDropped
	}
	var bad error
	for k, v := range args.All() {
		switch val := string(v); string(k) {
		case "conversation":
			q.Queue = val
		case "face":
			q.Face = mapping.Face(val)
		case "app":
			q.App = val
		case "endpoint":
			if !validEndpoint(val) {
				bad = badRequest("endpoint: must be the 16 hex digits a listing shows")
			}
			q.Endpoint = val
		case "target":
			q.Endpoint = mapping.EndpointID(val)
		case "cursor":
			q.Cursor = val
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > mapping.MaxOutboxPage {
				bad = badRequest("limit: must be from 1 to %d", mapping.MaxOutboxPage)
			}
			q.Limit = n
		default:
			bad = badRequest("unknown parameter %q (conversation, face, app, endpoint, target, limit, cursor)", cleanText(string(k), 64))
		}
	}
	if bad != nil {
		return nil, bad
	}
	page, err := a.store.ListOutbox(ctx, q)
	if err != nil {
		return nil, err
	}
	paused, err := a.pausedSet(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]itemView, 0, len(page.Items))
	for _, it := range page.Items {
		items = append(items, viewOf(q.State, it, paused))
	}
	out := map[string]any{"items": items}
	if page.Next != "" {
		out["next"] = page.Next
	}
	return out, nil
}

type replayed struct {
	Conversation string `json:"conversation"`
	Seq          uint64 `json:"seq"`
	NewSeq       uint64 `json:"newSeq"`
}

// replay answers POST replay: one dropped item (conversation and seq), or
// every dropped item of a conversation, an app or an endpoint (up to
// limit, default and at most 1000), in their order.
func (a *outboxAPI) replay(ctx context.Context, req outboxRequest, w who) (any, error) {
	if req.Seq != nil {
		if req.Conversation == "" {
			return nil, badRequest("seq names an item of a conversation: give conversation too")
		}
		it, err := a.pipe.Replay(ctx, req.Conversation, *req.Seq)
		if err != nil {
			return nil, err
		}
		a.done(actReplay, w, "conversation", req.Conversation, "seq", *req.Seq, "new_seq", it.Seq)
		return map[string]any{"replayed": []replayed{{req.Conversation, *req.Seq, it.Seq}}, "count": 1, "more": false}, nil
	}
	if req.Conversation == "" && req.App == "" && req.endpointOf() == "" {
		return nil, badRequest("say what to replay: conversation (and seq), app, endpoint or target")
	}
	limit := req.Limit
	if limit == 0 {
		limit = outboxMaxReplay
	}
	q := mapping.OutboxQuery{State: mapping.OutboxDropped, Queue: req.Conversation, App: req.App, Endpoint: req.endpointOf(), Limit: min(limit, mapping.MaxOutboxPage)}
	done := []replayed{}
	more := false
	var failed error
	for len(done) < limit {
		page, err := a.store.ListOutbox(ctx, q)
		if err != nil {
			failed = err
			break
		}
		for _, it := range page.Items {
			if len(done) == limit {
				more = true
				break
			}
			fresh, err := a.pipe.Replay(ctx, it.Queue, it.Seq)
			if errors.Is(err, mapping.ErrNotFound) {
				continue // discarded or replayed by another meanwhile
			}
			if err != nil {
				failed = err
				break
			}
			done = append(done, replayed{it.Queue, it.Seq, fresh.Seq})
		}
		if failed != nil || page.Next == "" {
			break
		}
		if len(done) == limit {
			more = true
			break
		}
		q.Cursor = page.Next
	}
	a.done(actReplay, w, "conversation", req.Conversation, "app", req.App, "endpoint", req.endpointOf(), "count", len(done), "more", more)
	if failed != nil && len(done) == 0 {
		return nil, failed
	}
	out := map[string]any{"replayed": done, "count": len(done), "more": more}
	if failed != nil {
		a.log.Warn("outbox admin: replay stopped part way", "err", failed)
		out["more"] = true
		out["error"] = map[string]string{"code": storeError(failed).code, "message": "stopped part way; send the request again for the rest"}
	}
	return out, nil
}

// discard answers POST discard: state, conversation and seq.
func (a *outboxAPI) discard(ctx context.Context, req outboxRequest, w who) (any, error) {
	if req.State != mapping.OutboxPending && req.State != mapping.OutboxDropped {
		return nil, badRequest("state: must be pending or dropped")
	}
	if req.Conversation == "" || req.Seq == nil {
		return nil, badRequest("conversation and seq name the item to discard")
	}
	it, err := a.pipe.Discard(ctx, req.State, req.Conversation, *req.Seq)
	if err != nil {
		return nil, err
	}
	a.done(actDiscard, w, "state", req.State, "conversation", req.Conversation, "seq", *req.Seq, "kind", it.Kind)
	return map[string]any{"discarded": viewOf(req.State, it, nil)}, nil
}

// pause answers POST pause: target or endpoint, and a reason.
func (a *outboxAPI) pause(ctx context.Context, req outboxRequest, w who) (any, error) {
	ep := req.endpointOf()
	if ep == "" {
		return nil, badRequest("name the endpoint to pause: target (its URL) or endpoint (its id in a listing)")
	}
	target := config.MaskURL(req.Target)
	if target == "" {
		target = a.targetOf(ctx, ep)
	}
	by := w.actor
	if by == "" {
		by = w.remote
	}
	rec, isNew, err := a.pipe.Pause(ctx, ep, target, cleanText(req.Reason, outboxMaxText), by)
	if err != nil {
		return nil, err
	}
	a.done(actPause, w, "endpoint", ep, "target", target, "new", isNew)
	body := map[string]any{"pause": rec, "created": isNew}
	if isNew {
		return created{body}, nil
	}
	return body, nil
}

// targetOf finds, for the record, what an endpoint named by its id is.
func (a *outboxAPI) targetOf(ctx context.Context, ep string) string {
	for _, state := range []string{mapping.OutboxPending, mapping.OutboxDropped} {
		p, err := a.store.ListOutbox(ctx, mapping.OutboxQuery{State: state, Endpoint: ep, Limit: 1})
		if err == nil && len(p.Items) > 0 {
			return config.MaskURL(p.Items[0].Target)
		}
	}
	return ""
}

// resume answers POST resume: target or endpoint.
func (a *outboxAPI) resume(ctx context.Context, req outboxRequest, w who) (any, error) {
	ep := req.endpointOf()
	if ep == "" {
		return nil, badRequest("name the endpoint to resume: target or endpoint")
	}
	rec, released, err := a.pipe.Resume(ctx, ep)
	if err != nil && released == 0 {
		return nil, err
	}
	a.done(actResume, w, "endpoint", ep, "released", released, "paused_for", time.Since(rec.Since).Round(time.Second).String())
	out := map[string]any{"resumed": rec, "released": released}
	if err != nil {
		a.log.Warn("outbox admin: release stopped part way; the rest follow within a minute", "endpoint", ep, "err", err)
		out["error"] = map[string]string{"code": storeError(err).code, "message": "released part of the items; the deliverers release the rest within a minute"}
	}
	return out, nil
}

// done logs an action that changed the outbox.
func (a *outboxAPI) done(action string, w who, attrs ...any) {
	a.log.Info("outbox admin action", append([]any{"action", action, "remote", w.remote, "actor", w.actor}, attrs...)...)
}
