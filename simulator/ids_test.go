package simulator

import (
	"testing"

	"github.com/google/uuid"
)

// AXP's own ids are time-based as in the reference's examples; a
// participant's is random.
func TestAXPIdsAreTimeBasedAndParticipantsRandom(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("ids")
	e := a.createEngagement(s.SessionID)
	m := a.send(e, s.SessionID, "hello")
	for _, tt := range []struct {
		name    string
		id      string
		version uuid.Version
	}{
		{"session", s.SessionID, 1},
		{"engagement", e.EngagementID, 1},
		{"dialog", e.Dialogs[0].DialogID, 1},
		{"message", m.MessageID, 1},
		{"participant", s.ParticipantID, 4},
	} {
		id, err := uuid.Parse(tt.id)
		if err != nil || id.Version() != tt.version {
			t.Errorf("%s id %q: version %v (%v), want %d", tt.name, tt.id, id.Version(), err, tt.version)
		}
	}
}
