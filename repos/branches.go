package repos

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// MaxBranchesListed bounds Branches: a page lists the most recently
// updated ones, never an unbounded number.
const MaxBranchesListed = 100

// Commit is the summary of one commit, as a project page shows it.
type Commit struct {
	ID      string
	Subject string
	Author  string
	When    time.Time
}

// Branch is a branch and the commit at its tip.
type Branch struct {
	Name   string
	Commit Commit
}

// Branches lists a project's branches, most recently committed first (at
// most MaxBranchesListed), read from its repository with one git
// for-each-ref. An empty repository has none.
func (s *Service) Branches(ctx context.Context, p *Project) ([]Branch, error) {
	var out bytes.Buffer
	g := gitproc.Git("for-each-ref", "--sort=-committerdate", gitproc.Arg("--count="+strconv.Itoa(MaxBranchesListed)),
		"--format=%(refname:strip=2)%00%(objectname)%00%(authorname)%00%(committerdate:unix)%00%(contents:subject)",
		"refs/heads/").WithGitDir(s.DiskPath(p.ID)).WithStdout(&out)
	if err := runGit(ctx, g); err != nil {
		return nil, fmt.Errorf("branches of %s: %w", p.FullPath(), err)
	}
	var branches []Branch
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		f := strings.SplitN(line, "\x00", 5)
		if len(f) != 5 {
			continue
		}
		unix, _ := strconv.ParseInt(f[3], 10, 64)
		branches = append(branches, Branch{Name: f[0], Commit: Commit{ID: f[1], Author: f[2], When: time.Unix(unix, 0).UTC(), Subject: f[4]}})
	}
	return branches, nil
}
