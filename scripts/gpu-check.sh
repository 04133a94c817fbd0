#!/usr/bin/env bash
# The CUDA backend's GPU check, in three modes:
#
#   scripts/gpu-check.sh stage   here (no GPU needed): builds the Go side for -tags cuda
#                                and stages what the GPU machine needs in build/gpu-stage
#                                (ignored; carry it): bin/golem-cuda, the test binary of
#                                backend/cuda (go test -c), bench/cudabench, csrc/ with
#                                CMakeLists.txt, and the shared oracle models. The GPU
#                                machine has nvcc, CMake and a driver but no Go.
#   scripts/gpu-check.sh smoke   on the GPU machine, under a minute: builds libgolem_cuda
#                                there with its own nvcc and cuBLAS, loads it, queries
#                                the device, runs one kernel and one cuBLAS GEMM.
#   scripts/gpu-check.sh full    on the GPU machine: smoke, then the CUDA conformance
#                                suite against the CPU reference, the shared llama/qwen2/
#                                mixtral oracle models on CUDA, golem gen + golem bench for
#                                tinyllama-1.1b and llama2-7b in Q4_0/Q8_0/Q4_K_M, and the
#                                bandwidth/launch-latency tool.
#
# Results go to $OUT (default build/gpu-out): smoke.log, full.log, tests.log,
# bench.jsonl, cudabench.json — few files, as the device tool brings back at most 8.
# Variables: STAGE (build/gpu-stage), CUDA_ARCH (stage: none; smoke: 90 = H100/H200),
# SHARED (../shared), PRESETS, TYPES.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
STAGE=${STAGE:-build/gpu-stage}
OUT=${OUT:-build/gpu-out}

stage() {
	local shared=${SHARED:-../shared}
	rm -rf "$STAGE"
	mkdir -p "$STAGE/bin" "$STAGE/src" "$STAGE/shared/oracle/models"
	export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -Wno-deprecated-declarations"
	# Stripped (-s -w) to stay well inside the 64 MiB a device call carries.
	go build -tags cuda -ldflags='-s -w' -o "$STAGE/bin/golem-cuda" ./cmd/golem
	go test -c -tags cuda -ldflags='-s -w' -o "$STAGE/bin/cuda.test" ./backend/cuda
	(cd bench/cudabench && go build -tags cuda -ldflags='-s -w' -o "../../$STAGE/bin/cudabench" .)
	cp -r csrc CMakeLists.txt "$STAGE/src/"
	# The oracle models the CUDA oracle test reads; mixtral's F32 file (15 MB) is left
	# out for size (its test variant then skips saying so).
	for arch in llama qwen2 mixtral; do
		mkdir -p "$STAGE/shared/oracle/models/$arch"
		for f in "$shared/oracle/models/$arch"/*; do
			case "$(basename "$f")" in mixtral-F32.gguf) continue ;; esac
			cp "$f" "$STAGE/shared/oracle/models/$arch/"
		done
	done
	du -sh "$STAGE"
	echo "gpu-check: staged in $STAGE; on the GPU machine run: STAGE=$STAGE scripts/gpu-check.sh smoke|full" >&2
}

# lib builds the kernel library with the GPU machine's nvcc into $STAGE/build.
lib() {
	local arch=${CUDA_ARCH:-90}
	nvcc --version | tail -2
	cmake -S "$STAGE/src" -B "$STAGE/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" >/dev/null
	cmake --build "$STAGE/build" -j "$(nproc)" 2>&1 | grep -E "error|warning|Built target" || true
	test -f "$STAGE/build/libgolem_cuda.so"
	export GOLEM_CUDA_LIB=$PWD/$STAGE/build/libgolem_cuda.so
	cp "$GOLEM_CUDA_LIB" "$STAGE/bin/"
}

smoke() {
	local t0=$SECONDS
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
	lib
	# Missing GPU must fail here, not skip.
	export GOLEM_CUDA_REQUIRE=1
	"$STAGE/bin/golem-cuda" devices
	"$STAGE/bin/cuda.test" -test.run '^(TestOpenOrSkip|TestSmoke)$' -test.v
	echo "smoke passed in $((SECONDS - t0))s"
}

full() {
	smoke 2>&1 | tee "$OUT/smoke.log"
	export GOLEM_CUDA_LIB=$PWD/$STAGE/build/libgolem_cuda.so GOLEM_CUDA_REQUIRE=1
	export GOLEM_SHARED=$PWD/$STAGE/shared
	{
		# Conformance (the backend/conformance table + real sizes), long attention, oracles.
		"$STAGE/bin/cuda.test" -test.v -test.timeout 300s 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)' || echo "TESTS FAILED"
	} >"$OUT/tests.log"
	grep -E '^(--- FAIL|FAIL|ok|PASS)|oracle_test|cuda_test' "$OUT/tests.log" | head -80 | tee "$OUT/full.log"
	local presets=${PRESETS:-tinyllama-1.1b llama2-7b} types=${TYPES:-Q4_0 Q8_0 Q4_K_M}
	local tmp
	tmp=$(mktemp -d)
	: >"$OUT/bench.jsonl"
	for p in $presets; do
		for ty in $types; do
			local f="$tmp/$p-$ty.gguf"
			"$STAGE/bin/golem-cuda" gen --preset "$p" --type "$ty" -o "$f" 2>>"$OUT/full.log"
			echo "== $p $ty: golem run" >>"$OUT/full.log"
			"$STAGE/bin/golem-cuda" run -m "$f" -n 16 -p "Hello" --backend cuda >/dev/null 2>>"$OUT/full.log" || echo "run failed: $p $ty" >>"$OUT/full.log"
			"$STAGE/bin/golem-cuda" bench -m "$f" --backend cuda -p 512 -n 128 -r 3 -o json >>"$OUT/bench.jsonl" 2>>"$OUT/full.log" ||
				echo "bench failed: $p $ty" >>"$OUT/full.log"
			rm -f "$f"
		done
	done
	rm -rf "$tmp"
	"$STAGE/bin/cudabench" -json >"$OUT/cudabench.json" 2>>"$OUT/full.log" || echo "cudabench failed" >>"$OUT/full.log"
	cat "$OUT/cudabench.json" "$OUT/bench.jsonl" >>"$OUT/full.log" || true
	if grep -q -- '--- FAIL\|TESTS FAILED' "$OUT/tests.log"; then
		echo "gpu-check full: FAILED (see tests.log)"
		return 1
	fi
	echo "gpu-check full: passed"
}

mkdir -p "$OUT"
case "$mode" in
stage) stage ;;
smoke) smoke 2>&1 | tee "$OUT/smoke.log" ;;
full) full ;;
*)
	echo "usage: scripts/gpu-check.sh stage|smoke|full" >&2
	exit 2
	;;
esac
