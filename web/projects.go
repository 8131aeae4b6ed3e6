package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	perm "github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// The projects pages (docs/web.md#projects): the list on "/", the New
// project form, and a project's page at GitLab's path
// /<namespace>/<project>. What a person may see, create and at which
// visibility is repos' to decide, as for the API.
const (
	newProjectPath = "/projects/new"
	projectsPath   = "/projects"
	// projectsPerPage is the length of one page of the list.
	projectsPerPage = 20
)

func (h *Handler) projectRoutes() {
	h.handle("GET "+newProjectPath, signedIn, h.newProjectPage)
	h.handle("POST "+projectsPath, signedIn, h.createProject)
	// Every other GET path may be a project; what is none is 404.
	h.handle("GET /{path...}", public, h.projectPage)
}

// principal is the signed-in person as the services' rules see them: a
// browser session acts with the user's full rights (nil for a visitor).
func (q *request) principal() *auth.Principal {
	if q.user == nil {
		return nil
	}
	return &auth.Principal{User: q.user, Scopes: []string{auth.ScopeAPI}}
}

// projectRow is one project in the list.
type projectRow struct {
	FullPath, Name, Description, Visibility string
	// Role is the catalog key of the viewer's role.
	Role     string
	LastPush time.Time
}

// projectsData is the list page's data.
type projectsData struct {
	Projects           []projectRow
	Total, Page        int
	PrevPage, NextPage int
}

// projectsList is "/" for a signed-in person: the projects they can see
// (every project for an admin, as the API lists them), newest first.
func (h *Handler) projectsList(q *request) error {
	pg := pageNumber(q.r.URL.Query().Get("page"))
	u := q.user
	f := repos.ProjectFilter{VisibleTo: u.ID, SignedIn: true, All: u.Admin,
		Offset: (pg - 1) * projectsPerPage, Limit: projectsPerPage}
	list, total, err := h.repos.List(q.ctx(), f)
	if err != nil {
		return err
	}
	data := projectsData{Total: total, Page: pg}
	if pg > 1 {
		data.PrevPage = pg - 1
	}
	if pg*projectsPerPage < total {
		data.NextPage = pg + 1
	}
	p := q.principal()
	for i := range list {
		level, err := h.repos.AccessLevel(q.ctx(), p, &list[i])
		if err != nil {
			return err
		}
		data.Projects = append(data.Projects, projectRow{FullPath: list[i].FullPath(), Name: list[i].Name,
			Description: list[i].Description, Visibility: list[i].Visibility, Role: roleKey(level),
			LastPush: list[i].LastActivityAt})
	}
	h.renderPage(q, http.StatusOK, "projects", &page{Title: "projects.title", Nav: "projects", Data: data})
	return nil
}

// roleKey is the catalog key naming an access level.
func roleKey(l perm.AccessLevel) string {
	if k, ok := roleKeys[l]; ok {
		return k
	}
	return "projects.role.none"
}

var roleKeys = map[perm.AccessLevel]string{
	perm.Guest: "projects.role.guest", perm.Reporter: "projects.role.reporter", perm.Developer: "projects.role.developer",
	perm.Maintainer: "projects.role.maintainer", perm.Owner: "projects.role.owner", perm.Admin: "projects.role.admin",
}

// pageNumber reads a ?page= value: 1 when missing or bad.
func pageNumber(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// GitLab's field names of the New project form.
const (
	fieldProjectName        = "project[name]"
	fieldProjectPath        = "project[path]"
	fieldProjectNamespace   = "project[namespace_id]"
	fieldProjectVisibility  = "project[visibility]"
	fieldProjectDescription = "project[description]"
)

// newProjectForm is the New project form, as posted on an error.
type newProjectForm struct {
	Name, Path, NamespaceID, Visibility, Description string
}

// newProjectData is the New project page's data.
type newProjectData struct {
	Form         newProjectForm
	Namespaces   []repos.Namespace
	Visibilities []string
}

func (h *Handler) newProjectPage(q *request) error {
	return h.showNewProject(q, http.StatusOK, newProjectForm{Visibility: perm.Private}, nil)
}

func (h *Handler) showNewProject(q *request, status int, form newProjectForm, errs map[string]string) error {
	nss, err := h.repos.CreatableNamespaces(q.ctx(), q.principal())
	if err != nil {
		return err
	}
	if form.NamespaceID == "" && len(nss) > 0 {
		form.NamespaceID = itoa(nss[0].ID)
	}
	h.renderPage(q, status, "project_new", &page{Title: "projects.new.title", Nav: "projects", Errors: errs,
		Data: newProjectData{Form: form, Namespaces: nss, Visibilities: []string{perm.Private, perm.Internal, perm.Public}}})
	return nil
}

// createProject creates a repository with repos.CreateProject in a
// namespace CanCreateProjectIn allows, then opens its page. The
// visibility is capped by repos (a project is never more visible than
// its group); a refusal comes back next to its field.
func (h *Handler) createProject(q *request) error {
	form := newProjectForm{Name: strings.TrimSpace(q.form(fieldProjectName)), Path: strings.TrimSpace(q.form(fieldProjectPath)),
		NamespaceID: q.form(fieldProjectNamespace), Visibility: q.form(fieldProjectVisibility), Description: q.form(fieldProjectDescription)}
	errs := map[string]string{}
	if form.Path == "" {
		form.Path = repos.PathFromName(form.Name)
	}
	if form.Name == "" {
		form.Name = form.Path
	}
	if form.Path == "" {
		errs[fieldProjectName] = q.T("projects.error.name")
	}
	if !perm.ValidVisibility(form.Visibility) {
		errs[fieldProjectVisibility] = q.T("projects.error.visibility")
	}
	ns, err := h.chosenNamespace(q, form.NamespaceID)
	if err != nil {
		return err
	}
	if ns == nil {
		errs[fieldProjectNamespace] = q.T("projects.error.namespace")
	}
	if len(errs) > 0 {
		return h.showNewProject(q, http.StatusUnprocessableEntity, form, errs)
	}
	p, err := h.repos.CreateProject(q.ctx(), repos.NewProject{NamespacePath: ns.FullPath, Path: form.Path, Name: form.Name,
		Description: form.Description, Visibility: form.Visibility, CreatorID: q.user.ID})
	var in *repos.InputError
	if errors.As(err, &in) {
		switch in.Field {
		case "visibility", "visibility_level":
			errs[fieldProjectVisibility] = in.Msg
		case "name":
			errs[fieldProjectName] = in.Msg
		case "namespace":
			errs[fieldProjectNamespace] = q.T("projects.error.namespace")
		default:
			errs[fieldProjectPath] = in.Msg
		}
		return h.showNewProject(q, http.StatusUnprocessableEntity, form, errs)
	}
	if err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.project_created")
	q.redirect("/" + p.FullPath())
	return nil
}

// chosenNamespace is the posted namespace when the person may create a
// project there (CanCreateProjectIn, as the API asks), else nil.
func (h *Handler) chosenNamespace(q *request, idText string) (*repos.Namespace, error) {
	id, err := atoi(idText)
	if err != nil {
		return nil, nil
	}
	ns, err := h.repos.NamespaceByID(q.ctx(), id)
	if errors.Is(err, repos.ErrNamespaceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ok, err := h.repos.CanCreateProjectIn(q.ctx(), q.principal(), ns)
	if err != nil || !ok {
		return nil, err
	}
	return ns, nil
}

// projectData is a project page's data.
type projectData struct {
	Project *repos.Project
	// HTTPURL and SSHURL are the clone URLs (SSHURL empty when the SSH
	// address is unknown).
	HTTPURL, SSHURL string
	// CanRead says whether the viewer may read the code (guests may see
	// a project but not its code): only then are branches shown.
	CanRead  bool
	Branches []repos.Branch
	// Default is the default branch's tip, nil in an empty repository.
	Default *repos.Branch
	// Role is the catalog key of the viewer's role.
	Role string
}

// projectPage is /<namespace>/<project>. A project the viewer may not
// see is the 404 page, as on every door; a visitor is first asked to
// sign in, as git asks for credentials.
func (h *Handler) projectPage(q *request) error {
	path := q.r.PathValue("path")
	if !strings.Contains(path, "/") {
		return errNotFound
	}
	if strings.HasSuffix(strings.ToLower(path), ".git") {
		// The clone URL typed into a browser: its page, as GitLab does.
		q.redirect(localPath("/" + path[:len(path)-len(".git")]))
		return nil
	}
	p, err := h.repos.Find(q.ctx(), path)
	if err != nil {
		return err
	}
	viewer := q.principal()
	if _, err := h.repos.Authorize(q.ctx(), viewer, p, perm.View); err != nil {
		if errors.Is(err, perm.ErrUnauthenticated) {
			q.redirect(signInPath + "?redirect_to=" + url.QueryEscape(q.r.URL.RequestURI()))
			return nil
		}
		return err
	}
	l := h.cfg.Links()
	data := projectData{Project: p, HTTPURL: repos.HTTPCloneURL(l.BaseURL, p.FullPath()), SSHURL: repos.SSHCloneURL(l.SSHAddr, p.FullPath())}
	level, err := h.repos.AccessLevel(q.ctx(), viewer, p)
	if err != nil {
		return err
	}
	data.Role = roleKey(level)
	if _, err := h.repos.Authorize(q.ctx(), viewer, p, perm.Read); err == nil {
		data.CanRead = true
		if data.Branches, err = h.repos.Branches(q.ctx(), p); err != nil {
			return err
		}
		for i := range data.Branches {
			if data.Branches[i].Name == p.DefaultBranch {
				data.Default = &data.Branches[i]
			}
		}
	}
	h.renderPage(q, http.StatusOK, "project", &page{Title: "projects.project.title", Nav: "projects", Data: data})
	return nil
}
