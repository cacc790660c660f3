package simulator

import "github.com/google/uuid"

// timeID makes an id as AXP makes its own: a time-based (version 1) UUID.
// Every example of a session, dialog, engagement or message id in the
// reference is version 1 ("f314569c-710b-11eb-9439-0242ac130002"), while
// participant and connection ids are random (version 4), as uuid.NewString
// makes them. Ids made close in time share their first digits, which is
// what a store keyed by them sees of AXP.
func timeID() string {
	id, err := uuid.NewUUID()
	if err != nil { // no clock: random, still unique
		return uuid.NewString()
	}
	return id.String()
}
