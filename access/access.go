// Package access is gitgate's permission rule, and nothing else: access
// levels, the decision of docs/permissions.md#decision (Decide), the
// protected-branch and ref-name checks of a push, and the words a person
// is shown when refused. It does no I/O and knows no storage: the caller
// (repos) looks up the facts and hands them in, so every row of the rule
// can be tested without a database.
package access

import (
	"fmt"
	"strings"
)

// AccessLevel is GitLab's member access level.
type AccessLevel int

// Access levels (docs/permissions.md#access-levels). Admin is above every
// membership.
const (
	NoAccess   AccessLevel = 0
	Guest      AccessLevel = 10
	Reporter   AccessLevel = 20
	Developer  AccessLevel = 30
	Maintainer AccessLevel = 40
	Owner      AccessLevel = 50
	Admin      AccessLevel = 60
)

var levelNames = map[AccessLevel]string{Guest: "guest", Reporter: "reporter", Developer: "developer", Maintainer: "maintainer", Owner: "owner"}

func (l AccessLevel) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	if l == Admin {
		return "admin"
	}
	return fmt.Sprintf("level %d", int(l))
}

// IsMemberLevel reports whether l can be given to a member (guest to
// owner; admin is not a membership).
func (l AccessLevel) IsMemberLevel() bool {
	_, ok := levelNames[l]
	return ok
}

// ParseAccessLevel reads "developer" or "30".
func ParseAccessLevel(s string) (AccessLevel, error) {
	for l, n := range levelNames {
		if strings.EqualFold(s, n) || s == fmt.Sprint(int(l)) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown access level %q: use guest, reporter, developer, maintainer or owner (10-50)", s)
}

// Action is what a caller wants to do with a repository.
type Action int

// Actions.
const (
	// Read fetches or clones (Git).
	Read Action = iota + 1
	// Write pushes (Git).
	Write
	// View sees the project exists and its metadata (API; guests may).
	View
	// Manage changes members (maintainers).
	Manage
	// Remove deletes the project (owners).
	Remove
)

// Visibility values.
const (
	Private  = "private"
	Internal = "internal"
	Public   = "public"
)

// ValidVisibility reports whether v is one of the three levels.
func ValidVisibility(v string) bool { return v == Private || v == Internal || v == Public }

// GitScope is the most Git access a credential's scopes allow
// (docs/tokens.md#scopes).
type GitScope int

// Git scope ceilings, lowest first.
const (
	// GitNone: the scopes open no Git access.
	GitNone GitScope = iota
	// GitFetch: fetch (api-less read scopes, read_repository).
	GitFetch
	// GitPush: fetch and push (api, write_repository).
	GitPush
)

// Scopes named in the refusals of a missing scope.
const (
	ScopeReadRepository  = "read_repository"
	ScopeWriteRepository = "write_repository"
)

// Messages git shows people, as GitLab words them.
const (
	MsgNotFound   = "The project you were looking for could not be found or you don't have permission to view it."
	MsgNoDownload = "You are not allowed to download code from this project."
	MsgNoPush     = "You are not allowed to push code to this project."
	MsgNoManage   = "You are not allowed to manage this project."
)

// message is an error whose text is shown to people as it is (git prints
// it), so it is written as a sentence.
type message string

func (m message) Error() string { return string(m) }

// ErrNotFound means the caller may not know the repository exists: 404.
var ErrNotFound error = message(MsgNotFound)

// ErrUnauthenticated means an anonymous caller must sign in first: 401
// with a challenge, so git asks for credentials.
var ErrUnauthenticated error = message("HTTP Basic: Access denied. Authentication is required.")

// ForbiddenError is a 403: the caller can see the repository but may not
// do this. MissingScope names the token scope that would allow it.
type ForbiddenError struct {
	Msg          string
	MissingScope string
}

func (e *ForbiddenError) Error() string { return e.Msg }

func missingScope(scope, doing string) error {
	return &ForbiddenError{
		Msg:          fmt.Sprintf("Your token lacks the %s scope, which is required to %s this project.", scope, doing),
		MissingScope: scope,
	}
}

// Request is everything the rule needs to know about one request: who
// asks (anonymous or not, and what the credential's scopes allow), their
// level on the project, the project's visibility, and the action.
type Request struct {
	// Anonymous is a caller without a credential.
	Anonymous bool
	// Scope caps Git access by the credential's scopes; it is not looked
	// at for anonymous callers.
	Scope GitScope
	// Level is the caller's level on the project: Admin for admins,
	// NoAccess for anonymous callers and non-members.
	Level      AccessLevel
	Visibility string
	Action     Action
}

// Decide is the single permission rule (docs/permissions.md#decision):
// visibility comes first, then the token's scope ceiling, then the access
// level. It returns nil, ErrUnauthenticated (401), ErrNotFound (404) or a
// *ForbiddenError (403).
func Decide(r Request) error {
	level, visibility := r.Level, r.Visibility
	// Who can see the project at all.
	visible := visibility == Public || (!r.Anonymous && (visibility == Internal || level >= Guest))
	if !visible {
		if r.Anonymous {
			return ErrUnauthenticated
		}
		return ErrNotFound
	}
	switch r.Action {
	case View:
		return nil
	case Read:
		// Public code is readable by anyone: a valid credential never has
		// less access than anonymous.
		if visibility == Public {
			return nil
		}
		if r.Scope < GitFetch {
			return missingScope(ScopeReadRepository, "download code from")
		}
		if visibility == Internal || level >= Reporter {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoDownload}
	case Write:
		if r.Anonymous {
			return ErrUnauthenticated
		}
		if r.Scope < GitPush {
			return missingScope(ScopeWriteRepository, "push code to")
		}
		if level >= Developer {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoPush}
	case Manage:
		if level >= Maintainer {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoManage}
	case Remove:
		if level >= Owner {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoManage}
	}
	return fmt.Errorf("unknown action %d", r.Action)
}
