package gitop

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

// Both doors word a refusal from this one mapping
// (docs/permissions.md#answers).
func TestRefuseMapsEveryAuthorizeErrorOnce(t *testing.T) {
	forbidden := &access.ForbiddenError{Msg: access.MsgNoPush}
	rows := []struct {
		name      string
		err       error
		anonymous bool
		result    Result
		reason    Reason
		msg       string
	}{
		{"anonymous on a missing or private project is asked to sign in", access.ErrNotFound, true, Denied, NeedsAuth, access.ErrUnauthenticated.Error()},
		{"anonymous push is asked to sign in", access.ErrUnauthenticated, true, Denied, NeedsAuth, access.ErrUnauthenticated.Error()},
		{"signed in, not visible", access.ErrNotFound, false, Denied, NotFound, access.MsgNotFound},
		{"forbidden keeps its sentence", fmt.Errorf("wrapped: %w", forbidden), false, Denied, Forbidden, access.MsgNoPush},
		{"database unavailable", fmt.Errorf("authorize: %w", repos.ErrUnavailable), false, Error, Unavailable, ""},
		{"anything else", errors.New("boom"), false, Error, Internal, ""},
	}
	for _, r := range rows {
		got := Refuse(r.err, r.anonymous, "authorize")
		if got.Result != r.result || got.Reason != r.reason || got.Msg != r.msg {
			t.Errorf("%s: got %+v", r.name, got)
		}
		if got.Result == Error && (got.Err != r.err || got.Doing != "authorize") {
			t.Errorf("%s: the failure is not kept for the log: %+v", r.name, got)
		}
	}
}

// The metrics label values are part of the interface (dashboards).
func TestResultsAndServicesKeepTheirLabelValues(t *testing.T) {
	for got, want := range map[string]string{string(OK): "ok", string(Denied): "denied", string(Error): "error",
		string(ClientGone): "client_gone", HTTP: "http", SSH: "ssh",
		string(gitproc.UploadPack): "git-upload-pack", string(gitproc.ReceivePack): "git-receive-pack",
		string(gitproc.UploadArchive): "git-upload-archive"} {
		if got != want {
			t.Errorf("label %q, want %q", got, want)
		}
	}
	for svc, want := range map[gitproc.Service]access.Action{gitproc.UploadPack: access.Read, gitproc.UploadArchive: access.Read,
		gitproc.ReceivePack: access.Write} {
		if got := svc.Action(); got != want {
			t.Errorf("%s.Action() = %v, want %v", svc, got, want)
		}
	}
}
