package mapping

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoChange, returned by an Update's change function, ends the update
// with nothing written (the conversation is already as wanted).
var ErrNoChange = errors.New("mapping: nothing to change")

// maxUpdateAttempts bounds an Update that keeps meeting newer versions.
const maxUpdateAttempts = 16

// Update is a client command's change of a conversation: it reads the
// conversation, lets change modify the copy and name the outbox items the
// change causes, and commits both with a compare-and-set on the version,
// reading again and repeating when another change came first. No lock is
// held; change does no I/O. It returns the conversation as committed (or
// as read, when change answered ErrNoChange).
func Update(ctx context.Context, s Registry, id string, change func(c *Conversation) ([]*OutboxItem, error)) (*Conversation, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.Conversation(ctx, id)
		if err != nil {
			return nil, err
		}
		next := cur.Clone()
		items, err := change(next)
		if errors.Is(err, ErrNoChange) {
			return cur, nil
		}
		if err != nil {
			return nil, err
		}
		err = s.Commit(ctx, &Change{Conv: next, Outbox: items})
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, ErrConflict) || attempt == maxUpdateAttempts {
			return nil, fmt.Errorf("mapping: update %s: %w", id, err)
		}
	}
}
