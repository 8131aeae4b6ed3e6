package repos

import "strings"

// HTTPCloneURL is a project's clone URL over HTTP(S): the external base
// URL and the project's path with ".git", as GitLab's http_url_to_repo.
func HTTPCloneURL(baseURL, fullPath string) string {
	return strings.TrimRight(baseURL, "/") + "/" + fullPath + ".git"
}

// SSHCloneURL is a project's clone URL over SSH, as GitLab's
// ssh_url_to_repo: scp-like "git@host:path.git" on port 22, else an
// ssh:// URL with the port. sshAddr is host:port of the SSH door; empty
// (unknown) gives "".
func SSHCloneURL(sshAddr, fullPath string) string {
	if sshAddr == "" {
		return ""
	}
	host, port, ok := strings.Cut(sshAddr, ":")
	if !ok || port == "22" {
		return "git@" + strings.TrimSuffix(sshAddr, ":22") + ":" + fullPath + ".git"
	}
	return "ssh://git@" + host + ":" + port + "/" + fullPath + ".git"
}
