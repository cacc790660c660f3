// Package pipeline is connector-proxy's event pipeline: the path of every
// AXP event from the webhook to the client, and of every notification from
// the change that caused it to its delivery.
//
//   - Receive: an AXP webhook is written, with its dedupe key, to its
//     conversation's inbox queue in one atomic step (mapping.Inbox), and only
//     then answered 200. A re-send is answered 200 and not kept again.
//   - Apply: conversations are divided into mapping.Shards shards; each
//     shard is leased to one replica (mapping.Leases), which runs one worker
//     per conversation with waiting events, never two for one conversation.
//     The worker folds the events into the conversation with its face's
//     Apply (no I/O) and commits the new state, the notifications it causes
//     and the inbox entries it consumed in one transaction, with a
//     compare-and-set on the conversation's version and a fence on the
//     shard's lease. Client commands change conversations through the same
//     compare-and-set (mapping.Update), so every change is serialised per
//     conversation without a lock held across a network call.
//   - Deliver: the shard's holder sends the due heads of its outbox queues
//     (an index by due time, so a sweep reads only what is due), one at a
//     time per conversation, with backoff, until they expire.
//
// Events that name a conversation not written yet (they overtook the answer
// of the create call) wait in their queue and are retried with a growing
// pause, for ParkFor. The README's section "The event pipeline" tells the
// life of an event and of a client command, what is durable at each step,
// and what each failure costs.
package pipeline
