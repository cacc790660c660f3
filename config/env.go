package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv sets every scalar field (and string list, comma-separated) whose
// variable is present in environ. Lists of structs (the apps) come only from
// the file.
func applyEnv(c *Config, environ []string) error {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walkEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", env)
}

func walkEnv(v reflect.Value, envName, field string, env map[string]string) error {
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
		if f.Type.Kind() == reflect.Struct {
			if err := walkEnv(fv, name, path, env); err != nil {
				return err
			}
			continue
		}
		raw, ok := env[name]
		if !ok {
			continue
		}
		if err := setScalar(fv, raw); err != nil {
			return &FieldError{Field: path, Msg: fmt.Sprintf("from %s: %v", name, err)}
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
