package server

import (
	"context"
	"errors"

	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/notify"
)

// newMail builds the outbox sender and the daily expiry check
// (docs/mail.md). Start starts them, release stops them.
func (s *Server) newMail() error {
	sender, err := mail.NewSender(s.DB, mail.Config{SMTPURL: s.cfg.SMTPURL, From: s.cfg.MailFrom, Now: s.cfg.Now,
		Log: s.log, Metrics: s.Metrics})
	if err != nil {
		return err
	}
	s.mailSender = sender
	check := notify.NewExpiryWarnings(s.DB, s.Auth, notify.Config{ExternalURL: s.cfg.ExternalURL, Now: s.cfg.Now,
		Log: s.log, Metrics: s.Metrics, Queued: sender.Wake})
	s.expiryCheck = notify.NewScheduler(s.DB, check, s.cfg.Now, s.log)
	return nil
}

// startMail starts delivering mail and the daily schedule (which catches
// up at once on a missed run).
func (s *Server) startMail() {
	s.mailSender.Start()
	s.expiryCheck.Start()
}

// stopMail stops the schedule (a check in progress is cancelled between
// owners) and then the sender (a message being sent finishes).
func (s *Server) stopMail(ctx context.Context) error {
	var err error
	if s.expiryCheck != nil {
		err = s.expiryCheck.Stop(ctx)
	}
	if s.mailSender != nil {
		err = errors.Join(err, s.mailSender.Stop(ctx))
	}
	return err
}
