package simulator

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// eventTypes are the subscription event types of the reference's table
// (v1beta has no TYPING).
func eventTypes() []string {
	return []string{
		engagement.SubscribeAll, engagement.EventMessages, engagement.SubscribeCustomerMessages,
		engagement.SubscribeCCMessages, engagement.EventParticipantAdded, engagement.EventParticipantDisconnected,
		engagement.EventEngagementCreated, engagement.EventEngagementError,
	}
}

// messageEvent is a MESSAGES callback: the event header and the Message side
// by side in one object (the Message carries correlationId).
type messageEvent struct {
	EventType string          `json:"eventType"`
	EventDate engagement.Time `json:"eventDate"`
	engagement.Message
}

// subscriptionState is a subscription and its delivery queue.
type subscriptionState struct {
	account string
	sub     engagement.Subscription
	d       *deliverer
}

// wants reports whether the subscription asked for the event. senderType is
// the sender of a MESSAGES event.
func (st *subscriptionState) wants(eventType, senderType string) bool {
	for _, t := range st.sub.EventTypes {
		switch {
		case t == engagement.SubscribeAll, t == eventType:
			return true
		case eventType != engagement.EventMessages:
		case t == engagement.SubscribeCustomerMessages && senderType == engagement.ParticipantCustomer,
			t == engagement.SubscribeCCMessages && senderType != engagement.ParticipantCustomer:
			return true
		}
	}
	return false
}

// emitLocked encodes an event once and queues it on every subscription of the
// account and channel provider that wants it. Queuing under s.mu keeps each
// subscription's order the order in which state changed.
func (s *Simulator) emitLocked(account, cpid, eventType, senderType string, payload any) {
	var body []byte
	for _, st := range s.subsByAcct[account] {
		if st.sub.ChannelProviderID != cpid || !st.wants(eventType, senderType) {
			continue
		}
		if body == nil {
			b, err := json.Marshal(payload)
			if err != nil {
				s.log.Error("encode webhook event", "eventType", eventType, "err", err)
				return
			}
			body = b
		}
		st.d.enqueue(eventType, body)
	}
}

// callbackURLOK applies the reference's rule (https only), with the
// simulator's allowance of plain http for loopback hosts so that it can run
// beside the proxy.
func callbackURLOK(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if strings.EqualFold(h, "localhost") {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

func (s *Simulator) decodeSubscription(ctx *fasthttp.RequestCtx) (engagement.Subscription, *Problem) {
	var req engagement.Subscription
	if p := decodeBody(ctx, &req); p != nil {
		return req, p
	}
	var c checker
	c.requiredSize("channelProviderId", req.ChannelProviderID, 3, 256)
	if c.notNull("callbackUrl", req.CallbackURL != "") {
		c.size("callbackUrl", req.CallbackURL, 1, 2048)
		if !callbackURLOK(req.CallbackURL) {
			c.add("callbackUrl", "must be a public https url (http is accepted for loopback hosts only)", codePattern)
		}
	}
	if c.notNull("eventTypes", req.EventTypes != nil) {
		if len(req.EventTypes) < 1 || len(req.EventTypes) > 6 {
			c.add("eventTypes", "size must be between 1 and 6", codeSize)
		}
		known := eventTypes()
		for i, t := range req.EventTypes {
			if !slices.Contains(known, t) {
				c.add("eventTypes["+strconv.Itoa(i)+"]", "must be one of "+strings.Join(known, ", "), codeEnum)
			}
		}
	}
	return req, c.problem()
}

func (s *Simulator) createSubscription(ctx *fasthttp.RequestCtx, account string) *Problem {
	req, p := s.decodeSubscription(ctx)
	if p != nil {
		return p
	}
	req.SubscriptionID = uuid.NewString()
	s.mu.Lock()
	if len(s.subsByAcct[account]) >= s.cfg.MaxSubscriptions {
		s.mu.Unlock()
		return quota("too many subscriptions")
	}
	select {
	case <-s.done:
		s.mu.Unlock()
		return newProblem(http.StatusServiceUnavailable, "the simulator is shutting down")
	default:
	}
	st := &subscriptionState{account: account, sub: req}
	st.d = newDeliverer(s, req.SubscriptionID, req.CallbackURL)
	s.subs[req.SubscriptionID] = st
	s.subsByAcct[account] = append(s.subsByAcct[account], st)
	s.mu.Unlock()
	writeJSON(ctx, http.StatusCreated, req)
	return nil
}

func (s *Simulator) listSubscriptions(ctx *fasthttp.RequestCtx, account string) *Problem {
	cpid := string(ctx.QueryArgs().Peek("channelProviderId"))
	s.mu.Lock()
	out := make([]engagement.Subscription, 0, len(s.subsByAcct[account]))
	for _, st := range s.subsByAcct[account] {
		if cpid == "" || st.sub.ChannelProviderID == cpid {
			out = append(out, st.sub)
		}
	}
	s.mu.Unlock()
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

func (s *Simulator) lookupSubscription(account, id string) *subscriptionState {
	st := s.subs[id]
	if st == nil || st.account != account {
		return nil
	}
	return st
}

func (s *Simulator) getSubscription(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	if !c.uuid("subscriptionId", id) {
		return c.problem()
	}
	s.mu.Lock()
	st := s.lookupSubscription(account, id)
	var out engagement.Subscription
	if st != nil {
		out = st.sub
	}
	s.mu.Unlock()
	if st == nil {
		return notFound("subscription", id)
	}
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// replaceSubscription is PUT: the whole object is replaced; its queued events
// go to the new callbackUrl.
func (s *Simulator) replaceSubscription(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	if !c.uuid("subscriptionId", id) {
		return c.problem()
	}
	req, p := s.decodeSubscription(ctx)
	if p != nil {
		return p
	}
	req.SubscriptionID = id
	s.mu.Lock()
	st := s.lookupSubscription(account, id)
	if st != nil {
		st.sub = req
		st.d.setURL(req.CallbackURL)
	}
	s.mu.Unlock()
	if st == nil {
		return notFound("subscription", id)
	}
	writeJSON(ctx, http.StatusOK, req)
	return nil
}

func (s *Simulator) deleteSubscription(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	if !c.uuid("subscriptionId", id) {
		return c.problem()
	}
	s.mu.Lock()
	st := s.lookupSubscription(account, id)
	if st != nil {
		delete(s.subs, id)
		s.subsByAcct[account] = slices.DeleteFunc(s.subsByAcct[account], func(x *subscriptionState) bool { return x == st })
		if len(s.subsByAcct[account]) == 0 {
			delete(s.subsByAcct, account)
		}
		st.d.close()
	}
	s.mu.Unlock()
	if st == nil {
		return notFound("subscription", id)
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// deliverer sends one subscription's events in order: a failing callback is
// re-sent after a growing delay and later events wait behind it, so one slow
// receiver delays only its own subscription. Webhook faults change that
// order the way AXP is seen to: an event dropped, sent twice, held back
// while later ones go, or overtaken by the next.
type deliverer struct {
	s     *Simulator
	subID string

	mu      sync.Mutex
	url     string
	queue   []queuedEvent
	delayed []queuedEvent // held by a delay fault, in due order

	wake chan struct{}
	stop chan struct{}
	once sync.Once
}

// queuedEvent is one event waiting for delivery.
type queuedEvent struct {
	eventType string
	body      []byte
	due       time.Time // of a delayed event
	faulted   bool      // a fault bent it already: no second one
}

func newDeliverer(s *Simulator, subID, callbackURL string) *deliverer {
	d := &deliverer{s: s, subID: subID, url: callbackURL, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.wg.Add(1)
	go d.run()
	return d
}

func (d *deliverer) enqueue(eventType string, body []byte) {
	d.mu.Lock()
	if len(d.queue)+len(d.delayed) >= d.s.cfg.MaxQueuedDeliveries {
		d.mu.Unlock()
		d.s.stats.dropped.Add(1)
		d.s.log.Warn("webhook queue full, event dropped", "subscriptionId", d.subID)
		return
	}
	d.queue = append(d.queue, queuedEvent{eventType: eventType, body: body})
	d.mu.Unlock()
	d.poke()
}

func (d *deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) setURL(u string) {
	d.mu.Lock()
	d.url = u
	d.mu.Unlock()
}

func (d *deliverer) close() { d.once.Do(func() { close(d.stop) }) }

// next takes the event to send now: a delayed one whose time came, else the
// queue's head; wait is how long to sleep when there is none.
func (d *deliverer) next() (ev queuedEvent, ok bool, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if len(d.delayed) > 0 && !now.Before(d.delayed[0].due) {
		ev = d.delayed[0]
		d.delayed = d.delayed[1:]
		return ev, true, 0
	}
	if len(d.queue) > 0 {
		ev = d.queue[0]
		d.queue[0] = queuedEvent{}
		d.queue = d.queue[1:]
		return ev, true, 0
	}
	wait = time.Hour
	if len(d.delayed) > 0 {
		wait = d.delayed[0].due.Sub(now)
	}
	return ev, false, wait
}

func (d *deliverer) run() {
	defer d.s.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		case <-d.s.done:
			return
		default:
		}
		ev, ok, wait := d.next()
		if !ok {
			t := time.NewTimer(wait)
			select {
			case <-d.wake:
			case <-t.C:
			case <-d.stop:
				t.Stop()
				return
			case <-d.s.done:
				t.Stop()
				return
			}
			t.Stop()
			continue
		}
		if !d.send(ev) {
			return // stopped
		}
	}
}

// send delivers one event, as a webhook fault (if one applies) bends it;
// it returns false when the deliverer was stopped meanwhile.
func (d *deliverer) send(ev queuedEvent) bool {
	if ev.faulted {
		return d.deliver(ev.body)
	}
	f, ok := d.s.webhookFault(ev.eventType)
	if !ok {
		return d.deliver(ev.body)
	}
	d.s.log.Info("webhook fault", "fault", f.Webhook, "eventType", ev.eventType, "subscriptionId", d.subID)
	ev.faulted = true
	switch f.Webhook {
	case WebhookDrop:
		d.s.stats.dropped.Add(1)
		return true
	case WebhookDuplicate:
		// Deliver twice: a duplicate is the second copy of an event the
		// receiver may already have taken.
		first := d.deliver(ev.body)
		return d.deliver(ev.body) && first
	case WebhookDelay:
		ev.due = time.Now().Add(time.Duration(f.LatencyMs) * time.Millisecond)
		d.mu.Lock()
		i, _ := slices.BinarySearchFunc(d.delayed, ev, func(a, b queuedEvent) int { return a.due.Compare(b.due) })
		d.delayed = slices.Insert(d.delayed, i, ev)
		d.mu.Unlock()
		return true
	}
	// WebhookReorder: the next event, when there is one, goes first.
	d.mu.Lock()
	if len(d.queue) == 0 {
		d.mu.Unlock()
		return d.deliver(ev.body)
	}
	second := d.queue[0]
	d.queue[0] = ev
	d.mu.Unlock()
	return d.deliver(second.body)
}

// deliver sends body until it is accepted or MaxDeliveryAttempts is spent;
// it returns false when the deliverer was stopped meanwhile.
func (d *deliverer) deliver(body []byte) bool {
	cfg := &d.s.cfg
	delay := cfg.RedeliveryDelay
	for attempt := 1; ; attempt++ {
		d.mu.Lock()
		u := d.url
		d.mu.Unlock()
		status, err := d.post(u, body)
		if err == nil && status == http.StatusOK {
			d.s.stats.delivered.Add(1)
			return true
		}
		d.s.stats.failed.Add(1)
		d.s.log.Info("webhook callback failed", "subscriptionId", d.subID, "attempt", attempt, "status", status, "err", err)
		if attempt >= cfg.MaxDeliveryAttempts {
			d.s.stats.dropped.Add(1)
			d.s.log.Warn("webhook event dropped after max attempts", "subscriptionId", d.subID, "attempts", attempt)
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.stop:
			t.Stop()
			return false
		case <-d.s.done:
			t.Stop()
			return false
		}
		delay = min(delay*2, cfg.MaxRedeliveryDelay)
	}
}

// post sends one callback. AXP counts only a 200 within the timeout as accepted.
func (d *deliverer) post(u string, body []byte) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(u)
	req.Header.SetMethod(http.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	if err := d.s.client.DoTimeout(req, resp, d.s.cfg.CallbackTimeout); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}
