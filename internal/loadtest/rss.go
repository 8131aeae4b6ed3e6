package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// RSSSample is the resident memory of the server's process tree (the
// server and every descendant: git, hooks, pack-objects) at At after the
// start of the run.
type RSSSample struct {
	At  time.Duration
	RSS int64 // bytes, the whole tree
	// Server is the server process's own share of RSS: what a leak in
	// the server would grow, apart from git's memory, which follows the
	// repositories being served.
	Server    int64
	Processes int
}

// TreeRSS sums the resident memory of pid and its descendants, read from
// /proc (Linux); own is pid's alone. It fails when pid itself is gone.
func TreeRSS(pid int) (rss, own int64, procs int, err error) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return 0, 0, 0, fmt.Errorf("process %d is not running", pid)
	}
	children := childrenOf
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err != nil {
		// A kernel without the children files: scan every process.
		parents, err := processParents()
		if err != nil {
			return 0, 0, 0, err
		}
		byParent := map[int][]int{}
		for p, pp := range parents {
			byParent[pp] = append(byParent[pp], p)
		}
		children = func(p int) []int { return byParent[p] }
	}
	page := int64(os.Getpagesize())
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		queue = append(queue, children(p)...)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", p))
		if err != nil {
			continue // it ended meanwhile
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		pages, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		rss += pages * page
		if p == pid {
			own = pages * page
		}
		procs++
	}
	return rss, own, procs, nil
}

// childrenOf lists the children of every thread of p: reading only the
// tree is far cheaper than scanning every process on a busy machine.
func childrenOf(p int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", p))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(field)); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// processParents maps every running process to its parent.
func processParents() (map[int]int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	out := make(map[int]int, len(dirs))
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(string(f[1]))
		if err != nil {
			continue
		}
		out[pid] = ppid
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no processes in /proc")
	}
	return out, nil
}
