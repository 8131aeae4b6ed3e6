package server

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// FromEnv overrides fields of c that carry an `env:"NAME"` tag with the
// value of that environment variable when it is set (getenv returns "" for
// unset). Flags are applied after, so they win.
func (c *Config) FromEnv(getenv func(string) string) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("env")
		if name == "" {
			continue
		}
		raw := getenv(name)
		if raw == "" {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return fmt.Errorf("%s=%q: %w", name, raw, err)
		}
	}
	return nil
}

// EnvNames lists every environment variable Config reads, with its field.
func EnvNames() map[string]string {
	out := map[string]string{}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if name := t.Field(i).Tag.Get("env"); name != "" {
			out[name] = t.Field(i).Name
		}
	}
	return out
}

func setField(f reflect.Value, raw string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(raw)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration like 30s or 5m")
		}
		f.SetInt(int64(d))
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("want a whole number")
		}
		f.SetInt(int64(n))
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.SetBool(b)
	case []string:
		f.Set(reflect.ValueOf(splitList(raw)))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
