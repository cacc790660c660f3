package connectorapi

import (
	"testing"
	"time"
)

// TestDeliveryWaitsForAnotherReplicasLeaseThenTakesTheQueueOver plays a
// replica that died holding a conversation's delivery lease: this replica
// delivers none of the conversation's notifications while the lease runs,
// all of them in order once it has run out, and gives the lease back when
// the queue drains.
func TestDeliveryWaitsForAnotherReplicasLeaseThenTakesTheQueueOver(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("lease")
	conv := s.openConversation(c)
	const deadTTL = time.Second
	taken := time.Now()
	if ok, err := s.store.Lease(s.ctx, conv, "dead-replica", deadTTL); err != nil || !ok {
		t.Fatalf("lease as the dead replica: %v %v", ok, err)
	}
	const n = 3
	s.agentTalks(conv, n)
	s.waitDepth(func(d int) bool { return d >= n+1 }, "the join and the messages queued")
	// Still inside the dead replica's lease (checked by asking for it):
	// nothing may have gone out.
	if ok, err := s.store.Lease(s.ctx, conv, "probe", deadTTL); err != nil || ok {
		t.Fatalf("the dead replica's lease ended too early for this check (%v, %v after %s)", ok, err, time.Since(taken))
	}
	if got := s.hooks.requests(); len(got) != 0 {
		t.Fatalf("%d notifications delivered while another replica held the lease", len(got))
	}

	got := s.hooks.waitHooks(t, "the messages after the lease ran out", func(got []hookRequest) bool {
		return len(messagesOf(t, got, conv, appSecret)) >= n
	})
	inOrderAtLeastOnce(t, messagesOf(t, got, conv, appSecret), n)
	s.waitDepth(func(d int) bool { return d == 0 }, "the outbox to empty")

	// Drained: the lease is given back, so another replica may take it.
	deadline := time.Now().Add(waitFor)
	for {
		ok, err := s.store.Lease(s.ctx, conv, "next-replica", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease was not released after the queue drained")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDefaultReplicaIDsDifferBetweenFaces(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		id := DefaultReplicaID()
		if id == "" || seen[id] {
			t.Fatalf("replica id %q empty or repeated", id)
		}
		seen[id] = true
	}
}

// TestStoppedWorkerGivesItsLeasesBack: a replica shut down gracefully lets
// the others take its conversations at once, not after the lease TTL.
func TestStoppedWorkerGivesItsLeasesBack(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.hooks.setStatus(503)
	conv := s.openConversation(s.newConsumer("graceful"))
	s.agentTalks(conv, 1)
	deadline := time.Now().Add(waitFor)
	for {
		heads, err := s.store.Heads(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) == 1 && heads[0].Attempts > 0 {
			break // tried once, under this replica's lease
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt was made")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ok, err := s.store.Lease(s.ctx, conv, "other-replica", time.Minute); err != nil || ok {
		t.Fatalf("another replica took a lease the running worker holds: %v %v", ok, err)
	}
	s.stopRun()
	<-s.runDone
	if ok, err := s.store.Lease(s.ctx, conv, "other-replica", time.Minute); err != nil || !ok {
		t.Fatalf("after the worker stopped, another replica could not take the lease: %v %v", ok, err)
	}
}
