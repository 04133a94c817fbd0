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

# The CUDA backend: the kernel library (csrc/, CMakeLists.txt) built by CMake with this
# machine's nvcc and cuBLAS, copied beside bin/golem-cuda, which loads it at run time.
# CUDA_ARCH picks the GPU architectures (CMake's list, e.g. 90 or "80-real;90");
# empty means CMakeLists.txt's default (Ampere and Hopper, plus Hopper PTX).
CUDA_ARCH ?=
CUDA_BUILD ?= build
build-cuda:
	cmake -S . -B $(CUDA_BUILD) -DCMAKE_BUILD_TYPE=Release $(if $(CUDA_ARCH),-DCMAKE_CUDA_ARCHITECTURES="$(CUDA_ARCH)")
	cmake --build $(CUDA_BUILD) -j
	mkdir -p bin && cp $(CUDA_BUILD)/libgolem_cuda.so bin/libgolem_cuda.so
	$(GO) build -tags cuda -o bin/golem-cuda ./cmd/golem

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
