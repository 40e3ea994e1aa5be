# afflake — the two commands a new machine needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/afflake
LAKE    ?= ./lake

.PHONY: all build test unit purego vet lint cue-vet validate spec-test demo bench bench-go duckdb docs docs-check clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/afflake

# Everything CI checks: formatting, vet, staticcheck, the specs (cue vet
# against the schemas, afflake validate, afflake test) and the Go tests.
test: build lint cue-vet validate spec-test docs-check unit purego

unit:
	$(GO) test ./...

# Without cgo, Parquet pages are compressed by the pure-Go zstd encoder
# instead of libzstd: that build is checked too.
purego:
	CGO_ENABLED=0 $(GO) vet ./engine/lake/
	CGO_ENABLED=0 $(GO) tool staticcheck ./engine/lake/
	CGO_ENABLED=0 $(GO) test ./engine/lake/

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l cmd engine); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...

cue-vet:
	$(GO) tool cue vet -c ./specs/

validate: build
	$(BIN) validate specs

spec-test: build
	$(BIN) test

demo: build
	$(BIN) demo --lake $(LAKE)

# Benchmarks: the Go micro-benchmarks, then the whole transform over
# generated Awin pages (records/s, MB/s, peak RSS).
# BENCH_PAGES × 2,000 Awin-shaped records (500 pages = 1,000,000 records);
# BENCH_GEN=-basket adds the basketProducts the awin spec asks for.
BENCH_PAGES ?= 500
BENCH_GEN ?=
bench: build bench-go
	$(GO) build -o bin/afflake-bench ./cmd/afflake-bench
	bin/afflake-bench gen -pages $(BENCH_PAGES) -per-page 2000 $(BENCH_GEN) -out bench/awin
	rm -rf bench/lake
	bin/afflake-bench run -in bench/awin -- $(BIN) transform --network awin --in bench/awin --out bench/lake --account 189069 --run-id bench
	@# The baseline: DuckDB mapping the same pages, one table at a time.
	@if $(MAKE) -s duckdb; then \
	  for t in unified table; do \
	    bin/afflake-bench run -label "duckdb $$t" -in bench/awin -- node $(DUCKDB)/mapping.mjs $$t bench/awin bench/duckdb-$$t.parquet; \
	  done; \
	else echo "DuckDB baseline skipped: it needs node and npm"; fi

# DuckDB's npm package: the tests' independent Parquet reader and the
# benchmark's baseline.
DUCKDB := engine/lake/testdata/duckdb
duckdb:
	@[ -d $(DUCKDB)/node_modules ] || { command -v npm >/dev/null && npm ci --prefix $(DUCKDB) --no-audit --no-fund --loglevel=error; }

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/mapping/ ./engine/lake/
	$(GO) test -run '^$$' -bench Valid ./engine/extract/
	# the whole transform in one process: records/s and CPU time per record
	$(GO) test -run '^$$' -bench TransformAwin -benchtime 200000x ./engine/transform/
	# fetch: sandbox with 50 ms latency, 100 requests/s per credential, 2,000 requests over 4 credentials
	$(GO) test -run '^$$' -bench RateLimitedFetch -benchtime 2000x ./engine/fetch/
	# change detection: 500,000 known transactions committed again, a few changed (rows/s, peak heap)
	$(GO) test -run '^$$' -bench Commit -benchtime 1x ./engine/history/

# docs/networks.md is generated from the specs; CI checks it is current.
docs: build
	$(BIN) docs > docs/networks.md

docs-check: build
	@$(BIN) docs | diff -u docs/networks.md - || { echo "docs/networks.md is out of date: run make docs"; exit 1; }

clean:
	rm -rf bin bench lake
