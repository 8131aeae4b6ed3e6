package repos

import (
	"net"
	"strings"
)

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
	host, port, err := net.SplitHostPort(sshAddr)
	if err != nil {
		host, port = sshAddr, "22"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "22" {
		return "git@" + host + ":" + fullPath + ".git"
	}
	return "ssh://git@" + host + ":" + port + "/" + fullPath + ".git"
}
