package redistest

import (
	"testing"
)

func TestServerAnswersStopsAndRestartsWithItsData(t *testing.T) {
	s := Start(t)
	steps := []struct {
		name string
		do   func()
		cmd  []string
		want string
		fail bool
	}{
		{name: "answers after start", cmd: []string{"PING"}, want: "+PONG"},
		{name: "takes a write", cmd: []string{"SET", "k", "v"}, want: "+OK"},
		{name: "refuses connections once stopped", do: s.Stop, cmd: []string{"PING"}, fail: true},
		{name: "answers again after restart", do: s.Restart, cmd: []string{"PING"}, want: "+PONG"},
		{name: "keeps what was written before stop", cmd: []string{"EXISTS", "k"}, want: ":1"},
		{name: "restarts while running", do: s.Restart, cmd: []string{"EXISTS", "k"}, want: ":1"},
		{name: "loses unsaved data when killed", do: func() {
			if got, err := s.Do("SET", "lost", "1"); err != nil || got != "+OK" {
				t.Fatalf("SET lost 1 = %q, %v", got, err)
			}
			s.Kill()
			s.Restart()
		}, cmd: []string{"EXISTS", "lost"}, want: ":0"},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		got, err := s.Do(st.cmd...)
		if st.fail {
			if err == nil {
				t.Fatalf("%s: %v answered %q, want a connection error", st.name, st.cmd, got)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Fatalf("%s: %v = %q, %v; want %q", st.name, st.cmd, got, err, st.want)
		}
	}
}

func TestTwoServersGetDistinctPorts(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("both servers on %s", a.Addr)
	}
	if a.URL != "redis://"+a.Addr+"/0" {
		t.Fatalf("URL = %q", a.URL)
	}
}
