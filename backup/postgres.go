package backup

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// libpqParams are the URL parameters libpq itself understands
// (PostgreSQL's "Parameter Key Words"); pg_dump and pg_restore refuse any
// other. lib/pq passes unknown ones to the server as run-time settings
// (search_path=…), which libpq takes through PGOPTIONS instead.
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"channel_binding": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true, "replication": true,
	"gssencmode": true, "sslmode": true, "requiressl": true, "sslcompression": true, "sslcert": true, "sslkey": true,
	"sslpassword": true, "sslrootcert": true, "sslcrl": true, "sslcrldir": true, "sslsni": true,
	"requirepeer": true, "ssl_min_protocol_version": true, "ssl_max_protocol_version": true, "krbsrvname": true,
	"gsslib": true, "service": true, "target_session_attrs": true, "load_balance_hosts": true,
}

// libpqOnlyForLibPQ are lib/pq's own parameters, meaningless to libpq.
var libpqOnlyForLibPQ = map[string]bool{"binary_parameters": true, "disable_prepared_binary_result": true}

// pgConn is how the PostgreSQL tools reach the database of a lib/pq URL:
// the URL without password or lib/pq's extras, and the environment
// carrying those (the password never appears on a command line, which
// every local user can read).
type pgConn struct {
	url string
	env []string
	// schema is the first schema of search_path, "public" when unset.
	schema string
}

func newPGConn(raw string) (*pgConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("GITGATE_DATABASE_URL is not a valid URL")
	}
	c := &pgConn{schema: "public"}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			c.env = append(c.env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	var options []string
	if o := q.Get("options"); o != "" {
		options = append(options, o)
	}
	for k, vs := range q {
		if libpqParams[k] || len(vs) == 0 {
			continue
		}
		q.Del(k)
		if libpqOnlyForLibPQ[k] {
			continue
		}
		if k == "search_path" {
			first, _, _ := strings.Cut(vs[0], ",")
			if first = strings.Trim(strings.TrimSpace(first), `"`); first != "" {
				c.schema = first
			}
		}
		// PGOPTIONS separates settings by spaces; a backslash keeps one.
		options = append(options, "-c "+k+"="+strings.ReplaceAll(vs[0], " ", `\ `))
	}
	if len(options) > 0 {
		q.Del("options")
		c.env = append(c.env, "PGOPTIONS="+strings.Join(options, " "))
	}
	u.RawQuery = q.Encode()
	c.url = u.String()
	return c, nil
}

// lookTool finds a PostgreSQL client program or says what to install.
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH: install the PostgreSQL client tools (Debian: postgresql-client) of the server's major version or newer", name)
	}
	return p, nil
}

// runTool runs a PostgreSQL client program and returns its output; a
// failure carries the program's last line of stderr.
func (c *pgConn) runTool(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %s", bin, lastLine(stderr.String(), err))
	}
	return out.Bytes(), nil
}

func lastLine(s string, err error) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if last == "" {
		return err.Error()
	}
	return last
}

// dump writes the schema to file as pg_dump's custom format, from the
// exported snapshot.
func (c *pgConn) dump(ctx context.Context, pgDump, snapshot, schema, file string) error {
	_, err := c.runTool(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges",
		"--schema="+schema, "--snapshot="+snapshot, "--file="+file, "--dbname="+c.url)
	return err
}

// restore loads a dump into the database in one transaction: it lands
// whole or not at all. When the schema already exists (empty, as restore
// checked), its own creation is left out of the dump's list.
func (c *pgConn) restore(ctx context.Context, pgRestore, dump, listFile, schema string, schemaExists bool) error {
	args := []string{"--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--dbname=" + c.url}
	if schemaExists {
		list, err := c.runTool(ctx, pgRestore, "--list", dump)
		if err != nil {
			return err
		}
		if err := os.WriteFile(listFile, withoutSchemaEntry(list, schema), 0o600); err != nil {
			return fmt.Errorf("write the restore list: %w", err)
		}
		args = append(args, "--use-list="+listFile)
	}
	_, err := c.runTool(ctx, pgRestore, append(args, dump)...)
	return err
}

// withoutSchemaEntry drops the "SCHEMA - name" entry of a pg_restore
// list, e.g. "5; 2615 16385 SCHEMA - public gitgate".
func withoutSchemaEntry(list []byte, schema string) []byte {
	entry := regexp.MustCompile(`^\d+; \d+ \d+ SCHEMA - ` + regexp.QuoteMeta(schema) + `( |$)`)
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(list))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if entry.Match(sc.Bytes()) {
			continue
		}
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return out.Bytes()
}
