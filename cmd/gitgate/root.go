package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/internal/buildinfo"
	"github.com/gitgate/gitgate/server"
)

// newRootCmd builds the whole command tree. To add a command: write a
// newXCmd(a) in its group's file (or a new file for a new group) with
// Use, Short, Example and RunE, and add it below or to its group; the
// tests in root_test.go then check its help and summary.
func newRootCmd(a *app) *cobra.Command {
	// Commands are listed in the order they are added: the order of the
	// docs, with serve first.
	cobra.EnableCommandSorting = false
	root := &cobra.Command{
		Use:   "gitgate",
		Short: "A self-hosted Git server gateway with GitLab-style personal access tokens",
		Long: `gitgate serves bare repositories over smart HTTP and SSH, with GitLab-style
personal access tokens and a GitLab-v4-compatible REST API. Every command
other than serve works directly on the configured database; what it changes
reaches running servers within a second.`,
		Example: `  gitgate serve
  gitgate --data-dir /srv/gitgate user create --username alice --email alice@example.com
  GITGATE_DATABASE_URL=postgres://gitgate@db/gitgate gitgate migrate`,
		// Unknown commands reach RunE, which says so in one line.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usagef("unknown command %q (run gitgate help)", args[0])
		},
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.validate() },
		SilenceErrors:     true,
		SilenceUsage:      true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
	// --version prints what `gitgate version` prints.
	root.Version = buildinfo.Get().Version
	cobra.AddTemplateFunc("gitgateVersion", func() string {
		var b strings.Builder
		writeVersion(&b)
		return b.String()
	})
	root.SetVersionTemplate("{{gitgateVersion}}")
	root.Flags().Bool("version", false, "print the version, commit, build date and Go version")
	addSettingFlags(root.PersistentFlags(), a, "")
	root.AddCommand(
		newServeCmd(a),
		newMigrateCmd(a),
		newUserCmd(a),
		newTokenCmd(a),
		newGroupCmd(a),
		newRepoCmd(a),
		newMemberCmd(a),
		newProtectCmd(a),
		newKeyCmd(a),
		newSettingsCmd(a),
		newSSHCmd(a),
		newMailCmd(a),
		newNotifyCmd(a),
		newBackupCmd(a),
		newRestoreCmd(a),
		newVersionCmd(a),
	)
	root.SetHelpCommand(newHelpCmd(root))
	helpFunc := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		helpFunc(cmd, args)
		if !cmd.HasParent() {
			writeEnvironment(cmd.OutOrStdout())
		}
	})
	addCompletionExamples(root)
	// Added now rather than while executing, so the tree is complete
	// for the tests that walk it.
	root.InitDefaultHelpCmd()
	return root
}

// validate checks the configuration once flags are parsed, so a bad
// setting stops every command at start with one line naming it.
func (a *app) validate() error {
	if err := a.cfg.Defaults().Validate(); err != nil {
		return &usageError{msg: err.Error()}
	}
	return nil
}

// addSettingFlags adds the flags of the configuration table that belong
// to command (empty: the global flags), writing into a.cfg. The
// environment has already been applied to a.cfg, so a flag wins over its
// variable, which wins over the default.
func addSettingFlags(fs *pflag.FlagSet, a *app, command string) {
	for _, s := range server.Settings {
		if s.Flag == "" || s.Command != command {
			continue
		}
		f := fs.VarPF(s.Value(&a.cfg), s.Flag, "", s.HelpString()+" ("+s.Env+")")
		// Help shows the table's default, not the environment's value.
		f.DefValue = s.Default
		if f.Value.Type() == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// writeEnvironment lists every setting for `gitgate help`.
func writeEnvironment(w io.Writer) {
	fmt.Fprintln(w, "\nEnvironment (a flag wins over its variable, a variable over the default):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range server.Settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Env, s.DefaultString(), s.HelpString())
	}
	_ = tw.Flush()
}

// newHelpCmd replaces cobra's help command, which answers an unknown
// topic with the usage and exit status 0.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [COMMAND …]",
		Short:   "Show the help of gitgate or of one of its commands",
		Example: "  gitgate help\n  gitgate help token create",
		// Help must work even when the configuration does not.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return &usageError{msg: fmt.Sprintf("unknown help topic %q (run gitgate help)", strings.Join(args, " "))}
			}
			return target.Help()
		},
	}
}

// addCompletionExamples adds cobra's completion command now (it would
// otherwise appear only while executing) and gives it examples.
func addCompletionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  source <(gitgate completion bash)\n  gitgate completion zsh > \"${fpath[1]}/_gitgate\""
		c.PersistentPreRunE = func(*cobra.Command, []string) error { return nil }
		for _, sh := range c.Commands() {
			sh.Example = "  gitgate completion " + sh.Name() + " > gitgate-completion." + sh.Name()
		}
	}
}

// usage is the usage error of cmd: "usage: gitgate token revoke …".
func usage(cmd *cobra.Command) error {
	return usagef("usage: %s %s", cmd.Parent().CommandPath(), cmd.Use)
}

// exactArgs requires n positional arguments, or answers with the usage.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usage(cmd)
		}
		return nil
	}
}

// parentCmd is a command that only holds subcommands (gitgate user,
// gitgate token …): alone or with an unknown subcommand it answers with
// one usage line.
func parentCmd(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			if len(args) == 0 {
				return usagef("usage: %s %s …", cmd.CommandPath(), strings.Join(names, "|"))
			}
			path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			return usagef("unknown %s command %q: use %s", path, args[0], orList(names))
		},
	}
	c.AddCommand(subs...)
	return c
}

// orList writes "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
