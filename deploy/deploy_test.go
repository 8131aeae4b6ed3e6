// Package deploy_test checks the deployment files of deploy/: their syntax
// and keys always, and with the real tools where they are installed
// (docker compose, kubectl kustomize, systemd-analyze, hadolint, promtool),
// skipping loudly where they are not.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gitgate/gitgate/server"
)

// pendingSettings are settings other work adds to the configuration table
// (notify: mail; replicas: the per-process cache directory). deploy/
// already wires them; until they exist the check below says so loudly,
// and once they exist they are checked like every other.
var pendingSettings = map[string]string{
	"GITGATE_SMTP_URL":  "mail (docs/mail.md)",
	"GITGATE_MAIL_FROM": "mail (docs/mail.md)",
	"GITGATE_CACHE_DIR": "replicas (docs/replicas.md)",
}

// pendingMetrics likewise: the outbox gauge comes with mail.
var pendingMetrics = map[string]string{"gitgate_outbox_pending": "mail (docs/mail.md)"}

func skipLoudly(t *testing.T, tool string) {
	t.Helper()
	t.Skipf("\n\n*** SKIPPING: %s is not installed here; the files were checked without it. ***\n\n", tool)
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlDocs parses every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(read(t, path)))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// get walks a decoded YAML/JSON value by keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		if v == nil {
			return nil
		}
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, _ := get(t, v, path...).(string)
	return s
}

func TestEveryEnvironmentVariableOfTheDeploymentFilesIsASetting(t *testing.T) {
	known := map[string]bool{}
	for _, s := range server.Settings {
		known[s.Env] = true
	}
	variable := regexp.MustCompile(`\bGITGATE_[A-Z0-9_]*[A-Z0-9]\b`)
	seen := map[string][]string{}
	files := []string{"../docs/operations.md"}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, v := range variable.FindAllString(string(read(t, f)), -1) {
			seen[v] = append(seen[v], f)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d variables in %v", len(seen), files)
	}
	for v, where := range seen {
		switch {
		case known[v]:
		case pendingSettings[v] != "":
			t.Logf("\n*** %s (used in %v) is not in server/configtable.go yet: it comes with %s. ***", v, slices.Compact(where), pendingSettings[v])
		default:
			t.Errorf("%s is used in %v but is no setting of server/configtable.go", v, slices.Compact(where))
		}
	}
}

func TestComposeRunsTwoReplicasBehindCaddyWithPostgresAndMailpit(t *testing.T) {
	docs := yamlDocs(t, "docker-compose.yml")
	if len(docs) != 1 {
		t.Fatalf("docker-compose.yml has %d documents", len(docs))
	}
	c := docs[0]
	services, _ := get(t, c, "services").(map[string]any)
	for _, name := range []string{"postgres", "mailpit", "gitgate-1", "gitgate-2", "caddy"} {
		if services[name] == nil {
			t.Fatalf("no service %s", name)
		}
	}
	if img := str(t, c, "services", "postgres", "image"); img != "postgres:15" {
		t.Errorf("postgres image %q, want postgres:15", img)
	}
	if get(t, c, "services", "postgres", "healthcheck", "test") == nil {
		t.Error("postgres has no health check")
	}
	if v := str(t, c, "services", "postgres", "volumes", 0); !strings.HasPrefix(v, "pgdata:") {
		t.Errorf("postgres data is not on the named volume pgdata: %q", v)
	}
	if _, ok := get(t, c, "volumes").(map[string]any)["pgdata"]; !ok {
		t.Error("no named volume pgdata")
	}
	caddyIP := str(t, c, "services", "caddy", "networks", "gitgate", "ipv4_address")
	for _, name := range []string{"gitgate-1", "gitgate-2"} {
		env, _ := get(t, c, "services", name, "environment").(map[string]any)
		db, _ := env["GITGATE_DATABASE_URL"].(string)
		if !strings.Contains(db, "@postgres:5432/") {
			t.Errorf("%s: GITGATE_DATABASE_URL %q does not name the postgres service", name, db)
		}
		if env["GITGATE_SMTP_URL"] != "smtp://mailpit:1025" {
			t.Errorf("%s: mail does not go to mailpit: %v", name, env["GITGATE_SMTP_URL"])
		}
		if env["GITGATE_TRUSTED_PROXIES"] != caddyIP+"/32" {
			t.Errorf("%s: GITGATE_TRUSTED_PROXIES %v, want only Caddy's %s/32", name, env["GITGATE_TRUSTED_PROXIES"], caddyIP)
		}
		if v := str(t, c, "services", name, "volumes", 0); v != "data:/data" {
			t.Errorf("%s: the repositories are not on the shared volume: %q", name, v)
		}
		if str(t, c, "services", name, "build", "dockerfile") != "deploy/Dockerfile" {
			t.Errorf("%s is not built from deploy/Dockerfile", name)
		}
	}
	if p := str(t, c, "services", "gitgate-1", "ports", 0); p != "2222:2222" {
		t.Errorf("SSH is not published from gitgate-1: %q", p)
	}
	if get(t, c, "services", "gitgate-2", "ports") != nil {
		t.Error("gitgate-2 publishes ports of its own; HTTP goes through Caddy")
	}
	caddyfile := string(read(t, "caddy/Caddyfile"))
	if !strings.Contains(caddyfile, "reverse_proxy gitgate-1:8080 gitgate-2:8080") || !strings.Contains(caddyfile, "health_uri /-/readiness") {
		t.Errorf("the Caddyfile does not balance both replicas on their readiness:\n%s", caddyfile)
	}

	if _, err := exec.LookPath("docker"); err != nil {
		skipLoudly(t, "docker")
	}
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		skipLoudly(t, "the docker compose plugin")
	}
	out, err := exec.Command("docker", "compose", "-f", "docker-compose.yml", "config", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
}

// kustomizeResources lists the files kustomization.yaml names.
func kustomizeResources(t *testing.T) []string {
	k := yamlDocs(t, "kubernetes/kustomization.yaml")[0]
	var files []string
	for _, r := range get(t, k, "resources").([]any) {
		files = append(files, filepath.Join("kubernetes", r.(string)))
	}
	return files
}

func TestKubernetesManifestsRunThreeHardenedReplicasOnASharedVolume(t *testing.T) {
	objects := map[string]map[string]any{}
	for _, f := range kustomizeResources(t) {
		for _, d := range yamlDocs(t, f) {
			kind, name := str(t, d, "kind"), str(t, d, "metadata", "name")
			if kind == "" || name == "" || str(t, d, "apiVersion") == "" {
				t.Fatalf("%s: an object without apiVersion, kind or name", f)
			}
			objects[kind+"/"+name] = d
		}
	}
	for _, want := range []string{"Namespace/gitgate", "ConfigMap/gitgate", "Secret/gitgate", "PersistentVolumeClaim/gitgate-data",
		"Deployment/gitgate", "Service/gitgate-http", "Service/gitgate-ssh", "PodDisruptionBudget/gitgate", "NetworkPolicy/gitgate"} {
		if objects[want] == nil {
			t.Fatalf("no %s among %v", want, slices.Sorted(func(yield func(string) bool) {
				for k := range objects {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}
	if m := str(t, objects["PersistentVolumeClaim/gitgate-data"], "spec", "accessModes", 0); m != "ReadWriteMany" {
		t.Errorf("the repository volume is %s, not ReadWriteMany", m)
	}
	d := objects["Deployment/gitgate"]
	if r := get(t, d, "spec", "replicas"); r != 3 {
		t.Errorf("replicas: %v", r)
	}
	pod := get(t, d, "spec", "template", "spec")
	if get(t, pod, "securityContext", "runAsNonRoot") != true || get(t, pod, "securityContext", "runAsUser") == 0 {
		t.Error("the pod may run as root")
	}
	ctr := get(t, pod, "containers", 0)
	if p := str(t, ctr, "readinessProbe", "httpGet", "path"); p != "/-/readiness" {
		t.Errorf("readiness probe on %q", p)
	}
	if p := str(t, ctr, "livenessProbe", "httpGet", "path"); p != "/-/health" {
		t.Errorf("liveness probe on %q (a database outage must not restart every replica)", p)
	}
	if get(t, ctr, "resources", "requests", "cpu") == nil || get(t, ctr, "resources", "requests", "memory") == nil {
		t.Error("no resource requests")
	}
	if get(t, ctr, "securityContext", "allowPrivilegeEscalation") != false || get(t, ctr, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("the container may escalate privileges or write its root file system")
	}
	if g := get(t, pod, "terminationGracePeriodSeconds"); g.(int) <= 30 {
		t.Errorf("terminationGracePeriodSeconds %v does not leave GITGATE_SHUTDOWN_TIMEOUT (30s) to drain", g)
	}
	var fromConfig, fromSecret bool
	for _, e := range get(t, ctr, "envFrom").([]any) {
		fromConfig = fromConfig || str(t, e, "configMapRef", "name") == "gitgate"
		fromSecret = fromSecret || str(t, e, "secretRef", "name") == "gitgate"
	}
	if !fromConfig || !fromSecret {
		t.Error("the container does not take its settings from the ConfigMap and the Secret")
	}
	secret := get(t, objects["Secret/gitgate"], "stringData").(map[string]any)
	for _, k := range []string{"GITGATE_DATABASE_URL", "GITGATE_SECRET_KEY_BASE", "GITGATE_SMTP_URL"} {
		if secret[k] == nil {
			t.Errorf("the Secret has no %s", k)
		}
	}
	if get(t, objects["PodDisruptionBudget/gitgate"], "spec", "minAvailable") == nil {
		t.Error("the PodDisruptionBudget sets no minAvailable")
	}

	if _, err := exec.LookPath("kubectl"); err != nil {
		skipLoudly(t, "kubectl")
	}
	out, err := exec.Command("kubectl", "kustomize", "kubernetes").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	n := 0
	for {
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			break
		}
		n++
		if k := str(t, o, "kind"); k != "Namespace" && str(t, o, "metadata", "namespace") != "gitgate" {
			t.Errorf("%s/%s is not in the gitgate namespace", k, str(t, o, "metadata", "name"))
		}
		if str(t, o, "kind") == "Deployment" && str(t, o, "metadata", "name") == "gitgate" {
			if img := str(t, o, "spec", "template", "spec", "containers", 0, "image"); !strings.HasPrefix(img, "ghcr.io/gitgate/gitgate:") {
				t.Errorf("kustomize left the image as %q", img)
			}
		}
	}
	if n < len(objects) {
		t.Fatalf("kubectl kustomize rendered %d objects, the files hold %d", n, len(objects))
	}
	if _, err := exec.LookPath("kubeconform"); err != nil {
		skipLoudly(t, "kubeconform (schema validation)")
	}
	cmd := exec.Command("kubeconform", "-strict", "-summary", "-")
	cmd.Stdin = bytes.NewReader(out)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubeconform: %v\n%s", err, out)
	}
}

// unitKeys parses a systemd unit: section → key → values.
func unitKeys(t *testing.T, path string) map[string]map[string][]string {
	units := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(read(t, path)), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			units[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, i+1, line)
			}
			units[section][k] = append(units[section][k], v)
		}
	}
	return units
}

func TestSystemdUnitIsHardenedAndWritesOnlyTheDataDirectory(t *testing.T) {
	u := unitKeys(t, "systemd/gitgate.service")
	svc := u["Service"]
	want := map[string]string{
		"ProtectSystem": "strict", "NoNewPrivileges": "true", "PrivateTmp": "true", "ProtectHome": "true",
		"Restart": "on-failure", "KillMode": "mixed", "User": "gitgate", "EnvironmentFile": "/etc/gitgate/gitgate.env",
		"ReadWritePaths": "/var/lib/gitgate", "ExecStart": "/usr/local/bin/gitgate serve", "ExecReload": "/bin/kill -HUP $MAINPID",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s=%v, want %s", k, got, v)
		}
	}
	if stop, err := time.ParseDuration(svc["TimeoutStopSec"][0]); err != nil || stop <= 30*time.Second {
		t.Errorf("TimeoutStopSec=%v leaves no time to drain after GITGATE_SHUTDOWN_TIMEOUT (30s)", svc["TimeoutStopSec"])
	}
	if u["Install"]["WantedBy"][0] != "multi-user.target" {
		t.Error("the unit is not wanted by multi-user.target")
	}
	// The environment file's data directory is the one path writable.
	env := map[string]string{}
	for _, line := range strings.Split(string(read(t, "systemd/gitgate.env")), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	if env["GITGATE_DATA_DIR"] != svc["ReadWritePaths"][0] {
		t.Errorf("GITGATE_DATA_DIR=%s but ReadWritePaths=%s", env["GITGATE_DATA_DIR"], svc["ReadWritePaths"][0])
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		skipLoudly(t, "systemd-analyze")
	}
	// verify wants ExecStart's program to exist: any executable does.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "gitgate.service")
	text := strings.ReplaceAll(string(read(t, "systemd/gitgate.service")), "/usr/local/bin/gitgate", exe)
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestDockerfileBuildsAStaticBinaryOnANonRootSlimImage(t *testing.T) {
	df := string(read(t, "Dockerfile"))
	var froms []string
	for _, line := range strings.Split(df, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			froms = append(froms, line)
		}
	}
	gomod := string(read(t, "../go.mod"))
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "FROM golang:"+goVersion[1]+"-") || !strings.HasSuffix(froms[0], " AS build") ||
		!regexp.MustCompile(`^FROM debian:[a-z]+-slim$`).MatchString(froms[1]) {
		t.Fatalf("want a golang:%s build stage and a Debian slim runtime, got %q", goVersion[1], froms)
	}
	for _, want := range []string{
		"CGO_ENABLED=0", "git postgresql-client", "USER gitgate", `VOLUME ["/data"]`, "GITGATE_DATA_DIR=/data",
		"HEALTHCHECK", "/-/readiness", "LABEL org.opencontainers.image.title=", "EXPOSE 8080 2222",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	ignore := string(read(t, "../.dockerignore"))
	for _, want := range []string{".git", "data/", "bin/"} {
		if !slices.Contains(strings.Split(ignore, "\n"), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
	if _, err := exec.LookPath("hadolint"); err != nil {
		skipLoudly(t, "hadolint")
	}
	if out, err := exec.Command("hadolint", "Dockerfile").CombinedOutput(); err != nil {
		t.Fatalf("hadolint: %v\n%s", err, out)
	}
}

// metricNames are the gitgate_ metrics the code registers: every
// `Name: "gitgate_…"` of a non-test Go file of the module.
func metricNames(t *testing.T) map[string]bool {
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Name" {
				if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, _ := strconv.Unquote(lit.Value); strings.HasPrefix(s, "gitgate_") {
						names[s] = true
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["gitgate_http_requests_total"] || !names["gitgate_git_operations_total"] {
		t.Fatalf("the metric names were not found in the code: %v", names)
	}
	return names
}

// checkExpr fails for a gitgate_ metric an expression names that the code
// does not register.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	for _, m := range regexp.MustCompile(`\bgitgate_[a-z0-9_]+`).FindAllString(expr, -1) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suffix); ok && known[b] {
				base = b
			}
		}
		switch {
		case known[base]:
		case pendingMetrics[base] != "":
			t.Logf("\n*** %s (%s) is not registered yet: it comes with %s. ***", base, where, pendingMetrics[base])
		default:
			t.Errorf("%s uses %s, which gitgate does not export", where, m)
		}
	}
}

func TestAlertsAndDashboardUseTheMetricsGitgateExports(t *testing.T) {
	known := metricNames(t)
	rules := yamlDocs(t, "prometheus/alerts.yml")[0]
	alerts := map[string]bool{}
	for _, g := range get(t, rules, "groups").([]any) {
		for _, r := range get(t, g, "rules").([]any) {
			name, expr := str(t, r, "alert"), str(t, r, "expr")
			if name == "" || expr == "" || str(t, r, "labels", "severity") == "" || str(t, r, "annotations", "summary") == "" {
				t.Fatalf("an alert without name, expression, severity or summary: %v", r)
			}
			alerts[name] = true
			checkExpr(t, "alert "+name, expr, known)
		}
	}
	for _, want := range []string{"GitgateGitErrorRatioHigh", "GitgateHTTPErrorRatioHigh", "GitgateServiceUnavailable", "GitgateAuthFailureSurge", "GitgateOutboxBacklog"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}

	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(read(t, "prometheus/grafana-dashboard.json"), &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, known)
			for _, m := range regexp.MustCompile(`\bgitgate_[a-z0-9_]+`).FindAllString(tg.Expr, -1) {
				used[strings.TrimSuffix(m, "_bucket")] = true
			}
		}
	}
	for m := range known {
		if !used[m] {
			t.Errorf("the dashboard shows nothing of %s", m)
		}
	}

	if _, err := exec.LookPath("promtool"); err != nil {
		skipLoudly(t, "promtool")
	}
	if out, err := exec.Command("promtool", "check", "rules", "prometheus/alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
