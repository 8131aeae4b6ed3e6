package backup

import (
	"slices"
	"testing"
)

func TestPostgresToolsGetTheURLWithoutPasswordOrLibPQExtras(t *testing.T) {
	rows := []struct {
		name, url, wantURL, schema string
		wantEnv                    []string
	}{
		{"plain", "postgres://gitgate@db:5432/gitgate?sslmode=disable",
			"postgres://gitgate@db:5432/gitgate?sslmode=disable", "public", nil},
		{"password goes to the environment", "postgres://gitgate:s3cret@db/gitgate",
			"postgres://gitgate@db/gitgate", "public", []string{"PGPASSWORD=s3cret"}},
		{"search_path becomes a server option and names the schema", "postgres://u:p@db/gitgate?sslmode=require&search_path=t_abc",
			"postgres://u@db/gitgate?sslmode=require", "t_abc", []string{"PGPASSWORD=p", "PGOPTIONS=-c search_path=t_abc"}},
		{"the first schema of a list", "postgresql://db/gitgate?search_path=gg,public",
			"postgresql://db/gitgate", "gg", []string{"PGOPTIONS=-c search_path=gg,public"}},
		{"lib/pq's own parameters are dropped", "postgres://db/gitgate?binary_parameters=yes&application_name=gitgate",
			"postgres://db/gitgate?application_name=gitgate", "public", nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c, err := newPGConn(r.url)
			if err != nil {
				t.Fatal(err)
			}
			if c.url != r.wantURL || c.schema != r.schema || !slices.Equal(c.env, r.wantEnv) {
				t.Fatalf("got %q %q %q; want %q %q %q", c.url, c.schema, c.env, r.wantURL, r.schema, r.wantEnv)
			}
		})
	}
}

func TestARestoreIntoAnExistingSchemaLeavesOutOnlyItsCreation(t *testing.T) {
	list := []byte(";\n; Archive created at 2026-11-30\n5; 2615 16385 SCHEMA - t_abc gitgate\n" +
		"6; 2615 16390 SCHEMA - t_abcd gitgate\n220; 1259 16400 TABLE t_abc users gitgate\n")
	got := string(withoutSchemaEntry(list, "t_abc"))
	want := ";\n; Archive created at 2026-11-30\n6; 2615 16390 SCHEMA - t_abcd gitgate\n220; 1259 16400 TABLE t_abc users gitgate\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
