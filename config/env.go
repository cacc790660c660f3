package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EnvConfigPath names the configuration file when -config is not given; it
// is the one CONNECTOR_PROXY_ variable that is not a field.
const EnvConfigPath = EnvPrefix + "CONFIG"

// applyEnv sets every scalar field (and string list, comma-separated) whose
// variable is present in environ. Lists of structs (the apps) come from the
// file; the environment can set the fields of the items the file has, by
// index (CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET), so that a
// secret can come from a Kubernetes Secret while the rest of the app is in a
// ConfigMap.
func applyEnv(c *Config, environ []string) error {
	env := prefixed(environ)
	if len(env) == 0 {
		return nil
	}
	return eachEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", func(name, path string, fv reflect.Value) error {
		raw, ok := env[name]
		if !ok {
			return nil
		}
		if err := setScalar(fv, raw); err != nil {
			return &FieldError{Field: path, Msg: fmt.Sprintf("from %s: %v", name, err)}
		}
		return nil
	})
}

// unknownEnv lists, sorted, the CONNECTOR_PROXY_ variables of environ that
// name no field of c (a misspelt name, or an app index the file does not
// have): applyEnv skips them, so a setting meant for the proxy would be
// silently not applied. CONNECTOR_PROXY_CONFIG is known, and the variables
// Kubernetes injects for a Service named connector-proxy… are not ours.
func unknownEnv(c *Config, environ []string) []string {
	env := prefixed(environ)
	delete(env, EnvConfigPath)
	_ = eachEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", func(name, _ string, _ reflect.Value) error {
		delete(env, name)
		return nil
	})
	unknown := make([]string, 0, len(env))
	for name := range env {
		if !serviceLink(name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return unknown
}

// serviceLink reports whether name is one of the Docker-link style
// variables the kubelet sets for every Service of the namespace
// (enableServiceLinks), e.g. CONNECTOR_PROXY_SERVICE_HOST and
// CONNECTOR_PROXY_PORT_8080_TCP_ADDR for a Service named connector-proxy.
func serviceLink(name string) bool {
	if strings.HasSuffix(name, "_SERVICE_HOST") || strings.HasSuffix(name, "_PORT") {
		return true
	}
	if i := strings.LastIndex(name, "_SERVICE_PORT"); i >= 0 {
		rest := name[i+len("_SERVICE_PORT"):]
		return rest == "" || strings.HasPrefix(rest, "_")
	}
	i := strings.LastIndex(name, "_PORT_")
	if i < 0 {
		return false
	}
	parts := strings.Split(name[i+len("_PORT_"):], "_") // 8080 TCP [ADDR]
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	if _, err := strconv.Atoi(parts[0]); err != nil {
		return false
	}
	if !slices.Contains([]string{"TCP", "UDP", "SCTP"}, parts[1]) {
		return false
	}
	return len(parts) == 2 || slices.Contains([]string{"PROTO", "PORT", "ADDR"}, parts[2])
}

func prefixed(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	return env
}

// eachEnv calls fn with every settable field under v, its variable name and
// its configuration path; the items of a list of structs are walked by
// index.
func eachEnv(v reflect.Value, envName, field string, fn func(name, path string, fv reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name := envName + "_" + strings.ToUpper(tag)
		path := tag
		if field != "" {
			path = field + "." + tag
		}
		fv := v.Field(i)
		switch {
		case f.Type.Kind() == reflect.Struct:
			if err := eachEnv(fv, name, path, fn); err != nil {
				return err
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for j := range fv.Len() {
				if err := eachEnv(fv.Index(j), name+"_"+strconv.Itoa(j), fmt.Sprintf("%s[%d]", path, j), fn); err != nil {
					return err
				}
			}
		default:
			if err := fn(name, path, fv); err != nil {
				return err
			}
		}
	}
	return nil
}

func setScalar(fv reflect.Value, raw string) error {
	switch {
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() != reflect.Struct:
		// An optional scalar (nil: "not set", so the default can depend on
		// other fields).
		v := reflect.New(fv.Type().Elem())
		if err := setScalar(v.Elem(), raw); err != nil {
			return err
		}
		fv.Set(v)
	case fv.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(n))
	case fv.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		fv.SetFloat(f)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		fv.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
