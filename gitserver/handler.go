// Package gitserver is Git's smart HTTP protocol for gitgate: it routes
// /<namespace>/<project>[.git]/info/refs and the two RPC endpoints,
// authenticates the caller, and hands the operation to gitop (the path it
// shares with the SSH door: decision, git, housekeeping, metrics), keeping
// the HTTP side: headers, the buffered info/refs advertisement, request
// bodies, and streaming the response as git writes it.
package gitserver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/refsnap"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/throttle"
)

const transport = gitop.HTTP

// MsgAccessDenied is the one line git shows for a credential that was
// presented and refused (docs/permissions.md#git-over-http).
const MsgAccessDenied = "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped."

// MsgBusy is the answer when a password cannot be verified yet because
// the server is verifying as many as it allows at once.
const MsgBusy = "The server is busy checking other passwords. Try again in a moment."

// challenge makes git ask for (or retry with) credentials.
const challenge = `Basic realm="gitgate"`

// Handler serves Git over smart HTTP. Set the fields, then use it as an
// http.Handler; it is safe for concurrent use.
type Handler struct {
	Auth *auth.Service
	// Git is the operation path shared with the SSH door.
	Git     *gitop.Engine
	Metrics *metrics.Metrics // nil: not counted
	Log     *slog.Logger     // nil: slog.Default()
	// Throttle locks out addresses failing authentication; nil disables.
	Throttle *throttle.Limiter
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// BodyIdleTimeout is how long one read of a Git POST body may wait for
	// data before the request fails and its git is killed (zero:
	// DefaultBodyIdleTimeout; negative: no limit). A body that keeps
	// moving is never cut, however long it takes.
	BodyIdleTimeout time.Duration
	// ResponseIdleTimeout is how long one write of a Git response may wait
	// for the client to take data before the response is cut and its git
	// killed (zero: DefaultResponseIdleTimeout; negative: no limit). A
	// client that keeps reading, however slowly, is never cut.
	ResponseIdleTimeout time.Duration
	// UploadPackMaxBody bounds an upload-pack request body after gzip
	// decoding (zero: DefaultUploadPackMaxBody; negative: no limit).
	// receive-pack bodies, which carry the pushed pack, are not limited.
	UploadPackMaxBody int64
	// Fallback, when set, serves every path that is not a Git route (the
	// handler is mounted at "/"); nil answers 404.
	Fallback http.Handler
}

// Endpoints of the smart HTTP protocol.
const (
	endpointInfoRefs    = "info/refs"
	endpointUploadPack  = string(gitproc.UploadPack)
	endpointReceivePack = string(gitproc.ReceivePack)
)

// ParseRoute splits a request path into the repository path
// ("group/sub/project", without ".git") and the endpoint ("info/refs",
// "git-upload-pack" or "git-receive-pack"). Anything else — dumb-HTTP
// paths, invalid names, "..", empty segments — is not a route.
func ParseRoute(path string) (repoPath, endpoint string, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return "", "", false
	}
	for _, ep := range []string{endpointInfoRefs, endpointUploadPack, endpointReceivePack} {
		rest, found := strings.CutSuffix(path, "/"+ep)
		if !found {
			continue
		}
		rest = strings.TrimPrefix(rest, "/")
		if strings.HasSuffix(rest, "/") || strings.HasPrefix(rest, "/") {
			return "", "", false
		}
		// The same parser as the SSH door's, so both resolve a path
		// alike (".git" optional, any case).
		ns, name, err := repos.SplitPath(rest)
		if err != nil {
			return "", "", false
		}
		return ns + "/" + name, ep, true
	}
	return "", "", false
}

// request is one Git HTTP request being served.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	op gitop.Op
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Fallback != nil {
		if _, _, ok := ParseRoute(r.URL.Path); !ok {
			h.Fallback.ServeHTTP(w, r)
			return
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	req := &request{w: rec, r: r}
	req.op.Transport, req.op.Start = transport, time.Now()
	result := h.serve(req)
	// HTTP request counts and the access log line come from the server's
	// middleware (handler group "git"); this adds the Git operation.
	h.Git.Finish(r.Context(), &req.op, result,
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status()))
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// serve answers one request and returns the operation result for the
// metrics: "" when the request is not counted as a Git operation (bad
// requests and successful advertisements, which are only the first half
// of an operation), else ok, denied, error or client_gone.
func (h *Handler) serve(q *request) gitop.Result {
	r := q.r
	repoPath, endpoint, ok := ParseRoute(r.URL.Path)
	if !ok {
		plain(q.w, http.StatusNotFound, "Not found.", false)
		return ""
	}
	q.op.Path = repoPath
	switch endpoint {
	case endpointInfoRefs:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			q.w.Header().Set("Allow", "GET, HEAD")
			plain(q.w, http.StatusMethodNotAllowed, "Method not allowed.", false)
			return ""
		}
		service := r.URL.Query().Get("service")
		if service == "" {
			// A dumb-HTTP client: gitgate only speaks the smart protocol.
			plain(q.w, http.StatusNotFound, "Only the smart HTTP protocol is supported; update your Git client.", false)
			return ""
		}
		if service != endpointUploadPack && service != endpointReceivePack {
			plain(q.w, http.StatusBadRequest, "Unsupported service.", false)
			return ""
		}
		q.op.Service = gitproc.Service(service)
	default:
		if r.Method != http.MethodPost {
			q.w.Header().Set("Allow", "POST")
			plain(q.w, http.StatusMethodNotAllowed, "Method not allowed.", false)
			return ""
		}
		q.op.Service = gitproc.Service(endpoint)
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-"+endpoint+"-request" {
			plain(q.w, http.StatusBadRequest, "Wrong content type: expected application/x-"+endpoint+"-request.", false)
			return ""
		}
	}

	if result := h.authorize(q); result != "" {
		return result
	}
	if endpoint == endpointInfoRefs {
		// The advertisement takes no slot of the operation limiter, but
		// is refused when the RPC that follows would be: git shows this
		// answer's message, not a failed RPC's.
		if ref := h.Git.Saturated(&q.op); ref != nil {
			return h.refuse(q, ref)
		}
		return h.advertise(q)
	}
	return h.rpc(q)
}

// authorize authenticates the caller and asks gitop whether it may use
// the service on the repository. On refusal it has answered and returns
// the metrics result; "" means go on.
func (h *Handler) authorize(q *request) gitop.Result {
	r, ctx := q.r, q.r.Context()
	addr := throttle.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.TrustedProxies)
	if h.Throttle != nil && h.Throttle.Banned(addr) {
		h.throttled(q)
		return gitop.Denied
	}

	cred, present, malformed := credential(r)
	if malformed {
		h.authAttempt("basic", "failure")
		h.failed(addr)
		plain(q.w, http.StatusUnauthorized, MsgAccessDenied, true)
		return gitop.Denied
	}
	if present {
		// A password is counted against the address before its hash is
		// computed (docs/authentication.md): the reservation and the ban
		// check are one step, so a burst cannot all pass the check.
		check := h.Throttle.Check(addr)
		cred.CountAttempt = check.Reserve
		p, err := h.Auth.Authenticate(ctx, cred)
		switch {
		case errors.Is(err, throttle.ErrBanned):
			// Banned by a failure that ended while this one queued.
			h.throttled(q)
			return gitop.Denied
		case errors.Is(err, auth.ErrBusy), errors.Is(err, throttle.ErrAttemptsPending):
			// Not a wrong credential: not counted, and git may retry.
			h.authAttempt(guessMethod(cred), "busy")
			h.log().Info("git http authentication postponed: too many password checks", "addr", addr.String(), "err", err)
			q.w.Header().Set("Retry-After", "1")
			plain(q.w, http.StatusServiceUnavailable, MsgBusy, false)
			return gitop.Error
		case errors.Is(err, auth.ErrInvalidCredential):
			h.authAttempt(guessMethod(cred), "failure")
			check.Failed()
			h.log().Info("git http authentication failed", "reason", auth.RejectionReason(err), "addr", addr.String())
			plain(q.w, http.StatusUnauthorized, MsgAccessDenied, true)
			return gitop.Denied
		case err != nil:
			check.Cancel()
			h.authAttempt(guessMethod(cred), "error")
			h.infraError(q, "authenticate", err)
			return gitop.Error
		}
		h.authAttempt(string(p.Method), "success")
		check.Succeeded()
		q.op.Principal = p
	}
	q.op.Client = addr
	if ref := h.Git.Authorize(ctx, &q.op); ref != nil {
		return h.refuse(q, ref)
	}
	return ""
}

// refuse answers a refusal of gitop: 401 with a challenge (an anonymous
// caller is asked for credentials whether the repository is private or
// missing, docs/permissions.md#decision), 404, 403, or 503 for anything
// that could not be decided.
func (h *Handler) refuse(q *request, ref *gitop.Refusal) gitop.Result {
	switch ref.Reason {
	case gitop.NeedsAuth:
		plain(q.w, http.StatusUnauthorized, ref.Msg, true)
	case gitop.NotFound:
		plain(q.w, http.StatusNotFound, ref.Msg, false)
	case gitop.Forbidden:
		plain(q.w, http.StatusForbidden, ref.Msg, false)
	case gitop.Busy:
		q.w.Header().Set("Retry-After", strconv.Itoa(int(ref.RetryAfter.Seconds())))
		plain(q.w, http.StatusServiceUnavailable, ref.Msg, false)
	case gitop.Gone:
		// Nobody to answer.
	default:
		h.infraError(q, ref.Doing, ref.Err)
	}
	return ref.Result
}

// throttled answers a banned address.
func (h *Handler) throttled(q *request) {
	if h.Metrics != nil {
		h.Metrics.ThrottledRequests.WithLabelValues(transport).Inc()
	}
	plain(q.w, http.StatusForbidden, throttle.Message, false)
}

func (h *Handler) failed(addr netip.Addr) {
	if h.Throttle != nil {
		h.Throttle.Failure(addr)
	}
}

func (h *Handler) authAttempt(method, result string) {
	if h.Metrics != nil {
		h.Metrics.AuthAttempts.WithLabelValues(transport, method, result).Inc()
	}
}

// guessMethod labels a failed attempt: whether a Basic password was meant
// as a token cannot be known, so token-shaped secrets count as tokens.
func guessMethod(c auth.Credential) string {
	if c.Kind == auth.CredToken || auth.LooksLikeToken(c.Secret) {
		return string(auth.MethodToken)
	}
	return string(auth.MethodPassword)
}

// credential reads the Authorization header. Basic with an empty user
// and password (curl's http.emptyAuth) counts as no credential.
func credential(r *http.Request) (c auth.Credential, present, malformed bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return c, false, false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return c, false, true
		}
		if user == "" && pass == "" {
			return c, false, false
		}
		return auth.Credential{Kind: auth.CredGitBasic, Username: user, Secret: pass}, true, false
	case "bearer":
		tok := strings.TrimSpace(rest)
		if tok == "" {
			return c, false, true
		}
		return auth.Credential{Kind: auth.CredToken, Secret: tok}, true, false
	}
	return c, false, true
}

// infraError answers a failure to decide who the caller is or what it
// may do: 503, whatever the cause (auth.ErrUnavailable, a closed pool, a
// timeout), never 401 or 404 — a caller must not conclude its token was
// revoked or its repository deleted, and may retry.
func (h *Handler) infraError(q *request, doing string, err error) {
	level := slog.LevelError
	if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		level = slog.LevelWarn
	}
	h.log().Log(q.r.Context(), level, "git http request could not be decided", "doing", doing, "path", q.r.URL.Path, "err", err)
	q.w.Header().Set("Retry-After", "5")
	plain(q.w, http.StatusServiceUnavailable, "The service is temporarily unavailable. Try again later.", false)
}

// protocol is the client's Git-Protocol header when it is safe to pass on.
func protocol(r *http.Request) string {
	p := r.Header.Get("Git-Protocol")
	if !gitproc.ValidProtocol(p) {
		return ""
	}
	return p
}

func wantsV2(p string) bool {
	for _, kv := range strings.Split(p, ":") {
		if kv == "version=2" {
			return true
		}
	}
	return false
}

// advertise answers info/refs. The advertisement is small (one line per
// ref) and buffered, so that a failing git is still a proper HTTP error
// rather than a broken pkt-line stream. An upload-pack advertisement
// comes from the repository's ref snapshot when it can (v0/v1), and a v2
// one (capabilities only) from what git said before: no git starts
// (docs/repositories.md#ref-advertisements).
func (h *Handler) advertise(q *request) gitop.Result {
	ctx := q.r.Context()
	cmd := gitproc.Command{StatelessRPC: true, AdvertiseRefs: true, Protocol: protocol(q.r)}
	if ref := h.Git.Prepare(ctx, &q.op, &cmd); ref != nil {
		return h.refuse(q, ref)
	}
	dir, service := q.op.Dir, string(q.op.Service)
	proto := cmd.Protocol
	upload := q.op.Service == gitproc.UploadPack
	v2 := upload && wantsV2(proto)
	refs := h.Git.Refs
	var out, stderr bytes.Buffer
	served := false
	if refs != nil && upload {
		var b []byte
		var err error
		if v2 {
			b, served = refs.V2Capabilities(dir, proto, cmd.Config)
		} else if b, served, err = refs.Advertisement(ctx, dir, proto, cmd.Config); err != nil {
			h.log().Warn("ref snapshot", "repo", q.op.Decision.Project.FullPath(), "err", err)
		}
		out.Write(b)
	}
	var err error
	if !served {
		cmd.Stdout, cmd.Stderr = &out, &limitedWriter{w: &stderr, n: 64 << 10}
		err = h.Git.Run(ctx, &q.op, cmd)
		if err == nil && refs != nil && upload {
			if v2 {
				refs.LearnV2Capabilities(dir, proto, cmd.Config, out.Bytes())
			} else {
				refs.Learn(ctx, dir, proto, cmd.Config, out.Bytes())
			}
		}
	}
	if upload && !v2 {
		refs.Served(source(served))
	}
	if err != nil {
		if ctx.Err() != nil {
			return gitop.ClientGone
		}
		h.log().Error("git advertisement failed", "repo", q.op.Decision.Project.FullPath(), "err", err, "stderr", strings.TrimSpace(stderr.String()))
		plain(q.w, http.StatusInternalServerError, "Internal server error.", false)
		return gitop.Error
	}
	hd := q.w.Header()
	hd.Set("Content-Type", "application/x-"+service+"-advertisement")
	noCache(hd)
	q.w.WriteHeader(http.StatusOK)
	if q.r.Method == http.MethodHead {
		return ""
	}
	var prefix bytes.Buffer
	// Protocol v2 starts with its capability advertisement; v0/v1 with
	// the "# service=" line git's http-backend writes (push is always
	// v0: git has no v2 receive-pack).
	if !v2 {
		_ = gitproc.WritePkt(&prefix, "# service="+service+"\n")
		_ = gitproc.WriteFlush(&prefix)
	}
	n1, _ := q.w.Write(prefix.Bytes())
	n2, _ := q.w.Write(out.Bytes())
	q.op.Out.Add(int64(n1 + n2))
	return ""
}

func source(snapshot bool) string {
	if snapshot {
		return refsnap.SourceSnapshot
	}
	return refsnap.SourceGit
}

// maxLsRefsRequest bounds the protocol v2 ls-refs request answered from
// the snapshot; a longer one (thousands of ref-prefix arguments) goes to
// git.
const maxLsRefsRequest = 64 << 10

// lsRefs answers a protocol v2 request that is a plain ls-refs from the
// ref snapshot. handled is false when git must run: the request is
// another command (body then still holds all of it), or one the
// snapshot does not answer (body then holds the part read here and the
// rest).
func (h *Handler) lsRefs(q *request, body io.Reader, proto string, config []string, out *responseStream) (rest io.Reader, handled bool) {
	br := bufio.NewReaderSize(body, 512)
	const command = "command=ls-refs"
	head, _ := br.Peek(4 + len(command))
	if string(head[min(4, len(head)):]) != command {
		return br, false
	}
	req, err := io.ReadAll(io.LimitReader(br, maxLsRefsRequest+1))
	if err != nil || len(req) > maxLsRefsRequest {
		h.Git.Refs.Served(refsnap.SourceGit)
		return io.MultiReader(bytes.NewReader(req), br), false
	}
	resp, ok, err := h.Git.Refs.LsRefs(q.r.Context(), q.op.Dir, proto, config, req)
	if err != nil {
		h.log().Warn("ref snapshot", "repo", q.op.Decision.Project.FullPath(), "err", err)
	}
	h.Git.Refs.Served(source(ok))
	if !ok {
		return bytes.NewReader(req), false
	}
	_, _ = out.Write(resp)
	return nil, true
}

// rpc runs one stateless RPC, streaming both ways.
func (h *Handler) rpc(q *request) gitop.Result {
	r := q.r
	// A stalled or oversized body ends the run through this context, which
	// kills git. Why is kept aside: net/http cancels the request's own
	// context on a failed body read too, which would hide it.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var bodyErr atomic.Pointer[error]
	fail := func(err error) {
		bodyErr.CompareAndSwap(nil, &err)
		cancel()
	}
	cmd := gitproc.Command{StatelessRPC: true, Protocol: protocol(r)}
	if ref := h.Git.Prepare(ctx, &q.op, &cmd); ref != nil {
		return h.refuse(q, ref)
	}
	release, ref := h.Git.Admit(ctx, &q.op)
	if ref != nil {
		return h.refuse(q, ref)
	}
	defer release()
	service := string(q.op.Service)
	rc := http.NewResponseController(q.w)
	// Let git write (progress, keep-alives) while the request body is
	// still being read.
	_ = rc.EnableFullDuplex()

	idle := h.BodyIdleTimeout
	if idle == 0 {
		idle = DefaultBodyIdleTimeout
	}
	var body io.Reader = &idleBody{r: gitop.CountingReader{R: r.Body, N: &q.op.In}, rc: rc, idle: idle, fail: fail}
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		gz, err := gzip.NewReader(body)
		if err != nil {
			if errors.Is(err, errBodyIdle) {
				return h.bodyFailed(q, err, false)
			}
			plain(q.w, http.StatusBadRequest, "Bad gzip request body.", false)
			return gitop.Error
		}
		defer gz.Close()
		body = gz
	}
	if max := h.uploadPackMax(); q.op.Service == gitproc.UploadPack && max > 0 {
		body = newLimitedBody(body, max, fail)
	}
	out := &responseStream{ctx: ctx, w: q.w, rc: rc, n: &q.op.Out, contentType: "application/x-" + service + "-result",
		idle: h.responseIdle(), fail: fail}
	if h.Git.Refs != nil && q.op.Service == gitproc.UploadPack && wantsV2(cmd.Protocol) {
		rest, handled := h.lsRefs(q, body, cmd.Protocol, cmd.Config, out)
		if be := bodyErr.Load(); be != nil && (errors.Is(*be, errBodyIdle) || errors.Is(*be, errBodyTooLarge)) {
			return h.bodyFailed(q, *be, out.started)
		}
		if handled {
			if ctx.Err() != nil {
				return gitop.ClientGone
			}
			return gitop.OK
		}
		body = rest
	}
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = body, out, &limitedWriter{w: &stderr, n: 64 << 10}
	err := h.Git.Run(ctx, &q.op, cmd)
	if be := bodyErr.Load(); be != nil && (errors.Is(*be, errBodyIdle) || errors.Is(*be, errBodyTooLarge)) {
		return h.bodyFailed(q, *be, out.started)
	}
	if be := bodyErr.Load(); be != nil && errors.Is(*be, errResponseIdle) {
		h.log().Warn("git http response cut: the client stopped reading", "service", service, "repo", q.op.Decision.Project.FullPath(),
			"bytes_out", q.op.Out.Load())
		return gitop.ClientGone
	}
	switch {
	case ctx.Err() != nil:
		return gitop.ClientGone
	case err != nil:
		h.log().Error("git rpc failed", "service", service, "repo", q.op.Decision.Project.FullPath(), "err", err,
			"stderr", strings.TrimSpace(stderr.String()))
		if !out.started {
			plain(q.w, http.StatusInternalServerError, "Internal server error.", false)
		}
		return gitop.Error
	}
	if !out.started {
		// git said nothing (an empty request): still a valid answer.
		out.start()
	}
	return gitop.OK
}

// bodyFailed answers a request whose body stalled (408) or outgrew the
// upload-pack limit (413); git has been killed. Once git has started
// answering, the status is sent already and the response just ends.
func (h *Handler) bodyFailed(q *request, cause error, started bool) gitop.Result {
	h.log().Warn("git http request body refused", "service", string(q.op.Service), "repo", q.op.Decision.Project.FullPath(), "reason", cause.Error(),
		"bytes_in", q.op.In.Load())
	if errors.Is(cause, errBodyTooLarge) {
		if !started {
			plain(q.w, http.StatusRequestEntityTooLarge, "Request too large: an upload-pack request may hold at most "+
				strconv.FormatInt(h.uploadPackMax(), 10)+" bytes (after gzip decoding).", false)
		}
		return gitop.Denied
	}
	if !started {
		q.w.Header().Set("Connection", "close")
		plain(q.w, http.StatusRequestTimeout, "Request body timeout: the client sent no data for too long.", false)
	}
	return gitop.ClientGone
}

func (h *Handler) responseIdle() time.Duration {
	if h.ResponseIdleTimeout == 0 {
		return DefaultResponseIdleTimeout
	}
	return h.ResponseIdleTimeout
}

func (h *Handler) uploadPackMax() int64 {
	if h.UploadPackMaxBody == 0 {
		return DefaultUploadPackMaxBody
	}
	return h.UploadPackMaxBody
}

// plain writes a one-line text/plain answer git shows to the person.
func plain(w http.ResponseWriter, code int, msg string, askCredentials bool) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	noCache(hd)
	if askCredentials {
		hd.Set("WWW-Authenticate", challenge)
	}
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func noCache(h http.Header) {
	h.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
	h.Set("Pragma", "no-cache")
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
}
