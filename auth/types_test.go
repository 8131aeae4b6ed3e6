package auth_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

// secretFields walks a type's fields (through pointers and nested structs)
// and returns those whose names say they hold a secret or its hash.
func secretFields(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.ToLower(f.Name)
		for _, bad := range []string{"password", "hash", "digest", "secret", "recovery", "otplaststep"} {
			if strings.Contains(name, bad) {
				out = append(out, path+"."+f.Name)
			}
		}
		out = append(out, secretFields(f.Type, path+"."+f.Name, seen)...)
	}
	return out
}

// What the service hands out is all a door ever holds, so it must hold no
// password hash, TOTP secret, recovery code or token digest: a door cannot
// leak what it never gets.
func TestCallerTypesCarryNoSecrets(t *testing.T) {
	for _, v := range []any{auth.User{}, auth.Token{}, auth.SSHKey{}, auth.Principal{}, auth.CreatedToken{}} {
		typ := reflect.TypeOf(v)
		got := secretFields(typ, typ.Name(), map[reflect.Type]bool{})
		if typ.Name() == "CreatedToken" {
			// The one place the secret is shown, once, at creation.
			got = without(got, "CreatedToken.Secret")
		}
		if len(got) > 0 {
			t.Errorf("%s carries secrets: %v", typ.Name(), got)
		}
	}
	// The walk does find them where they are.
	if got := secretFields(reflect.TypeOf(store.User{}), "User", map[reflect.Type]bool{}); len(got) == 0 {
		t.Fatal("the check finds no secret in store.User: it proves nothing")
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// Doors test one error for "the database is unreachable", whichever layer
// wrapped it.
func TestErrUnavailableMatchesStorageFailuresFromEveryLayer(t *testing.T) {
	wrapped := fmt.Errorf("authenticate token: %w", fmt.Errorf("token by digest: %w", store.ErrUnavailable))
	if !errors.Is(wrapped, auth.ErrUnavailable) {
		t.Fatalf("%v does not match auth.ErrUnavailable", wrapped)
	}
	if errors.Is(fmt.Errorf("user 3: %w", auth.ErrNotFound), auth.ErrUnavailable) {
		t.Fatal("not found matches unavailable")
	}
}
