package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/notify"
	"github.com/gitgate/gitgate/store"
)

// The mail commands (docs/mail.md): the expiry check by hand, and the
// outbox an operator reads and retries.

func newNotifyCmd(a *app) *cobra.Command {
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the token and SSH key expiry check now, print what it queued, and send it when SMTP is configured",
		Long: `Run the daily expiry check now, whatever the schedule already did today:
every token and SSH key is mailed about at most once per warning, so any
number of runs is safe. With GITGATE_SMTP_URL set, the queued mail is sent
before the command exits; without it, it stays pending in the outbox.`,
		Example: "  gitgate notify run\n  GITGATE_SMTP_URL=smtp://mail.example.com:587 gitgate notify run",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := a.cfg.Defaults()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			sender, err := a.newSender(s.db)
			if err != nil {
				return err
			}
			check := notify.NewExpiryWarnings(s.db, s.auth, notify.Config{ExternalURL: cfg.ExternalURL, Now: cfg.Now})
			rep, err := check.Run(ctx)
			if err != nil {
				return err
			}
			if len(rep.Queued) == 0 {
				fmt.Fprintln(a.stdout, "Nothing to queue: no token or SSH key needs a mail now")
				return nil
			}
			ids := make([]int64, len(rep.Queued))
			for i, q := range rep.Queued {
				ids[i] = q.OutboxID
				what := "token"
				if strings.HasPrefix(q.Kind, "ssh_key") {
					what = "SSH key"
				}
				if q.Items != 1 {
					what += "s"
				}
				fmt.Fprintf(a.stdout, "Queued mail %d to %s: %s (%d %s)\n", q.OutboxID, q.To, q.Subject, q.Items, what)
			}
			return a.deliver(ctx, sender, ids)
		},
	}
	return parentCmd("notify", "Run the scheduled notification jobs by hand",
		"  gitgate notify run", run)
}

func newMailCmd(a *app) *cobra.Command {
	var (
		state string
		json  bool
	)
	list := &cobra.Command{
		Use:     "list [--state pending|sent|failed] [--json]",
		Short:   "List the outbox, newest first: time, recipient, subject, state, attempts, last error",
		Example: "  gitgate mail list\n  gitgate mail list --state failed\n  gitgate mail list --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch state {
			case "", store.OutboxPending, store.OutboxSent, store.OutboxFailed:
			default:
				return usagef("--state must be pending, sent or failed, not %q", state)
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			msgs, err := s.db.ListOutbox(cmd.Context(), state, 0)
			if err != nil {
				return err
			}
			if json {
				out := make([]mailJSON, len(msgs))
				for i := range msgs {
					out[i] = toMailJSON(&msgs[i])
				}
				return printJSON(a.stdout, out)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tQUEUED\tTO\tSUBJECT\tSTATE\tATTEMPTS\tLAST ERROR")
			for i := range msgs {
				m := &msgs[i]
				last := oneLine(m.LastError)
				if last == "" {
					last = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.CreatedAt.UTC().Format(time.RFC3339), m.Recipient,
					m.Subject, m.State, m.Attempts, last)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&state, "state", "", "only messages in this state: pending, sent or failed")
	list.Flags().BoolVar(&json, "json", false, "print JSON objects instead of text")
	retry := &cobra.Command{
		Use:     "retry ID",
		Short:   "Queue a failed message again (same Message-ID), and send it now when SMTP is configured",
		Example: "  gitgate mail list --state failed\n  gitgate mail retry 12",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("mail", args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			sender, err := a.newSender(s.db)
			if err != nil {
				return err
			}
			m, err := mail.Retry(ctx, s.db, id, a.cfg.Defaults().Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Queued mail %d to %s again: %s\n", m.ID, m.Recipient, m.Subject)
			return a.deliver(ctx, sender, []int64{m.ID})
		},
	}
	return parentCmd("mail", "Read the outbox of gitgate's mail and retry failed messages",
		"  gitgate mail list --state failed\n  gitgate mail retry 12", list, retry)
}

// newSender is the CLI's own sender: it reports failed sends on stderr.
func (a *app) newSender(db *store.DB) (*mail.Sender, error) {
	cfg := a.cfg.Defaults()
	log, err := logging.New(a.stderr, "text", "warn")
	if err != nil {
		return nil, err
	}
	return mail.NewSender(db, mail.Config{SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, Now: cfg.Now, Log: log})
}

// deliver sends the given queued messages when SMTP is configured and
// says what became of them.
func (a *app) deliver(ctx context.Context, sender *mail.Sender, ids []int64) error {
	if !sender.Configured() {
		fmt.Fprintln(a.stdout, "GITGATE_SMTP_URL is not set: the mail stays pending in the outbox (gitgate mail list)")
		return nil
	}
	res, err := sender.DeliverDue(ctx, ids...)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Sent %d via %s", res.Sent, sender.Endpoint())
	if res.Retrying > 0 {
		fmt.Fprintf(a.stdout, "; %d not sent yet, retried later by a running server or gitgate mail retry", res.Retrying)
	}
	if res.Failed > 0 {
		fmt.Fprintf(a.stdout, "; %d refused by the server (gitgate mail list --state failed)", res.Failed)
	}
	if other := len(ids) - res.Sent - res.Retrying - res.Failed; other > 0 {
		fmt.Fprintf(a.stdout, "; %d already taken by a running server", other)
	}
	fmt.Fprintln(a.stdout)
	return nil
}

// mailJSON is an outbox message as `mail list --json` prints it.
type mailJSON struct {
	ID            int64   `json:"id"`
	Kind          string  `json:"kind"`
	UserID        *int64  `json:"user_id"`
	Recipient     string  `json:"recipient"`
	Subject       string  `json:"subject"`
	MessageID     string  `json:"message_id"`
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	LastError     string  `json:"last_error"`
	CreatedAt     string  `json:"created_at"`
	NextAttemptAt *string `json:"next_attempt_at"`
	SentAt        *string `json:"sent_at"`
}

func toMailJSON(m *store.OutboxMessage) mailJSON {
	out := mailJSON{ID: m.ID, Kind: m.Kind, UserID: m.UserID, Recipient: m.Recipient, Subject: m.Subject,
		MessageID: "<" + m.MessageID + ">", State: m.State, Attempts: m.Attempts, LastError: m.LastError,
		CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339)}
	if m.State == store.OutboxPending {
		t := m.NextAttemptAt.UTC().Format(time.RFC3339)
		out.NextAttemptAt = &t
	}
	if m.SentAt != nil {
		t := m.SentAt.UTC().Format(time.RFC3339)
		out.SentAt = &t
	}
	return out
}
