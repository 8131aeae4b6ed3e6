package testenv

import (
	"os"
	"strconv"
	"strings"
)

// GitProcesses lists the git processes (and their helpers: git-*, the
// pack-objects of the pack cache) that descend from this test process,
// as "pid comm". The server runs in-process, so every git it starts is
// here; a test that wants none left behind runs without t.Parallel, so
// that no other test's git is counted.
func GitProcesses() []string {
	parent := map[int]int{}
	comm := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid], comm[pid] = ppid, s[i+1:j]
	}
	self := os.Getpid()
	var out []string
	for pid, c := range comm {
		if !strings.HasPrefix(c, "git") {
			continue
		}
		for p, hops := parent[pid], 0; p != 0 && hops < 64; p, hops = parent[p], hops+1 {
			if p == self {
				out = append(out, strconv.Itoa(pid)+" "+c)
				break
			}
		}
	}
	return out
}

// OpenFDs is the number of file descriptors this test process has open.
func OpenFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// OpenPipesAndSockets counts the pipes and sockets the test process has
// open: what a git run (its stdin and stdout) or a connection leaves
// behind when it leaks. Regular files are left out, since a database
// pool may open another connection to its files at any time and keep it.
func OpenPipesAndSockets() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && (strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, "socket:")) {
			n++
		}
	}
	return n
}
