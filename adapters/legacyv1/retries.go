package legacyv1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Retries of the legacy client's writes. Where the legacy API gives the
// client a handle for a write, a retry of it is applied once:
//
//   - POST /v1/engagements with a providerDialogId: the conversation's id
//     is made from the session and that id, and AXP is given it as the
//     dialog's providerDialogId; a retry finds the conversation, or the
//     dialog at AXP, instead of making another.
//   - POST …/messages with a providerMessageId: the send is recorded under
//     it (mapping.Sends) before it goes to AXP, with it as the message's
//     providerMessageId; a retry finds the record, or the message at AXP.
//
// A write AXP did not answer (engagement.ErrOutcomeUnknown) is looked for
// at AXP for Config.SettleTimeout; what is not found by then is answered
// 503 saying so, with whether repeating the request is safe. Ending a
// session and disconnecting can be repeated: they are tried once more.
// No lock is held across a call to AXP: a retry meeting an attempt under
// way on a live replica waits for it, looking at AXP meanwhile.

// keyCreate is the send-record key of a create in progress (the record
// lives in the conversation's shard, under its id).
const keyCreate = "legacyv1:create"

// dialogConversationID is the conversation id of the dialog a session's
// client names providerDialogID: the same for every retry of its create,
// and in the session's shard as mapping.NewConversationID's are.
func dialogConversationID(owner mapping.ConsumerKey, providerDialogID string) string {
	u := uuid.NewSHA1(uuid.NameSpaceURL, []byte("connector-proxy:legacyv1:"+owner.String()+"\x00"+providerDialogID))
	u[15] = u[15]&^(mapping.Shards-1) | byte(mapping.OwnerShard(owner))
	return u.String()
}

// unconfirmed is the answer to a write AXP did not confirm and that was
// not found either; then says what a retry does.
func unconfirmed(what, then string) *Error {
	return newError(http.StatusServiceUnavailable, "AXP did not confirm "+what+" and it is not there yet; "+then)
}

// unknown reports a write whose outcome AXP did not say.
func unknown(err error) bool { return errors.Is(err, engagement.ErrOutcomeUnknown) }

// repeatable runs a write that can be repeated (ending, disconnecting)
// once more when AXP did not answer it. What it returns is unknown (not
// answered) when AXP did not answer the repetition either: the engagement
// client marks an unanswered DELETE unreachable only, being idempotent.
func repeatable(call func() error) error {
	noAnswer := func(err error) bool { return unknown(err) || errors.Is(err, engagement.ErrUnreachable) }
	err := call()
	if noAnswer(err) {
		err = call()
	}
	if noAnswer(err) && !unknown(err) {
		err = fmt.Errorf("%w: %w", engagement.ErrOutcomeUnknown, err)
	}
	return err
}

// settle looks for what a write AXP did not answer made, for up to
// SettleTimeout; found reports whether find saw it.
func (f *Face) settle(ctx context.Context, find func(ctx context.Context) (bool, error)) bool {
	ok, _ := engagement.Await(ctx, f.cfg.SettleTimeout, find)
	return ok
}

// beginAttempt records a write under its handle before it goes to AXP.
// When the record of another attempt of the same write is there (pending),
// it looks (find) for what that attempt made while its holder is alive and
// its time lasts. It reports found when find saw it; when it returns
// neither found nor an error, the record is the caller's (the write is
// new, the other attempt failed and said so, or the unconfirmed window
// since it began has passed) and the caller makes it. While the other
// attempt could still land and nobody waits for it, the answer is
// engagement.ErrOutcomeUnknown.
func (f *Face) beginAttempt(ctx context.Context, conv, key string, find func(ctx context.Context) (bool, error)) (found bool, err error) {
	mine := mapping.SendRecord{ProviderMessageID: key, State: mapping.SendPending, Holder: f.cfg.ReplicaID, At: f.now()}
	cur, won, err := f.store.BeginSend(ctx, conv, key, mine, f.cfg.SendWindow)
	if err != nil {
		return false, fmt.Errorf("legacyv1: record the attempt: %w", err)
	}
	if won {
		return false, nil
	}
	return f.awaitAttempt(ctx, conv, key, cur, mine, find)
}

func (f *Face) awaitAttempt(ctx context.Context, conv, key string, cur, mine mapping.SendRecord, find func(ctx context.Context) (bool, error)) (found bool, err error) {
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		deadline := cur.At.Add(f.cfg.RequestTimeout)
		if ok, err := find(ctx); ok || err != nil {
			return ok, err
		}
		alive := cur.Holder == f.cfg.ReplicaID
		if !alive && cur.Holder != "" {
			if alive, err = f.store.Alive(ctx, cur.Holder); err != nil {
				return false, fmt.Errorf("legacyv1: is the first attempt's replica alive: %w", err)
			}
		}
		if !f.now().Before(cur.At.Add(f.cfg.UnconfirmedWindow)) {
			// The other attempt can land no more: this one makes it,
			// unless another retry took it over first.
			next := cur
			next.Holder, next.At = f.cfg.ReplicaID, f.now()
			took, err := f.store.TakeSend(ctx, conv, key, cur, next, f.cfg.SendWindow)
			if err != nil {
				return false, fmt.Errorf("legacyv1: take the attempt over: %w", err)
			}
			if took {
				return false, nil
			}
		} else if !alive || !f.now().Before(deadline) {
			// Nobody waits for the other attempt's answer, and AXP may
			// still apply it.
			return false, fmt.Errorf("%w: an earlier attempt may still land", engagement.ErrOutcomeUnknown)
		} else {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return false, ctx.Err()
			case <-t.C:
			}
		}
		rec, ok, err := f.store.Send(ctx, conv, key)
		if err != nil {
			return false, fmt.Errorf("legacyv1: read the attempt's record: %w", err)
		}
		if !ok {
			// The other attempt failed and said so: this one begins.
			var won bool
			if rec, won, err = f.store.BeginSend(ctx, conv, key, mine, f.cfg.SendWindow); err != nil || won {
				return false, err
			}
		}
		cur = rec
	}
}
