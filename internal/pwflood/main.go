// Command pwflood fires concurrent wrong-password requests at a running
// gitgate server and reports the server's peak memory: it is the password
// flood of docs/benchmarks.md. Each request is a Git clone's first request
// (GET info/refs) with HTTP Basic USER:wrong…, on its own connection; while
// they run, the server's VmRSS is sampled from /proc/PID/status, and its
// VmHWM (peak resident set) is read at the end.
//
//	go run ./internal/pwflood -url http://127.0.0.1:18280/bench/public.git -user bob -pid $(pidof gitgate)
//
// docs/bench/password-flood.sh starts the server and runs it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pwflood:", err)
		os.Exit(1)
	}
}

func run() error {
	repoURL := flag.String("url", "", "clone URL of a repository, e.g. http://127.0.0.1:8080/grp/public.git")
	user := flag.String("user", "bob", "username sent with the wrong passwords")
	n := flag.Int("n", 100, "concurrent requests")
	pid := flag.Int("pid", 0, "process id of the gitgate server (for its memory)")
	flag.Parse()
	if *repoURL == "" || *pid == 0 {
		return fmt.Errorf("usage: pwflood -url REPO_URL -pid PID [-user U] [-n 100]")
	}
	before, err := status(*pid)
	if err != nil {
		return err
	}

	stop := make(chan struct{})
	var peakRSS int64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if st, err := status(*pid); err == nil && st["VmRSS"] > peakRSS {
				peakRSS = st["VmRSS"]
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	url := strings.TrimSuffix(*repoURL, "/") + "/info/refs?service=git-upload-pack"
	began := time.Now()
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection each, as 100 git processes would open.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Minute}
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth(*user, fmt.Sprintf("wrong-password-%03d", i))
			<-start
			code := -1
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	took := time.Since(began)
	close(stop)
	sampler.Wait()
	after, err := status(*pid)
	if err != nil {
		return err
	}

	var keys []int
	for c := range codes {
		keys = append(keys, c)
	}
	sort.Ints(keys)
	var answers []string
	for _, c := range keys {
		answers = append(answers, fmt.Sprintf("%d×%d", codes[c], c))
	}
	fmt.Printf("requests:      %d concurrent, answered in %s (%s; -1 is a transport error)\n", *n, took.Round(time.Millisecond), strings.Join(answers, ", "))
	fmt.Printf("RSS before:    %s\n", mb(before["VmRSS"]))
	fmt.Printf("RSS sampled:   %s peak\n", mb(peakRSS))
	fmt.Printf("VmHWM after:   %s (peak resident set of the server's life)\n", mb(after["VmHWM"]))
	fmt.Printf("RSS after:     %s\n", mb(after["VmRSS"]))
	return nil
}

// status reads the kB fields of /proc/PID/status.
func status(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("server memory: %w", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if kb, ok := strings.CutSuffix(strings.TrimSpace(v), " kB"); ok {
			if n, err := strconv.ParseInt(kb, 10, 64); err == nil {
				out[k] = n * 1024
			}
		}
	}
	return out, sc.Err()
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }
