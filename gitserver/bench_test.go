package gitserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// BenchmarkHTTPLsRemoteRequests measures the server's share of an HTTP
// `git ls-remote` (docs/benchmarks.md#http-round-trips): the three requests
// git 2.39 sends on one keep-alive connection — the anonymous info/refs
// that draws the 401 challenge, the same request with the token, and the
// protocol v2 ls-refs command.
//
//	go test ./gitserver -run XXX -bench HTTPLsRemote -cpuprofile cpu.out
func BenchmarkHTTPLsRemoteRequests(b *testing.B) {
	env := testenv.Start(b, testenv.Options{Configure: noLockout})
	u := env.User("bench", testenv.UserOpts{})
	token := env.Token(u, auth.ScopeWriteRepository)
	env.Project("bench/small", access.Private)
	env.MustGit(env.WorkTree(), "push", "-q", env.RepoURL("bench", token, "bench/small"), "main")

	base := env.URL + "/bench/small.git"
	lsRefs := pktLines("command=ls-refs\n", "agent=git/2.39.5\n", "object-format=sha1\n", "\x01",
		"peel\n", "symrefs\n", "unborn\n", "ref-prefix HEAD\n", "ref-prefix refs/heads/\n", "ref-prefix refs/tags/\n", "")
	client := &http.Client{}
	send := func(method, path string, body []byte, withToken bool, want int) {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Git-Protocol", "version=2")
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		}
		if withToken {
			req.SetBasicAuth("bench", token)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send(http.MethodGet, "/info/refs?service=git-upload-pack", nil, false, http.StatusUnauthorized)
		send(http.MethodGet, "/info/refs?service=git-upload-pack", nil, true, http.StatusOK)
		send(http.MethodPost, "/git-upload-pack", lsRefs, true, http.StatusOK)
	}
}

// pktLines frames each string as a pkt-line; "" is a flush-pkt and "\x01"
// a delim-pkt.
func pktLines(lines ...string) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		switch l {
		case "":
			buf.WriteString("0000")
		case "\x01":
			buf.WriteString("0001")
		default:
			fmt.Fprintf(&buf, "%04x%s", len(l)+4, l)
		}
	}
	return buf.Bytes()
}
