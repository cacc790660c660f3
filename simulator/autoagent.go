package simulator

import (
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// autoTask is a scheduled auto-agent action. The delay is the same for every
// task, so the FIFO channel is also due-time order and one worker suffices.
type autoTask struct {
	due time.Time
	run func()
}

// schedule queues an auto-agent action; a full queue drops it (bounded memory
// under load beats a late demo reply).
func (s *Simulator) schedule(run func()) {
	select {
	case s.auto <- autoTask{due: time.Now().Add(s.cfg.AutoAgentDelay), run: run}:
	default:
		s.log.Warn("auto-agent queue full, action dropped")
	}
}

func (s *Simulator) runAuto() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		var task autoTask
		select {
		case task = <-s.auto:
		case <-s.done:
			return
		}
		if d := time.Until(task.due); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
		}
		// Switched off while the action waited: off means no more
		// automatic actions, not only no new ones.
		if s.autoAgent.Load() {
			task.run()
		}
	}
}

// scheduleJoin makes the auto-agent join a new dialog.
func (s *Simulator) scheduleJoin(account, engID, dialogID string) {
	s.schedule(func() {
		if _, p := s.agentJoin(account, engID, AgentJoin{DisplayName: s.cfg.AutoAgentName, DialogID: dialogID}); p != nil {
			s.log.Debug("auto-agent join skipped", "engagementId", engID, "dialogId", dialogID, "reason", p.Detail)
		}
	})
}

// scheduleReply makes the auto-agent answer a customer message, joining
// first if no agent is in the dialog (the join may have been dropped).
func (s *Simulator) scheduleReply(account, engID, dialogID, text string) {
	s.schedule(func() {
		req := AgentMessage{Text: truncateRunes("You said: "+text, 4096), DialogID: dialogID}
		_, p := s.agentMessage(account, engID, req)
		if p != nil && p.Status == 409 {
			if _, jp := s.agentJoin(account, engID, AgentJoin{DisplayName: s.cfg.AutoAgentName, DialogID: dialogID}); jp == nil {
				_, p = s.agentMessage(account, engID, req)
			}
		}
		if p != nil {
			s.log.Debug("auto-agent reply skipped", "engagementId", engID, "dialogId", dialogID, "reason", p.Detail)
		}
	})
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// AutoAgentState is the body of GET and PUT /sim/auto-agent.
type AutoAgentState struct {
	// Enabled is whether the auto-agent joins new dialogs and answers
	// customer messages; PUT requires it.
	Enabled *bool `json:"enabled"`
	// Name and DelayMs are the configured agent name and delay (read only).
	Name    string `json:"name,omitempty"`
	DelayMs int64  `json:"delayMs,omitempty"`
}

// AutoAgent reports whether the auto-agent is on.
func (s *Simulator) AutoAgent() bool { return s.autoAgent.Load() }

// SetAutoAgent switches the auto-agent on or off at run time. Off also
// cancels what it had scheduled and not yet done; on acts on dialogs
// created and messages sent from then on.
func (s *Simulator) SetAutoAgent(on bool) {
	if s.autoAgent.Swap(on) != on {
		s.log.Info("auto-agent switched", "enabled", on)
	}
}

func (s *Simulator) autoAgentState() AutoAgentState {
	on := s.autoAgent.Load()
	return AutoAgentState{Enabled: &on, Name: s.cfg.AutoAgentName, DelayMs: s.cfg.AutoAgentDelay.Milliseconds()}
}

func (s *Simulator) getAutoAgent(ctx *fasthttp.RequestCtx) *Problem {
	writeJSON(ctx, http.StatusOK, s.autoAgentState())
	return nil
}

func (s *Simulator) putAutoAgent(ctx *fasthttp.RequestCtx) *Problem {
	var req AutoAgentState
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	if !c.notNull("enabled", req.Enabled != nil) {
		return c.problem()
	}
	s.SetAutoAgent(*req.Enabled)
	writeJSON(ctx, http.StatusOK, s.autoAgentState())
	return nil
}
