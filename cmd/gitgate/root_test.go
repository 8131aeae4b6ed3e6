package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// These tests run the command tree in-process: help and parsing need no
// database. main_test.go runs the built binary for everything else.

func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// allCommands is every command of the tree, root first.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

func TestEveryCommandHasASummaryAnExampleAndAnswersHelp(t *testing.T) {
	root := newRootCmd(&app{})
	cmds := allCommands(root)
	if len(cmds) < 20 {
		t.Fatalf("walked only %d commands", len(cmds))
	}
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			if c.Short == "" || strings.Contains(c.Short, "\n") {
				t.Errorf("no one-line summary (Short): %q", c.Short)
			}
			if strings.TrimSpace(c.Example) == "" {
				t.Error("no Example")
			}
			for _, args := range [][]string{append(path, "--help"), append(path, "-h"), append([]string{"help"}, path...)} {
				stdout, stderr, code := runCLI(t, nil, args...)
				if code != 0 || stderr != "" {
					t.Errorf("gitgate %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
				}
				for _, want := range []string{"Usage:\n  " + c.CommandPath(), "Examples:\n" + c.Example, "--data-dir"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("gitgate %s does not print %q:\n%s", strings.Join(args, " "), want, stdout)
					}
				}
			}
		})
	}
}

func TestHelpListsEveryCommandAndEveryEnvironmentVariable(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}} {
		stdout, stderr, code := runCLI(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("gitgate %v: exit %d %q", args, code, stderr)
		}
		for _, want := range []string{"serve ", "migrate ", "user ", "token ", "group ", "repo ", "member ", "key ", "settings ", "ssh ", "version ", "completion ",
			"GITGATE_DATA_DIR ", "GITGATE_AUTH_LOCKOUT_WINDOW ", "GITGATE_SSH_MAX_AUTH_TRIES "} {
			if !strings.Contains(stdout, "\n  "+want) {
				t.Errorf("gitgate %v does not list %q:\n%s", args, want, stdout)
			}
		}
	}
}

func TestUnknownCommandsFlagsAndTopicsFailWithOneLine(t *testing.T) {
	rows := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `gitgate: unknown command "frobnicate" (run gitgate help)`},
		{[]string{"--frob"}, "gitgate: unknown flag: --frob"},
		{[]string{"token"}, "gitgate: usage: gitgate token create|revoke|list|show|rotate … (see gitgate token --help)"},
		{[]string{"token", "frob"}, `gitgate: unknown token command "frob": use create, revoke, list, show or rotate (see gitgate token --help)`},
		{[]string{"user", "2fa", "frob", "alice"}, `gitgate: unknown user 2fa command "frob": use enable or disable`},
		{[]string{"token", "create", "--frob"}, "gitgate: unknown flag: --frob (see gitgate token create --help)"},
		{[]string{"token", "list", "--user"}, "gitgate: flag needs an argument: --user (see gitgate token list --help)"},
		{[]string{"token", "revoke", "--id", "seven"}, `invalid argument "seven" for "--id" flag`},
		{[]string{"user", "block"}, "gitgate: usage: gitgate user block USERNAME (see gitgate user block --help)"},
		{[]string{"member", "add", "alice/proj", "bob"}, "gitgate: usage: gitgate member add (NAMESPACE/NAME | GROUP) USER --access"},
		{[]string{"settings", "get", "a", "b"}, "gitgate: usage: gitgate settings get [KEY]"},
		{[]string{"settings", "set", "novalue"}, `gitgate: "novalue" is not KEY=VALUE (see gitgate settings set --help)`},
		{[]string{"serve", "extra"}, "gitgate: usage: gitgate serve"},
		{[]string{"help", "frob"}, `gitgate: unknown help topic "frob" (run gitgate help)`},
		{[]string{"help", "user", "frob"}, `gitgate: unknown help topic "user frob"`},
	}
	for _, r := range rows {
		stdout, stderr, code := runCLI(t, nil, r.args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, r.want) {
			t.Errorf("gitgate %v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", r.args, code, stdout, stderr, r.want)
		}
	}
}

// Flags are parsed the way ExecuteC parses them, without running the
// command, to read the configuration a command would get.
func TestAFlagWinsOverItsVariableWhichWinsOverTheDefault(t *testing.T) {
	rows := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, []string{"migrate"}, "127.0.0.1:8080"},
		{"environment", map[string]string{"GITGATE_HTTP_ADDR": "10.0.0.1:80"}, []string{"migrate"}, "10.0.0.1:80"},
		{"flag after the command", map[string]string{"GITGATE_HTTP_ADDR": "10.0.0.1:80"}, []string{"migrate", "--http-addr", "10.0.0.2:80"}, "10.0.0.2:80"},
		{"flag before the command", map[string]string{"GITGATE_HTTP_ADDR": "10.0.0.1:80"}, []string{"--http-addr=10.0.0.3:80", "user", "block", "x"}, "10.0.0.3:80"},
		{"flag between arguments", nil, []string{"member", "add", "a/b", "--http-addr", "10.0.0.4:80", "bob"}, "10.0.0.4:80"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			a := &app{}
			if err := a.cfg.FromEnv(func(k string) string { return r.env[k] }); err != nil {
				t.Fatal(err)
			}
			root := newRootCmd(a)
			cmd, rest, err := root.Find(r.args)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatal(err)
			}
			if got := a.cfg.Defaults().HTTPAddr; got != r.want {
				t.Fatalf("HTTP address %q, want %q", got, r.want)
			}
		})
	}
	// A command's own setting flag: serve --log-level over GITGATE_LOG_LEVEL.
	a := &app{}
	_ = a.cfg.FromEnv(func(k string) string { return map[string]string{"GITGATE_LOG_LEVEL": "warn"}[k] })
	cmd, rest, _ := newRootCmd(a).Find([]string{"serve", "--log-level", "debug"})
	if err := cmd.ParseFlags(rest); err != nil || a.cfg.LogLevel != "debug" {
		t.Fatalf("serve --log-level: %v, level %q", err, a.cfg.LogLevel)
	}
}
