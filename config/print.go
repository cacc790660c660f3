package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Mask replaces a secret where the configuration is printed.
const Mask = "********"

// MaskedYAML is the resolved configuration (file, environment, defaults) as
// a YAML file that Load reads back, with every secret replaced by Mask: the
// fields tagged secret:"true" (client secrets, the webhook token, the SMTP
// password, the connector secret), the password of a URL tagged
// secret:"url" (store.redis_url), and, in every URL, the password and the
// query values (a webhook endpoint may carry its own token there). An
// empty secret stays empty, so that "not set" can be told from "set".
func (c *Config) MaskedYAML() ([]byte, error) { return c.marshal(true) }

func (c *Config) marshal(mask bool) ([]byte, error) {
	n, err := node(reflect.ValueOf(c).Elem(), "", mask)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: print: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: print: %w", err)
	}
	return buf.Bytes(), nil
}

// node renders v the way the file is written: durations as "15s", every
// field present (so that a default can be seen), lists and maps in order.
func node(v reflect.Value, secret string, mask bool) (*yaml.Node, error) {
	scalar := func(tag, s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s} }
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		return scalar("!!str", time.Duration(v.Int()).String()), nil
	case v.Kind() == reflect.String:
		s := v.String()
		if mask {
			s = maskString(s, secret)
		}
		return scalar("!!str", s), nil
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Bool:
		if v.IsNil() { // unset: the default decides
			return scalar("!!null", "null"), nil
		}
		return node(v.Elem(), secret, mask)
	case v.Kind() == reflect.Float64:
		return scalar("!!float", strconv.FormatFloat(v.Float(), 'g', -1, 64)), nil
	case v.Kind() == reflect.Int, v.Kind() == reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	case v.Kind() == reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Type().Elem().Kind() != reflect.Struct {
			seq.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			item, err := node(v.Index(i), secret, mask)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, item)
		}
		return seq, nil
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range keys {
			val, err := node(v.MapIndex(reflect.ValueOf(k)), secret, mask)
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, scalar("!!str", k), val)
		}
		return m, nil
	case v.Kind() == reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			val, err := node(v.Field(i), f.Tag.Get("secret"), mask)
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, scalar("!!str", name), val)
		}
		return m, nil
	}
	// A kind this printer does not know could hold a secret it cannot see:
	// refuse rather than print it.
	return nil, fmt.Errorf("config: print: a %s cannot be printed", v.Type())
}

// maskString hides a secret field entirely, and the password and query
// values of any URL.
func maskString(s, secret string) string {
	if s == "" {
		return s
	}
	if secret == "true" {
		return Mask
	}
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if secret != "" {
			return Mask // a secret URL that does not parse: all of it
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Mask)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{Mask}
		}
		u.RawQuery = q.Encode()
	}
	// url.URL escapes the mask's asterisks; put them back for the reader.
	return strings.ReplaceAll(u.String(), url.QueryEscape(Mask), Mask)
}

// MaskURL hides the password and the query values of a URL (a webhook
// endpoint may carry its own token there), as the printed configuration
// does; a string that is no URL is shown as it is.
func MaskURL(s string) string { return maskString(s, "") }
