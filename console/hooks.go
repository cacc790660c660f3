package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
)

// Headers a LivePerson notification carries besides its signature.
const (
	headerAccount  = "x-liveperson-account-id"
	headerClientID = "x-liveperson-client-id"
)

// streamWriteTimeout bounds one write to a page; a page that takes longer
// is gone or stuck.
const streamWriteTimeout = 10 * time.Second

// notification is the data of one SSE "notification" event.
type notification struct {
	Seq        uint64          `json:"seq"`
	Key        string          `json:"key"`
	ReceivedAt string          `json:"receivedAt"`
	AccountID  string          `json:"accountId"`
	ClientID   string          `json:"clientId"`
	Verified   bool            `json:"verified"`
	Body       json.RawMessage `json:"body"`
}

// serveHook is the sink: verify, publish, answer at once.
func (c *Console) serveHook(ctx *fasthttp.RequestCtx, key string) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		jsonError(ctx, fasthttp.StatusMethodNotAllowed, "notifications are POSTed")
		return
	}
	if !slices.Contains(auth.WebhookKeys(), key) {
		c.m.hooks.WithLabelValues("unknown_key").Inc()
		jsonError(ctx, fasthttp.StatusNotFound, "not a webhook key of a LivePerson app manifest: "+key)
		return
	}
	body := ctx.PostBody()
	if len(body) > c.cfg.MaxHookBody {
		c.m.hooks.WithLabelValues("too_large").Inc()
		jsonError(ctx, fasthttp.StatusRequestEntityTooLarge, "notification over "+strconv.Itoa(c.cfg.MaxHookBody)+" bytes")
		return
	}
	account := string(ctx.Request.Header.Peek(headerAccount))
	clientID := string(ctx.Request.Header.Peek(headerClientID))
	secret, ok := c.cfg.Secret(account, clientID)
	if !ok {
		c.m.hooks.WithLabelValues("unknown_app").Inc()
		jsonError(ctx, fasthttp.StatusUnauthorized, "no app "+strconv.Quote(clientID)+" in account "+strconv.Quote(account))
		return
	}
	if !auth.VerifyWebhook(secret, body, string(ctx.Request.Header.Peek(auth.SignatureHeader))) {
		c.m.hooks.WithLabelValues("bad_signature").Inc()
		c.log.Warn("console: notification with a bad signature refused", "key", key, "client_id", clientID)
		jsonError(ctx, fasthttp.StatusUnauthorized, auth.SignatureHeader+" does not match the body")
		return
	}
	// SSE data is one line: compacting also proves the body is JSON.
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		c.m.hooks.WithLabelValues("bad_body").Inc()
		jsonError(ctx, fasthttp.StatusBadRequest, "the body is not JSON: "+err.Error())
		return
	}
	n := notification{
		Key:        key,
		ReceivedAt: c.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		AccountID:  account,
		ClientID:   clientID,
		Verified:   true,
		Body:       compact.Bytes(),
	}
	c.hub.publish(func(seq uint64) []byte {
		n.Seq = seq
		var data bytes.Buffer
		enc := json.NewEncoder(&data)
		enc.SetEscapeHTML(false) // the body as the proxy sent it, not with <>& escaped
		_ = enc.Encode(n)        // of a struct of strings and raw JSON: cannot fail
		return sseFrame(seq, "notification", bytes.TrimSuffix(data.Bytes(), []byte("\n")))
	})
	c.m.hooks.WithLabelValues("verified").Inc()
	ctx.SetStatusCode(fasthttp.StatusOK)
}

func sseFrame(seq uint64, event string, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, "\nevent: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// serveNotifications streams verified notifications to a page.
func (c *Console) serveNotifications(ctx *fasthttp.RequestCtx) {
	if !readOnly(ctx) {
		return
	}
	after, replay := uint64(0), false
	if v := ctx.Request.Header.Peek("Last-Event-ID"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 64)
		after, replay = n, err == nil
	}
	sub, err := c.hub.subscribe(after, replay)
	if err != nil {
		jsonError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return
	}
	// Captured now: the handler may not touch ctx once hijacked.
	shutdown := ctx.Done()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) { c.stream(conn, sub, shutdown) })
}

// streamHead starts the response by hand: the connection is hijacked so
// that the server's write timeout, which would cut a long stream, does not
// apply, and so that a shutdown does not wait for it.
const streamHead = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/event-stream; charset=utf-8\r\n" +
	"Cache-Control: no-store\r\n" +
	"X-Accel-Buffering: no\r\n" +
	"X-Content-Type-Options: nosniff\r\n" +
	"Connection: close\r\n\r\n" +
	"retry: 2000\n\n" +
	"event: ready\ndata: {}\n\n"

// stream writes sub's events to conn until the page goes, falls behind,
// the server shuts down or the console closes.
func (c *Console) stream(conn net.Conn, sub *subscriber, shutdown <-chan struct{}) {
	defer c.hub.unsubscribe(sub)
	// A page sends nothing after its request: a read ends when it goes.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		_, _ = io.Copy(io.Discard, conn)
	}()
	// The connection is fasthttp's again once this returns: stop the reader
	// first.
	defer func() {
		_ = conn.SetReadDeadline(time.Now())
		<-readerDone
	}()
	w := bufio.NewWriterSize(conn, 4096)
	write := func(b []byte) error {
		if err := conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := write([]byte(streamHead)); err != nil {
		return
	}
	heartbeat := time.NewTicker(c.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		var err error
		select {
		case b := <-sub.ch:
			err = write(b)
		case <-heartbeat.C:
			err = write([]byte(": keep-alive\n\n"))
		case <-sub.gone: // dropped for falling behind, or the console closed
			return
		case <-readerDone:
			return
		case <-shutdown:
			return
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

var (
	errHubClosed = errors.New("the console is shutting down")
	errHubFull   = errors.New("too many pages are listening for notifications; close one and retry")
)
