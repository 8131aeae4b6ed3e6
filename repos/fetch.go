package repos

import "github.com/gitgate/gitgate/gitproc"

// RestrictFetch makes an upload-pack run refuse wants no ref reaches, for
// the instance setting git_fetch_reachable_only (docs/repositories.md,
// "Objects of deleted branches"). Protocol v2's fetch serves any object
// the repository holds, whatever uploadpack.allowAnySHA1InWant says, so
// the run is held to protocol v0 (the client's version request is
// dropped), where upload-pack checks every want that is not a ref tip for
// reachability from the refs. Wants that a ref reaches stay allowed, so
// "git fetch <commit>" and partial clones' on-demand fetches still work.
// The settings go on the command line, where nothing in the repository
// can override them.
func RestrictFetch(c *gitproc.Command) {
	if c.Service != gitproc.UploadPack {
		return
	}
	c.Protocol = ""
	c.Config = append(c.Config, "uploadpack.allowAnySHA1InWant=false", "uploadpack.allowReachableSHA1InWant=true")
}
