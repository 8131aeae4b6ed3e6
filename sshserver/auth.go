package sshserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/throttle"
)

// How a session's identity travels from authentication to the session.
//
// gliderlabs hands every auth callback the same mutable Permissions object
// of the connection, and runs PublicKeyHandler for keys a client merely
// offers, before any signature: anything written there during an offer
// (say, of the admin's public key) could still be there when a different
// method or key succeeds (CVE-2024-45337). So the door never reads
// gliderlabs' Permissions or Session.PublicKey(). Instead the two callbacks
// that run only after proof — x/crypto's VerifiedPublicKeyCallback (after
// the signature check) and PasswordCallback (after the token check) —
// return a fresh Permissions carrying the proven credential, and x/crypto
// guarantees the connection's Permissions are those of the method that
// succeeded. Each session reads them from the *gossh.ServerConn and
// authenticates that credential again, so a user blocked or a token
// revoked since the handshake stops working at the next session.
const (
	extMethod = "gitgate-auth-method"
	extKey    = "gitgate-public-key" // wire-format public key
	extToken  = "gitgate-token"      // never logged; lives as long as the connection
)

// Values of the method extension, and of the metrics' method label.
const (
	authMethodKey   = auth.MethodSSHKey
	authMethodToken = auth.MethodToken
)

// DefaultCiphers are the ciphers offered unless configured otherwise
// (Config.Ciphers), AES only. x/crypto's chacha20-poly1305 is pure Go
// (about 0.7 GB/s here against 5 GB/s for AES-GCM and 10 GB/s for AES-CTR
// with AES-NI), and OpenSSH clients pick it first when offered: it
// tripled the server's CPU per clone and made 16 parallel clones 15%
// slower than OpenSSH's sshd. Every client of the last decade speaks
// AES-CTR and AES-GCM; OpenSSH then chooses aes128-ctr with
// hmac-sha2-256-etm, because the client's order decides, not the
// server's. Offering AES-GCM alone makes OpenSSH choose it and saves
// a third of the CPU of both ends (docs/benchmarks.md#ssh-data-path), at
// the price of clients without it (libssh2 before 1.11, PuTTY before
// 0.76): hence a setting, not the default.
var DefaultCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"}

// CheckCiphers accepts a non-empty list of ciphers x/crypto implements
// and does not call insecure.
func CheckCiphers(ciphers []string) error {
	if len(ciphers) == 0 {
		return errors.New("at least one cipher is required")
	}
	supported := gossh.SupportedAlgorithms().Ciphers
	for _, c := range ciphers {
		if !slices.Contains(supported, c) {
			return fmt.Errorf("unknown SSH cipher %q (supported: %s)", c, strings.Join(supported, ", "))
		}
	}
	return nil
}

// errDenied is all a refused client learns.
var errDenied = errors.New("permission denied")

// unavailableBanner is what a client is told when its credential could
// not be checked: the same words as a session refused for that reason
// (docs/ssh.md).
const unavailableBanner = "gitgate: " + msgUnavailable + "\n"

// serverConfig adds the verified-key and password callbacks to the
// x/crypto configuration gliderlabs builds for each connection. gliderlabs
// sets PublicKeyCallback (for offers) and leaves these alone: its
// PasswordHandler and KeyboardInteractiveHandler stay nil, so keyboard-
// interactive is off and the password callback is ours.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		Config:       gossh.Config{Ciphers: s.cfg.Ciphers},
		MaxAuthTries: s.cfg.MaxAuthTries,
		BannerCallback: func(meta gossh.ConnMetadata) string {
			if s.banned(remoteAddr(meta.RemoteAddr())) {
				return "gitgate: " + throttle.Message + "\n"
			}
			return ""
		},
		PasswordCallback: func(meta gossh.ConnMetadata, password []byte) (*gossh.Permissions, error) {
			return s.checkPassword(ctx, meta, string(password))
		},
		VerifiedPublicKeyCallback: func(meta gossh.ConnMetadata, key gossh.PublicKey, _ *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			return s.checkVerifiedKey(ctx, meta, key)
		},
	}
}

// keyOffered answers "would this key do?" (gliderlabs PublicKeyHandler,
// x/crypto PublicKeyCallback). It runs before the client proves it holds
// the private key, so it decides nothing about identity: a yes only lets
// the client go on to sign. Saying no to unknown keys lets a client with
// several keys try the next one without signing with each.
func (s *Server) keyOffered(ctx ssh.Context, key ssh.PublicKey) bool {
	st := stateOf(ctx)
	reject := func() bool {
		if st != nil {
			st.mu.Lock()
			st.keyRejected = true
			st.mu.Unlock()
		}
		return false
	}
	if ctx.User() != GitUser || s.banned(remoteAddr(ctx.RemoteAddr())) {
		return reject()
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.LoginTimeout)
	defer cancel()
	ok, err := s.deps.Auth.KeyMayAuthenticate(actx, key)
	if err != nil {
		// The database is away: let the client sign, so that the
		// verified-key callback can tell it why it cannot get in
		// (unavailableBanner) rather than leave it with a bare
		// "Permission denied" that reads as a removed key.
		s.log.Warn("ssh key lookup failed", "remote", ctx.RemoteAddr().String(), "err", err)
		return true
	}
	if !ok {
		return reject()
	}
	return true
}

// checkVerifiedKey runs once the client has signed with key.
func (s *Server) checkVerifiedKey(ctx ssh.Context, meta gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	addr := remoteAddr(meta.RemoteAddr())
	if meta.User() != GitUser {
		return nil, errDenied
	}
	if s.banned(addr) {
		s.deps.Metrics.ThrottledRequests.WithLabelValues("ssh").Inc()
		return nil, errDenied
	}
	p, err := s.authenticate(ctx, auth.Credential{Kind: auth.CredSSHKey, Key: key}, addr, authMethodKey)
	if err != nil {
		return nil, err
	}
	s.log.Debug("ssh key authenticated", "remote", meta.RemoteAddr().String(), "user", p.Username(), "key_id", p.Key.ID)
	return &gossh.Permissions{Extensions: map[string]string{
		extMethod: string(authMethodKey),
		extKey:    string(key.Marshal()),
	}}, nil
}

// checkPassword accepts a personal access token as the password
// (docs/ssh.md#authentication); the SSH user name is ignored then, as for
// HTTP. Account passwords are never accepted over SSH.
func (s *Server) checkPassword(ctx ssh.Context, meta gossh.ConnMetadata, password string) (*gossh.Permissions, error) {
	addr := remoteAddr(meta.RemoteAddr())
	if s.banned(addr) {
		s.deps.Metrics.ThrottledRequests.WithLabelValues("ssh").Inc()
		return nil, errDenied
	}
	p, err := s.authenticate(ctx, auth.Credential{Kind: auth.CredSSHPassword, Secret: password}, addr, authMethodToken)
	if err != nil {
		if st := stateOf(ctx); st != nil && errors.Is(err, auth.ErrInvalidCredential) {
			st.mu.Lock()
			st.failureCounted = true
			st.mu.Unlock()
		}
		return nil, err
	}
	s.log.Debug("ssh token authenticated", "remote", meta.RemoteAddr().String(), "user", p.Username(), "token_id", p.Token.ID)
	return &gossh.Permissions{Extensions: map[string]string{
		extMethod: string(authMethodToken),
		extToken:  password,
	}}, nil
}

// authenticate checks a proven credential, counts it, and feeds the lockout.
func (s *Server) authenticate(ctx ssh.Context, c auth.Credential, addr netip.Addr, method auth.Method) (*auth.Principal, error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.LoginTimeout)
	defer cancel()
	p, err := s.deps.Auth.Authenticate(actx, c)
	switch {
	case err == nil:
		s.deps.Metrics.AuthAttempts.WithLabelValues("ssh", string(method), "success").Inc()
		if s.deps.Throttle != nil {
			s.deps.Throttle.Success(addr)
		}
		if st := stateOf(ctx); st != nil {
			st.markAuthenticated()
		}
		return p, nil
	case errors.Is(err, auth.ErrInvalidCredential):
		s.deps.Metrics.AuthAttempts.WithLabelValues("ssh", string(method), "failure").Inc()
		s.recordFailure(addr)
		s.log.Info("ssh authentication failed", "remote", addr.String(), "method", string(method), "reason", auth.RejectionReason(err))
		return nil, errDenied
	default:
		// The database is down: not a wrong credential, so not
		// counted, and the client is told so in a banner before the
		// refusal (OpenSSH shows banners at its default log level).
		s.deps.Metrics.AuthAttempts.WithLabelValues("ssh", string(method), "error").Inc()
		// addr, not ctx.RemoteAddr(): gliderlabs fills the context's
		// address only after the password callback has run.
		s.log.Error("ssh authentication error", "remote", addr.String(), "method", string(method), "err", err)
		return nil, &gossh.BannerError{Err: errDenied, Message: unavailableBanner}
	}
}

func (s *Server) banned(addr netip.Addr) bool {
	return s.deps.Throttle != nil && s.deps.Throttle.Banned(addr)
}

func (s *Server) recordFailure(addr netip.Addr) {
	if s.deps.Throttle != nil && s.deps.Throttle.Failure(addr) {
		s.log.Warn("ssh: address locked out after repeated authentication failures", "remote", addr.String())
	}
}

// sessionPrincipal is the identity of a session: the credential in the
// Permissions of the method that succeeded, authenticated again now.
func (s *Server) sessionPrincipal(ctx ssh.Context) (*auth.Principal, error) {
	sc, ok := ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn)
	if !ok || sc.Permissions == nil {
		return nil, errors.New("session without an authenticated connection")
	}
	ext := sc.Permissions.Extensions
	var c auth.Credential
	switch auth.Method(ext[extMethod]) {
	case authMethodKey:
		key, err := gossh.ParsePublicKey([]byte(ext[extKey]))
		if err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
		c = auth.Credential{Kind: auth.CredSSHKey, Key: key}
	case authMethodToken:
		c = auth.Credential{Kind: auth.CredSSHPassword, Secret: ext[extToken]}
	default:
		return nil, errors.New("session without a verified credential")
	}
	return s.deps.Auth.Authenticate(ctx, c)
}
