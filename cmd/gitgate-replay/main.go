// Command gitgate-replay is a benchmark instrument: it listens on an
// address and proxies to a Git HTTP server, answering every request it
// has seen before from memory (package replay). docs/bench/run-gitgate.sh
// measures it beside gitgate and git http-backend as the floor of a
// smart-HTTP server: the git client's own time.
//
//	gitgate-replay -listen 127.0.0.1:18181 -upstream http://127.0.0.1:18180
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitgate/gitgate/internal/replay"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18181", "address to listen on")
	upstream := flag.String("upstream", "", "the Git HTTP server to record, e.g. http://127.0.0.1:18180")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintln(os.Stderr, "gitgate-replay: -upstream must be an http(s) URL with a host")
		os.Exit(2)
	}
	p := replay.New(u)
	srv := &http.Server{Addr: *listen, Handler: p}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("gitgate-replay: %v", err)
	}
	fmt.Fprintf(os.Stderr, "gitgate-replay: %d requests answered from memory\n", p.Replayed())
}
