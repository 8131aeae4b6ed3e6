package api

import (
	"strings"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitrepo"
	"github.com/gitgate/gitgate/repos"
)

// This file holds every JSON object the API returns, shaped as GitLab's
// lib/api/entities/*.rb shape them, so the CLI's --json can print the very
// same objects. Field order follows GitLab's; nullable fields are pointers.

// TimeLayout is how GitLab writes times: UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t as GitLab does (2026-11-25T13:14:15.123Z).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func timePtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

func datePtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.UTC().Format(auth.DateLayout)
	return &s
}

// Token is GitLab's PersonalAccessToken entity (ImpersonationToken when
// Impersonation is set, …WithToken when Token is set).
type Token struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Revoked     bool     `json:"revoked"`
	Expired     bool     `json:"expired"`
	CreatedAt   string   `json:"created_at"`
	Scopes      []string `json:"scopes"`
	UserID      int64    `json:"user_id"`
	LastUsedAt  *string  `json:"last_used_at"`
	Active      bool     `json:"active"`
	// ExpiresAt is a date, YYYY-MM-DD, or null.
	ExpiresAt *string `json:"expires_at"`
	// Impersonation is shown only for impersonation tokens.
	Impersonation *bool `json:"impersonation,omitempty"`
	// Token is the secret: only in the creation or rotation response.
	Token string `json:"token,omitempty"`
}

// TokenJSON renders a stored token as the API shows it at now. "active"
// follows GitLab: neither revoked nor expired, whatever the enforcement
// setting says about whether an expired token still works.
func TokenJSON(t *auth.Token, now time.Time) Token {
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	state := auth.StateOf(t, now)
	out := Token{
		ID: t.ID, Name: t.Name, Description: t.Description, Revoked: t.Revoked,
		Expired: auth.Expired(t, now), CreatedAt: FormatTime(t.CreatedAt), Scopes: scopes, UserID: t.UserID,
		LastUsedAt: timePtr(t.LastUsedAt), Active: state == auth.TokenActive, ExpiresAt: datePtr(t.ExpiresAt),
	}
	if t.Impersonation {
		yes := true
		out.Impersonation = &yes
	}
	return out
}

// CreatedTokenJSON renders a just-created or rotated token with its
// secret, the only time the secret is ever shown.
func CreatedTokenJSON(c *auth.CreatedToken, now time.Time) Token {
	out := TokenJSON(c.Token, now)
	out.Token = c.Secret
	return out
}

// UserBasic is GitLab's UserBasic entity (lists for non-admins, owners,
// members).
type UserBasic struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

// User is GitLab's User entity: UserBasic and the public profile
// (GET /users/:id for non-admins).
type User struct {
	UserBasic
	CreatedAt    string  `json:"created_at"`
	Bio          string  `json:"bio"`
	Location     string  `json:"location"`
	PublicEmail  *string `json:"public_email"`
	Skype        string  `json:"skype"`
	Linkedin     string  `json:"linkedin"`
	Twitter      string  `json:"twitter"`
	Discord      string  `json:"discord"`
	WebsiteURL   string  `json:"website_url"`
	Organization string  `json:"organization"`
	JobTitle     string  `json:"job_title"`
	Pronouns     *string `json:"pronouns"`
	Bot          bool    `json:"bot"`
}

// UserDetails is GitLab's UserPublic entity (GET /user), and with IsAdmin
// set its UserWithAdmin (what admins see, and what POST/PUT /users answer).
type UserDetails struct {
	User
	LastSignInAt     *string  `json:"last_sign_in_at"`
	ConfirmedAt      string   `json:"confirmed_at"`
	LastActivityOn   *string  `json:"last_activity_on"`
	Email            string   `json:"email"`
	ThemeID          int      `json:"theme_id"`
	ColorSchemeID    int      `json:"color_scheme_id"`
	ProjectsLimit    int      `json:"projects_limit"`
	CurrentSignInAt  *string  `json:"current_sign_in_at"`
	Identities       []string `json:"identities"`
	CanCreateGroup   bool     `json:"can_create_group"`
	CanCreateProject bool     `json:"can_create_project"`
	TwoFactorEnabled bool     `json:"two_factor_enabled"`
	External         bool     `json:"external"`
	PrivateProfile   bool     `json:"private_profile"`
	CommitEmail      string   `json:"commit_email"`
	// IsAdmin and Note are shown to admins only.
	IsAdmin *bool   `json:"is_admin,omitempty"`
	Note    *string `json:"note,omitempty"`
}

// UserWebURL is a user's profile address.
func UserWebURL(baseURL, username string) string {
	return strings.TrimRight(baseURL, "/") + "/" + username
}

// UserBasicJSON renders the short user object.
func UserBasicJSON(u *auth.User, baseURL string) UserBasic {
	return UserBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: u.State, WebURL: UserWebURL(baseURL, u.Username)}
}

// UserJSON renders the public profile of a user.
func UserJSON(u *auth.User, baseURL string) User {
	return User{UserBasic: UserBasicJSON(u, baseURL), CreatedAt: FormatTime(u.CreatedAt), Bot: u.Bot}
}

// UserDetailsJSON renders the full user object; forAdmin adds the fields
// only admins see (is_admin, note).
func UserDetailsJSON(u *auth.User, baseURL string, forAdmin bool) UserDetails {
	out := UserDetails{
		User: UserJSON(u, baseURL), ConfirmedAt: FormatTime(u.CreatedAt), Email: u.Email, ThemeID: 1,
		ColorSchemeID: 1, Identities: []string{}, CanCreateGroup: u.Admin, CanCreateProject: true,
		TwoFactorEnabled: u.OTPEnabled, CommitEmail: u.Email,
	}
	if forAdmin {
		admin := u.Admin
		note := ""
		out.IsAdmin, out.Note = &admin, &note
	}
	return out
}

// Key is GitLab's SSHKey entity.
type Key struct {
	ID         int64   `json:"id"`
	Title      string  `json:"title"`
	CreatedAt  string  `json:"created_at"`
	ExpiresAt  *string `json:"expires_at"`
	LastUsedAt *string `json:"last_used_at"`
	Key        string  `json:"key"`
	UsageType  string  `json:"usage_type"`
}

// KeyJSON renders an SSH key; the key text carries its title as the
// comment, as GitLab shows it.
func KeyJSON(k *auth.SSHKey) Key {
	text := k.Key
	if k.Title != "" && !strings.ContainsAny(k.Title, "\r\n") {
		text += " " + k.Title
	}
	return Key{ID: k.ID, Title: k.Title, CreatedAt: FormatTime(k.CreatedAt), ExpiresAt: timePtr(k.ExpiresAt),
		LastUsedAt: timePtr(k.LastUsedAt), Key: text, UsageType: "auth_and_signing"}
}

// Links are the instance's external addresses, for the URLs inside
// objects.
type Links struct {
	// BaseURL is the HTTP address people use, e.g. https://git.example.com.
	BaseURL string
	// SSHAddr is host:port of the SSH door; empty leaves ssh_url_to_repo
	// empty.
	SSHAddr string
}

func (l Links) web(path string) string { return strings.TrimRight(l.BaseURL, "/") + "/" + path }

// SSHURL is the SSH clone URL of a repository path, or "" when the
// instance has no SSH address to show.
func (l Links) SSHURL(path string) string { return l.sshURL(path) }

// sshURL is ssh_url_to_repo: the one rule for clone URLs is repos'.
func (l Links) sshURL(path string) string { return repos.SSHCloneURL(l.SSHAddr, path) }

// Namespace is GitLab's NamespaceBasic entity as embedded in projects.
type Namespace struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

// Project is GitLab's Project entity, the subset gitgate has.
type Project struct {
	ID                int64        `json:"id"`
	Description       string       `json:"description"`
	Name              string       `json:"name"`
	NameWithNamespace string       `json:"name_with_namespace"`
	Path              string       `json:"path"`
	PathWithNamespace string       `json:"path_with_namespace"`
	CreatedAt         string       `json:"created_at"`
	DefaultBranch     string       `json:"default_branch"`
	TagList           []string     `json:"tag_list"`
	Topics            []string     `json:"topics"`
	SSHURLToRepo      string       `json:"ssh_url_to_repo"`
	HTTPURLToRepo     string       `json:"http_url_to_repo"`
	WebURL            string       `json:"web_url"`
	ReadmeURL         *string      `json:"readme_url"`
	ForksCount        int          `json:"forks_count"`
	AvatarURL         *string      `json:"avatar_url"`
	StarCount         int          `json:"star_count"`
	LastActivityAt    string       `json:"last_activity_at"`
	Namespace         Namespace    `json:"namespace"`
	Visibility        string       `json:"visibility"`
	Owner             *UserBasic   `json:"owner,omitempty"`
	CreatorID         *int64       `json:"creator_id"`
	Archived          bool         `json:"archived"`
	EmptyRepo         bool         `json:"empty_repo"`
	Permissions       *Permissions `json:"permissions,omitempty"`
}

// Permissions is GitLab's ProjectWithAccess addition: the caller's own
// level on the project (direct) and on its group.
type Permissions struct {
	ProjectAccess *Access `json:"project_access"`
	GroupAccess   *Access `json:"group_access"`
}

// Access is one access level with GitLab's notification level beside it.
type Access struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

// ProjectJSON renders a project. owner, when the project lives in a
// user's namespace, is that user.
func ProjectJSON(p *repos.Project, l Links, owner *auth.User) Project {
	full := p.FullPath()
	nsName := p.Namespace.Name
	if nsName == "" {
		nsName = p.Namespace.Path
	}
	kind := "group"
	if p.Namespace.Kind == repos.NamespaceUser {
		kind = "user"
	}
	out := Project{
		ID: p.ID, Description: p.Description, Name: p.Name, NameWithNamespace: nsName + " / " + p.Name,
		Path: p.Path, PathWithNamespace: full, CreatedAt: FormatTime(p.CreatedAt), DefaultBranch: p.DefaultBranch,
		TagList: []string{}, Topics: []string{}, SSHURLToRepo: l.sshURL(full), HTTPURLToRepo: repos.HTTPCloneURL(l.BaseURL, full),
		WebURL: l.web(full), LastActivityAt: FormatTime(p.LastActivityAt), Visibility: p.Visibility, CreatorID: p.CreatorID,
		Namespace: Namespace{ID: p.Namespace.ID, Name: nsName, Path: p.Namespace.Path, Kind: kind,
			FullPath: p.Namespace.FullPath, ParentID: p.Namespace.ParentID, WebURL: l.web(namespaceWebPath(p.Namespace))},
	}
	if owner != nil {
		o := UserBasicJSON(owner, l.BaseURL)
		out.Owner = &o
	}
	return out
}

func namespaceWebPath(n repos.Namespace) string {
	if n.Kind == repos.NamespaceUser {
		return n.FullPath
	}
	return "groups/" + n.FullPath
}

// Group is the part of GitLab's Group entity that gitgate has.
type Group struct {
	ID          int64   `json:"id"`
	WebURL      string  `json:"web_url"`
	Name        string  `json:"name"`
	Path        string  `json:"path"`
	Description string  `json:"description"`
	Visibility  string  `json:"visibility"`
	AvatarURL   *string `json:"avatar_url"`
	FullName    string  `json:"full_name"`
	FullPath    string  `json:"full_path"`
	CreatedAt   string  `json:"created_at"`
	ParentID    *int64  `json:"parent_id"`
	// ProjectCreationLevel and SubgroupCreationLevel state gitgate's fixed
	// rules in GitLab's words (docs/permissions.md).
	ProjectCreationLevel  string `json:"project_creation_level"`
	SubgroupCreationLevel string `json:"subgroup_creation_level"`
}

// GroupJSON renders a group; fullName is its name with its ancestors'
// ("Platform / Tools"), from repos.GroupFullName.
func GroupJSON(g *repos.Namespace, fullName string, l Links) Group {
	return Group{ID: g.ID, WebURL: l.web(namespaceWebPath(*g)), Name: g.Name, Path: g.Path, Description: g.Description,
		Visibility: g.Visibility, FullName: fullName, FullPath: g.FullPath, CreatedAt: FormatTime(g.CreatedAt), ParentID: g.ParentID,
		ProjectCreationLevel: "developer", SubgroupCreationLevel: "maintainer"}
}

// Member is GitLab's Member entity: a user with an access level.
type Member struct {
	UserBasic
	AccessLevel int     `json:"access_level"`
	CreatedAt   string  `json:"created_at"`
	ExpiresAt   *string `json:"expires_at"`
}

// MemberJSON renders a project member.
func MemberJSON(u *auth.User, level access.AccessLevel, createdAt time.Time, baseURL string) Member {
	return Member{UserBasic: UserBasicJSON(u, baseURL), AccessLevel: int(level), CreatedAt: FormatTime(createdAt)}
}

// Settings is the part of GitLab's ApplicationSetting entity that
// gitgate has (docs/tokens.md#settings), under GitLab's names.
type Settings struct {
	ID int `json:"id"`
	// MaxPersonalAccessTokenLifetime is in days; null means no limit.
	MaxPersonalAccessTokenLifetime       *int   `json:"max_personal_access_token_lifetime"`
	RequirePersonalAccessTokenExpiry     bool   `json:"require_personal_access_token_expiry"`
	EnforcePersonalAccessTokenExpiration bool   `json:"enforce_personal_access_token_expiration"`
	PasswordAuthenticationEnabledForGit  bool   `json:"password_authentication_enabled_for_git"`
	ImpersonationEnabled                 bool   `json:"impersonation_enabled"`
	PersonalAccessTokenPrefix            string `json:"personal_access_token_prefix"`
	// GitFetchReachableOnly is gitgate's own (GitLab has no such setting).
	GitFetchReachableOnly bool `json:"git_fetch_reachable_only"`
	// TokenExpiryWarningDays is gitgate's too: the days before expiry at
	// which owners are warned, largest first (docs/mail.md).
	TokenExpiryWarningDays []int `json:"token_expiry_warning_days"`
	// DefaultBranchProtection is GitLab's 0–4 value
	// (docs/permissions.md#default-branch-protection).
	DefaultBranchProtection int `json:"default_branch_protection"`
}

// SettingsJSON renders the instance settings.
func SettingsJSON(s auth.Settings) Settings {
	out := Settings{ID: 1, RequirePersonalAccessTokenExpiry: s.RequireExpiry,
		EnforcePersonalAccessTokenExpiration: s.EnforceExpiration, PasswordAuthenticationEnabledForGit: s.PasswordForGit,
		ImpersonationEnabled: s.ImpersonationEnabled, PersonalAccessTokenPrefix: s.TokenPrefix,
		GitFetchReachableOnly: s.GitFetchReachableOnly, TokenExpiryWarningDays: s.ExpiryWarningDays,
		DefaultBranchProtection: int(s.DefaultBranchProtection)}
	if s.MaxLifetimeDays > 0 {
		d := s.MaxLifetimeDays
		out.MaxPersonalAccessTokenLifetime = &d
	}
	return out
}

// Version is GitLab's /version answer.
type Version struct {
	Version    string `json:"version"`
	Revision   string `json:"revision"`
	KAS        KAS    `json:"kas"`
	Enterprise bool   `json:"enterprise"`
}

// KAS says gitgate has no Kubernetes agent server.
type KAS struct {
	Enabled     bool    `json:"enabled"`
	ExternalURL *string `json:"externalUrl"`
	Version     *string `json:"version"`
}

// CompatibleVersion is the GitLab version whose API gitgate follows:
// clients that gate features on the server version (token rotation needs
// 16.0) see a version that has them; the suffix says it is not GitLab.
const CompatibleVersion = "17.0.0-gitgate"

// VersionJSON renders /version.
func VersionJSON(revision string) Version {
	if revision == "" {
		revision = "gitgate"
	}
	return Version{Version: CompatibleVersion, Revision: revision}
}

// ProtectedRefAccess is GitLab's ProtectedRefAccess entity: who may push
// (or merge). gitgate grants by level only, so user and group are null.
type ProtectedRefAccess struct {
	ID                     int64  `json:"id"`
	AccessLevel            int    `json:"access_level"`
	AccessLevelDescription string `json:"access_level_description"`
	UserID                 *int64 `json:"user_id"`
	GroupID                *int64 `json:"group_id"`
}

// ProtectedBranch is GitLab's ProtectedBranch entity
// (docs/permissions.md#protected-branches).
type ProtectedBranch struct {
	ID                        int64                `json:"id"`
	Name                      string               `json:"name"`
	PushAccessLevels          []ProtectedRefAccess `json:"push_access_levels"`
	MergeAccessLevels         []ProtectedRefAccess `json:"merge_access_levels"`
	AllowForcePush            bool                 `json:"allow_force_push"`
	UnprotectAccessLevels     []ProtectedRefAccess `json:"unprotect_access_levels"`
	CodeOwnerApprovalRequired bool                 `json:"code_owner_approval_required"`
}

// ProtectedBranchJSON renders a rule. Each rule has one push and one
// merge level, stored on the rule itself, so both carry the rule's id.
func ProtectedBranchJSON(b *repos.ProtectedBranch) ProtectedBranch {
	level := func(l access.AccessLevel) []ProtectedRefAccess {
		return []ProtectedRefAccess{{ID: b.ID, AccessLevel: int(l), AccessLevelDescription: access.PushLevelDescription(l)}}
	}
	return ProtectedBranch{ID: b.ID, Name: b.Name, PushAccessLevels: level(b.PushAccessLevel), MergeAccessLevels: level(b.MergeAccessLevel),
		AllowForcePush: b.AllowForcePush, UnprotectAccessLevels: []ProtectedRefAccess{}}
}

// The objects of the group, namespace and admin key endpoints.

// GroupDetail is GitLab's GroupDetail entity: a group with the projects
// directly in it that the caller may see.
type GroupDetail struct {
	Group
	Projects       []Project `json:"projects"`
	SharedProjects []Project `json:"shared_projects"`
}

// NamespaceJSON renders a namespace as GET /namespaces shows it (GitLab's
// Namespace entity, the fields gitgate has).
func NamespaceJSON(n *repos.Namespace, l Links) Namespace {
	name, kind := n.Name, "group"
	if n.Kind == repos.NamespaceUser {
		kind = "user"
	}
	if name == "" {
		name = n.Path
	}
	return Namespace{ID: n.ID, Name: name, Path: n.Path, Kind: kind, FullPath: n.FullPath, ParentID: n.ParentID,
		WebURL: l.web(namespaceWebPath(*n))}
}

// KeyWithUser is GitLab's SSHKeyWithUser: a key and its owner
// (UserPublic), what GET /keys answers.
type KeyWithUser struct {
	Key
	User UserDetails `json:"user"`
}

// Repository objects (docs/api.md#repository): GitLab's Commit, Branch,
// Tag and the repository files answer.

// CommitTimeLayout is how GitLab writes a commit's dates: in the
// commit's own time zone, with milliseconds.
const CommitTimeLayout = "2006-01-02T15:04:05.000-07:00"

// Commit is GitLab's Commit entity; the single-commit endpoint adds
// CommitDetail's fields.
type Commit struct {
	ID               string            `json:"id"`
	ShortID          string            `json:"short_id"`
	CreatedAt        string            `json:"created_at"`
	ParentIDs        []string          `json:"parent_ids"`
	Title            string            `json:"title"`
	Message          string            `json:"message"`
	AuthorName       string            `json:"author_name"`
	AuthorEmail      string            `json:"author_email"`
	AuthoredDate     string            `json:"authored_date"`
	CommitterName    string            `json:"committer_name"`
	CommitterEmail   string            `json:"committer_email"`
	CommittedDate    string            `json:"committed_date"`
	Trailers         map[string]string `json:"trailers"`
	ExtendedTrailers map[string]string `json:"extended_trailers"`
	WebURL           string            `json:"web_url"`
}

// CommitDetail is GitLab's CommitDetail entity (GET …/commits/:sha).
type CommitDetail struct {
	Commit
	Stats        *CommitStats `json:"stats,omitempty"`
	Status       *string      `json:"status"`
	ProjectID    int64        `json:"project_id"`
	LastPipeline *struct{}    `json:"last_pipeline"`
}

// CommitStats counts the lines a commit adds and removes.
type CommitStats struct {
	Additions int `json:"additions"`
	Deletions int `json:"deletions"`
	Total     int `json:"total"`
}

// CommitJSON renders a commit of project p.
func CommitJSON(c *gitrepo.Commit, p *repos.Project, l Links) Commit {
	short := c.ID
	if len(short) > 8 {
		short = short[:8]
	}
	parents := c.Parents
	if parents == nil {
		parents = []string{}
	}
	return Commit{
		ID: c.ID, ShortID: short, CreatedAt: c.Committer.When.Format(CommitTimeLayout), ParentIDs: parents,
		Title: c.Title(), Message: c.Message, AuthorName: c.Author.Name, AuthorEmail: c.Author.Email,
		AuthoredDate: c.Author.When.Format(CommitTimeLayout), CommitterName: c.Committer.Name,
		CommitterEmail: c.Committer.Email, CommittedDate: c.Committer.When.Format(CommitTimeLayout),
		Trailers: map[string]string{}, ExtendedTrailers: map[string]string{},
		WebURL: l.web(p.FullPath() + "/-/commit/" + c.ID),
	}
}

// Branch is GitLab's Branch entity.
type Branch struct {
	Name               string  `json:"name"`
	Commit             *Commit `json:"commit"`
	Merged             bool    `json:"merged"`
	Protected          bool    `json:"protected"`
	DevelopersCanPush  bool    `json:"developers_can_push"`
	DevelopersCanMerge bool    `json:"developers_can_merge"`
	CanPush            bool    `json:"can_push"`
	Default            bool    `json:"default"`
	WebURL             string  `json:"web_url"`
}

// Tag is GitLab's Tag entity. Release is always null (gitgate has no
// releases) and Protected always false (no protected tags).
type Tag struct {
	Name      string    `json:"name"`
	Message   string    `json:"message"`
	Target    string    `json:"target"`
	Commit    *Commit   `json:"commit"`
	Release   *struct{} `json:"release"`
	Protected bool      `json:"protected"`
	CreatedAt *string   `json:"created_at"`
}

// TagJSON renders a tag of project p.
func TagJSON(t *gitrepo.Tag, p *repos.Project, l Links) Tag {
	out := Tag{Name: t.Name, Message: strings.TrimRight(t.Message, "\n"), Target: t.Target}
	if t.Commit != nil {
		c := CommitJSON(t.Commit, p, l)
		out.Commit = &c
	}
	if t.Tagger != nil {
		s := t.Tagger.When.Format(CommitTimeLayout)
		out.CreatedAt = &s
	}
	return out
}

// File is the repository files answer (GET …/files/:file_path); Content
// is base64.
type File struct {
	FileName        string `json:"file_name"`
	FilePath        string `json:"file_path"`
	Size            int64  `json:"size"`
	Encoding        string `json:"encoding"`
	ContentSHA256   string `json:"content_sha256"`
	Ref             string `json:"ref"`
	BlobID          string `json:"blob_id"`
	CommitID        string `json:"commit_id"`
	LastCommitID    string `json:"last_commit_id"`
	ExecuteFilemode bool   `json:"execute_filemode"`
	Content         string `json:"content"`
}
