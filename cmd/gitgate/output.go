package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Output for people and for scripts (docs/cli.md#output-and-exit-status):
// on a terminal, tables have a rule under their header and colour (unless
// NO_COLOR is set); anywhere else the same columns come plain, aligned with
// spaces, one header line first, so that scripts and pipes see no escape
// codes. Prompts (a no-echo password, a deletion to confirm) happen only
// when standard input is a terminal; a script passes --password-stdin or
// --yes instead.

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// stdoutIsTerminal says whether to print tables and colour.
func (a *app) stdoutIsTerminal() bool { return isTerminal(a.stdout) }

// colour says whether stdout takes ANSI colours: a terminal, NO_COLOR
// unset or empty (no-color.org), and not TERM=dumb.
func (a *app) colour() bool {
	return a.stdoutIsTerminal() && a.env("NO_COLOR") == "" && a.env("TERM") != "dumb"
}

func (a *app) env(k string) string {
	if a.getenv == nil {
		return ""
	}
	return a.getenv(k)
}

const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

// stateColour is the colour of a state word: green for what works, red
// for what was stopped, yellow for what ran out.
func stateColour(s string) string {
	switch strings.Fields(s + " ")[0] {
	case "active":
		return ansiGreen
	case "revoked", "blocked", "locked":
		return ansiRed
	case "expired", "inactive":
		return ansiYellow
	}
	return ""
}

// table collects rows and prints them aligned.
type table struct {
	a      *app
	header []string
	rows   [][]string
	// stateCol is the column coloured by stateColour (-1: none).
	stateCol int
}

func (a *app) newTable(header ...string) *table {
	return &table{a: a, header: header, stateCol: -1}
}

// colourState colours column i by its state words.
func (t *table) colourState(i int) *table { t.stateCol = i; return t }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print() error {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	tty, colour := t.a.stdoutIsTerminal(), t.a.colour()
	w := bufio.NewWriter(t.a.stdout)
	line := func(cells []string, style func(i int, s string) string) {
		for i, c := range cells {
			pad := ""
			if i < len(cells)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2)
			}
			w.WriteString(style(i, c) + pad)
		}
		w.WriteString("\n")
	}
	line(t.header, func(_ int, s string) string {
		if colour {
			return ansiBold + s + ansiReset
		}
		return s
	})
	if tty {
		rule := make([]string, len(widths))
		for i, n := range widths {
			rule[i] = strings.Repeat("─", n)
		}
		line(rule, func(_ int, s string) string { return s })
	}
	for _, r := range t.rows {
		line(r, func(i int, s string) string {
			if c := stateColour(s); colour && i == t.stateCol && c != "" {
				return c + s + ansiReset
			}
			return s
		})
	}
	return w.Flush()
}

// fields prints "Name:  value" lines, aligned, for one object.
func (a *app) fields(pairs ...string) error {
	width := 0
	for i := 0; i < len(pairs); i += 2 {
		width = max(width, utf8.RuneCountInString(pairs[i]))
	}
	w := bufio.NewWriter(a.stdout)
	for i := 0; i < len(pairs); i += 2 {
		name := pairs[i] + ":"
		if a.colour() {
			name = ansiBold + name + ansiReset
		}
		fmt.Fprintf(w, "%s%s %s\n", name, strings.Repeat(" ", width-utf8.RuneCountInString(pairs[i])), pairs[i+1])
	}
	return w.Flush()
}

// confirm asks, on a terminal, to type answer to go ahead with what;
// without a terminal it refuses, unless yes. A refusal is a usage error
// that changes nothing.
func (a *app) confirm(yes bool, what, answer string) error {
	if yes {
		return nil
	}
	if !isTerminal(a.stdin) {
		return usagef("refusing to %s without --yes (standard input is not a terminal to confirm on)", what)
	}
	fmt.Fprintf(a.stderr, "This will %s. Type %q to confirm: ", what, answer)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read confirmation: %w", err)
	}
	if strings.TrimSpace(line) != answer {
		return &usageError{msg: "not confirmed: nothing was changed"}
	}
	return nil
}

// newPassword reads a password: one line of standard input with
// --password-stdin, or typed twice without echo on a terminal. Anything
// else is refused, so a password never lands in a shell history or a
// process list.
func (a *app) newPassword(fromStdin bool) (string, error) {
	if fromStdin {
		return readPassword(a.stdin)
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usagef("no password: pass it on standard input with --password-stdin, or run on a terminal to type it")
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	pw, err := read("New password: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", fmt.Errorf("no password typed: nothing was changed")
	}
	again, err := read("Repeat it: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", fmt.Errorf("the two passwords differ: nothing was changed")
	}
	return pw, nil
}
