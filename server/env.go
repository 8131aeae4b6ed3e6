package server

import "fmt"

// FromEnv sets every setting of Settings whose environment variable is set
// (getenv returns "" for unset). Flags are applied after, so they win.
func (c *Config) FromEnv(getenv func(string) string) error {
	for _, s := range Settings {
		raw := getenv(s.Env)
		if raw == "" {
			continue
		}
		if err := s.bind(c).Set(raw); err != nil {
			return fmt.Errorf("%s: %w", s.Env, err)
		}
	}
	return nil
}
