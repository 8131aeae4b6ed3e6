# gitgate — the two commands: `make run` and `make test`.
GO        ?= go
BIN       ?= bin/gitgate
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# What `gitgate version` tells (docs/cli.md#version); override on the
# command line, e.g. make build VERSION=v1.2.0.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BUILDINFO := github.com/gitgate/gitgate/internal/buildinfo
LDFLAGS   := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(DATE)

.PHONY: run test build lint bench loadtest soak fuzz fuzz-ci readme docs screenshots clean

## run: build and start a server with the defaults (SQLite and repositories in ./data)
run: build
	./$(BIN) serve

## build: compile the gitgate binary into bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gitgate

## test: the whole suite (PostgreSQL tests need GITGATE_TEST_POSTGRES_URL; .ci/run sets it)
test:
	$(GO) test -count=1 -timeout 15m ./...

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## loadtest: LOAD_CLIENTS (64) mixed git clients (clone, fetch, push; HTTP and SSH) for LOAD_DURATION (60s)
## against a throwaway server; report in /tmp/gitgate-loadtest-DATE.md (docs/benchmarks.md)
LOAD_CLIENTS  ?= 64
LOAD_DURATION ?= 60s
loadtest:
	docs/bench/loadtest.sh -c $(LOAD_CLIENTS) -d $(LOAD_DURATION)

## soak: SOAK_CLIENTS (16) clients for 10 minutes against one server; writes docs/bench/soak-DATE.md, .csv and .png
SOAK_CLIENTS ?= 16
soak:
	docs/bench/loadtest.sh -c $(SOAK_CLIENTS) -d 10m -o docs/bench/soak-$$(date +%F) -t "gitgate soak run, $(SOAK_CLIENTS) clients for 10 minutes, $$(date -u +%F)"

## fuzz: every fuzz target (func Fuzz* in *_test.go) for FUZZTIME each, one at a
## time (docs/fuzzing.md); FUZZ=FuzzName runs one, FUZZPARALLEL=N caps the workers
FUZZTIME ?= 10m
FUZZ     ?= Fuzz
fuzz:
	@failed=; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file | grep -- '$(FUZZ)'); do \
	    echo "fuzz: $$name in $$(dirname $$file) for $(FUZZTIME)"; \
	    $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $(if $(FUZZPARALLEL),-parallel=$(FUZZPARALLEL)) $$(dirname $$file) || \
	    { echo "fuzz: $$name failed; once more (a real finding is kept in testdata/fuzz and fails again; go1.26's coordinator can end a run with a bare 'context deadline exceeded', golang/go#75804)"; \
	      $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $(if $(FUZZPARALLEL),-parallel=$(FUZZPARALLEL)) $$(dirname $$file); } || failed="$$failed $$name"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in testdata/fuzz/)"; exit 1; fi

## fuzz-ci: every fuzz target for 20 s (what CI runs after the tests)
fuzz-ci:
	$(MAKE) fuzz FUZZTIME=20s

## readme: regenerate README.md's configuration table from server/configtable.go
readme:
	$(GO) test -count=1 -run TestREADMEConfigurationTableIsGenerated ./server -update

## docs: regenerate the CLI reference in docs/cli/ (Markdown and man pages) from the command tree
docs:
	$(GO) test -count=1 -run TestCLIReferenceInDocsIsGenerated ./cmd/gitgate -update

## bench: Go benchmarks (token authentication, API)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./auth/ ./api/

## screenshots: PNGs of the main pages in docs/screenshots (needs chromium)
screenshots:
	$(GO) test -count=1 -run '^TestScreenshots' ./web/ -screenshots=$(CURDIR)/docs/screenshots

clean:
	rm -rf bin
