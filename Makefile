# golem's build entry points. Outputs as CONTRACTS.md says: bin/golem, bin/golem-openblas,
# bin/golem-cuda.
GO ?= go
SHARED ?= ../shared
FUZZTIME ?= 60s

.PHONY: build build-openblas build-cuda test conformance bench fuzz lint clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/golem ./cmd/golem

build-openblas:
	$(GO) build -tags openblas -o bin/golem-openblas ./cmd/golem

# The CUDA backend and its kernel library (csrc/, CMakeLists.txt) arrive with the CUDA
# backend issue; until then this target says so instead of building something partial.
build-cuda:
	@echo "make build-cuda: the CUDA backend is not implemented yet" >&2; exit 1

test:
	GOLEM_SHARED=$(SHARED) $(GO) test ./...

# Op conformance across every backend compiled in (backend/conformance, with the backend issue).
conformance:
	GOLEM_SHARED=$(SHARED) $(GO) test ./backend/... 

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Runs each fuzz target for FUZZTIME.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./gguf

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin build
