package api

import (
	"errors"
	"net/http"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/housekeeping"
)

// POST /projects/:id/housekeeping (maintainers and above, GitLab's
// admin_project): task "eager" (the default) repacks now; "prune" also
// deletes unreachable objects — of deleted and force-pushed branches —
// older than the server's grace (docs/repositories.md). GitLab queues the
// job and answers 201; gitgate runs it before answering 201, so the
// caller knows it is done. A task already running on the project is 409.
func startHousekeeping(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	task, _, err := c.params.str("task")
	if err != nil {
		return err
	}
	if task == "" {
		task = string(housekeeping.TaskEager)
	}
	if !housekeeping.ValidTask(housekeeping.Task(task)) {
		return invalidValue("task")
	}
	if c.h.cfg.Housekeeping == nil {
		return errUnavailable
	}
	dir := c.h.repos.DiskPath(p.ID)
	if err := c.h.repos.CheckDisk(dir); err != nil {
		return err
	}
	err = c.h.cfg.Housekeeping(c.ctx, dir, housekeeping.Task(task))
	if errors.Is(err, housekeeping.ErrBusy) {
		return message(http.StatusConflict, "Somebody already triggered housekeeping for this project; it is still running")
	}
	if err != nil {
		return err
	}
	c.h.log.Info("project housekeeping", "project", p.FullPath(), "task", task, "user", c.user().Username)
	writeJSON(c.w, http.StatusCreated, nil)
	return nil
}
