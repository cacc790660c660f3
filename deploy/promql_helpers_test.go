package deploy

import (
	"fmt"
	"strings"
)

// selector is one vector selector of a PromQL expression: the metric name
// and the label names its matchers use.
type selector struct {
	metric string
	labels []string
}

// promqlKeywords are the words of PromQL that are not metric names: the
// aggregation operators, set and grouping modifiers, offset and @'s
// start()/end(). A function is known by the "(" after it.
func promqlKeywords() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		and or unless by without on ignoring group_left group_right bool offset atan2 start end inf nan`) {
		m[w] = true
	}
	return m
}

// selectors returns the vector selectors of a PromQL expression; Grafana's
// variables ($name, ${name}, $__rate_interval) are skipped. It reads only as
// much of the grammar as names need (promtool checks the syntax): strings,
// numbers and durations, label matchers in braces, ranges in brackets, label
// lists after by/without/on/ignoring/group_left/group_right.
func selectors(expr string) ([]selector, error) {
	keywords := promqlKeywords()
	var out []selector
	s := expr
	i := 0
	next := func() byte {
		for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
			i++
		}
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	identStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	identPart := func(c byte) bool { return identStart(c) || c >= '0' && c <= '9' }
	ident := func() string {
		start := i
		for i < len(s) && identPart(s[i]) {
			i++
		}
		return s[start:i]
	}
	str := func() error {
		q := s[i]
		i++
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && q != '`' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return fmt.Errorf("unterminated string in %q", expr)
		}
		i++
		return nil
	}
	// matchers reads {name op "value", ...} and returns the names.
	matchers := func() ([]string, error) {
		i++ // {
		var names []string
		for {
			switch c := next(); {
			case c == '}':
				i++
				return names, nil
			case c == ',':
				i++
			case c == '"' || c == '\'' || c == '`':
				if err := str(); err != nil {
					return nil, err
				}
			case identStart(c):
				names = append(names, ident())
				next()
				for i < len(s) && strings.IndexByte("=!~", s[i]) >= 0 {
					i++
				}
			default:
				return nil, fmt.Errorf("unexpected %q in label matchers of %q", c, expr)
			}
		}
	}
	var prev string
	for {
		c := next()
		if c == 0 {
			return out, nil
		}
		switch {
		case c == '#': // a comment, to the end of the line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			if err := str(); err != nil {
				return nil, err
			}
		case c == '$': // a Grafana variable
			i++
			if i < len(s) && s[i] == '{' {
				for i < len(s) && s[i] != '}' {
					i++
				}
				i++
			} else {
				ident()
			}
		case c >= '0' && c <= '9' || c == '.': // a number or a duration
			for i < len(s) && (identPart(s[i]) || s[i] == '.') {
				i++
			}
		case c == '[': // a range or a subquery's range
			for i < len(s) && s[i] != ']' {
				i++
			}
			i++
		case c == '{': // {__name__="…"}: the name would hide from this check
			return nil, fmt.Errorf("selector without a metric name in %q: name the metric", expr)
		case c == '(' && (prev == "by" || prev == "without" || prev == "on" || prev == "ignoring" || prev == "group_left" || prev == "group_right"):
			for i < len(s) && s[i] != ')' {
				i++
			}
			i++
		case identStart(c):
			word := ident()
			prev = word
			if keywords[strings.ToLower(word)] {
				continue
			}
			if next() == '(' {
				continue // a function
			}
			sel := selector{metric: word}
			if next() == '{' {
				names, err := matchers()
				if err != nil {
					return nil, err
				}
				sel.labels = names
			}
			out = append(out, sel)
			continue
		default:
			i++ // operators, parentheses, commas
		}
		prev = ""
	}
}
