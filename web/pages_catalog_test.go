package web

import (
	"testing"

	perm "github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
)

// The pages name some catalog keys from data (a setting, a visibility, a
// role): every value they can meet has its text.
func TestEverySettingVisibilityAndRoleHasItsText(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, name := range auth.SettingNames() {
		keys = append(keys, "setting."+name, "setting."+name+".effect")
	}
	for _, v := range []string{perm.Private, perm.Internal, perm.Public} {
		keys = append(keys, "visibility."+v, "visibility."+v+".hint")
	}
	for _, l := range []perm.AccessLevel{perm.NoAccess, perm.Guest, perm.Reporter, perm.Developer, perm.Maintainer, perm.Owner, perm.Admin} {
		keys = append(keys, roleKey(l))
	}
	for _, lang := range c.languages() {
		keys = append(keys, "language."+lang)
	}
	for _, k := range keys {
		if _, ok := c.messages[defaultLanguage][k]; !ok {
			t.Errorf("the catalog lacks %s", k)
		}
	}
}
