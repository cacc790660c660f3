package mapping

import (
	"github.com/google/uuid"
)

// Shards is how many parts conversations are divided into. Each shard's
// inbox and outbox are worked by one replica at a time (the holder of its
// lease), and on Redis each shard is one hash tag, so one cluster slot. It
// is part of the stored layout: every replica must use the same number.
const Shards = 64

// fnv32 is FNV-1a, inline so that it allocates nothing.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// OwnerShard is the shard of every record of one consumer: its session, its
// claim, its conversations and their queues. Keeping them together lets
// one Commit change all of them in one atomic step on a Redis Cluster.
func OwnerShard(owner ConsumerKey) int {
	return int(fnv32(owner.String()) % Shards)
}

// NewConversationID returns a new conversation id, a random UUID, whose
// shard (ShardOf) is owner's.
func NewConversationID(owner ConsumerKey) string {
	u := uuid.New()
	u[15] = u[15]&^(Shards-1) | byte(OwnerShard(owner))
	return u.String()
}

// ShardOf returns the shard of a conversation id: for the ids
// NewConversationID makes, the low bits of the UUID's last byte; for any
// other string, a hash of it.
func ShardOf(conversationID string) int {
	if len(conversationID) == 36 && conversationID[8] == '-' {
		hi, ok1 := unhex(conversationID[34])
		lo, ok2 := unhex(conversationID[35])
		if ok1 && ok2 {
			return int(hi<<4|lo) & (Shards - 1)
		}
	}
	return int(fnv32(conversationID) % Shards)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
