package packcache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// RunHook is the pack-objects hook: args are what upload-pack passes
// ("git", "pack-objects", options…), stdin the object list, stdout the
// pack. It asks the server's cache for the pack and streams it; when the
// cache cannot serve it (no socket, request not cacheable, server gone
// before anything was sent) it runs pack-objects itself, exactly as git
// would have. It returns the exit status.
func RunHook(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	dir, err := os.Getwd()
	if err != nil {
		dir = ""
	}
	return runHook(args, dir, os.Getenv(EnvSocket), stdin, stdout, stderr)
}

// runHook is RunHook for the repository dir and the cache at sock.
func runHook(args []string, dir, sock string, stdin io.Reader, stdout, stderr io.Writer) int {
	if _, ok := subcommand(args); !ok {
		fmt.Fprintf(stderr, "gitgate: pack-objects hook called as %q\n", strings.Join(args, " "))
		return 1
	}
	input, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
	if err != nil {
		fmt.Fprintf(stderr, "gitgate: pack-objects hook: %v\n", err)
		return 1
	}
	self := func() int { return packSelf(args, dir, io.MultiReader(bytes.NewReader(input), stdin), stdout, stderr) }
	if sock == "" || dir == "" || len(input) > maxInput {
		return self()
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return self()
	}
	defer conn.Close()
	if err := writeRequest(conn, &request{dir: dir, args: args, input: input}); err != nil {
		return self()
	}
	line, f, br, err := readFollow(conn)
	if f != nil {
		defer f.Close()
	}
	path, ok := strings.CutPrefix(line, "F ")
	if err != nil || !ok {
		return self()
	}
	if f == nil {
		if f, err = os.Open(path); err != nil {
			return self()
		}
		defer f.Close()
	}
	status := make(chan string, 1)
	go func() {
		s, _ := br.ReadString('\n')
		status <- strings.TrimSuffix(s, "\n")
	}()
	sent, err := follow(f, status, stdout)
	switch {
	case err == nil:
		return 0
	case !sent:
		return self()
	}
	fmt.Fprintf(stderr, "gitgate: shared pack: %v\n", err)
	return 1
}

// readFollow reads the server's first line and the descriptor sent with
// it, if any; the reader returned continues after the line.
func readFollow(conn net.Conn) (string, *os.File, *bufio.Reader, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		return strings.TrimSuffix(line, "\n"), nil, br, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	var f *os.File
	if oobn > 0 {
		if msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn]); perr == nil && len(msgs) > 0 {
			if fds, perr := syscall.ParseUnixRights(&msgs[0]); perr == nil && len(fds) > 0 {
				f = os.NewFile(uintptr(fds[0]), "pack")
				for _, fd := range fds[1:] {
					syscall.Close(fd)
				}
			}
		}
	}
	// The line normally arrives whole; the rest of it, or the status
	// line after it, is read from the stream.
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(buf[:n]), conn))
	if err != nil && n == 0 {
		return "", f, br, err
	}
	line, err := br.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), f, br, err
}

// follow copies f to stdout as it grows until the producer's status says
// it is complete; it reports whether anything was sent.
func follow(f *os.File, status <-chan string, stdout io.Writer) (sent bool, err error) {
	buf := make([]byte, 256<<10)
	var final string
	gotStatus := false
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if _, werr := stdout.Write(buf[:n]); werr != nil {
				return true, werr
			}
			sent = true
			continue
		}
		if rerr != nil && rerr != io.EOF {
			return sent, rerr
		}
		if gotStatus {
			// Everything the producer wrote has been read.
			if final == "0" {
				return sent, nil
			}
			return sent, errors.New("the server could not produce the pack")
		}
		select {
		case final = <-status:
			// Read once more: the producer may have written since.
			gotStatus = true
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// packSelf runs the real pack-objects in dir.
func packSelf(args []string, dir string, stdin io.Reader, stdout, stderr io.Writer) int {
	// In the hook's environment and process group, as git would have run
	// it; the arguments are upload-pack's own.
	g := gitproc.Git().InHook().WithDir(dir).WithStdin(stdin).WithStdout(stdout).WithStderr(stderr)
	for _, a := range args[1:] {
		g.AddArgs(gitproc.Arg(a))
	}
	if err := g.Run(context.Background()); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "gitgate: pack-objects: %v\n", err)
		return 1
	}
	return 0
}
