//go:build cuda

package cuda

// The kernel library, opened at run time. cgo here sees only csrc/golem_cuda.h (no
// CUDA header, no CUDA library at link time): the library is dlopened and each
// function of GOLEM_CUDA_FUNCS resolved by name into a pointer that a small static
// wrapper calls. All cgo calls live in this file, since the pointers are static C
// variables of this file's preamble.

/*
#cgo CFLAGS: -I${SRCDIR}/../../csrc
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "golem_cuda.h"

#define GC_PTR(ret, name, params, args) static ret (*p_##name) params;
GOLEM_CUDA_FUNCS(GC_PTR)
#define GC_WRAP(ret, name, params, args) static ret gc_##name params { return p_##name args; }
GOLEM_CUDA_FUNCS(GC_WRAP)

static void *gc_handle;

// gc_open loads the library and resolves every function; it returns NULL or why not.
static const char *gc_open(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
#define GC_SYM(ret, name, params, args) \
	p_##name = (ret (*) params)dlsym(h, #name); \
	if (!p_##name) { dlclose(h); return "the library lacks " #name " (built from other sources?)"; }
	GOLEM_CUDA_FUNCS(GC_SYM)
	gc_handle = h;
	return NULL;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// LibName is the kernel library's file name.
const LibName = "libgolem_cuda.so"

// LibEnv names a variable that gives the library's path explicitly.
const LibEnv = "GOLEM_CUDA_LIB"

var (
	loadOnce sync.Once
	loadErr  error
	libPath  string
)

// candidates are the places the library is looked for, in order: $GOLEM_CUDA_LIB,
// beside the executable, and bin/ at the root of the module the working directory is
// in (go test and go run).
func candidates() []string {
	if p := os.Getenv(LibEnv); p != "" {
		return []string{p}
	}
	var out []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		out = append(out, filepath.Join(filepath.Dir(exe), LibName))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				out = append(out, filepath.Join(dir, "bin", LibName))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return out
}

// load opens the library once. Its error says where it looked and why it failed.
func load() error {
	loadOnce.Do(func() {
		var why []string
		for _, p := range candidates() {
			if _, err := os.Stat(p); err != nil {
				why = append(why, fmt.Sprintf("%s: not found", p))
				continue
			}
			cp := C.CString(p)
			msg := C.gc_open(cp)
			C.free(unsafe.Pointer(cp))
			if msg != nil {
				why = append(why, fmt.Sprintf("%s: %s", p, C.GoString(msg)))
				continue
			}
			if abi := int(C.gc_golem_cuda_abi()); abi != C.GOLEM_CUDA_ABI {
				why = append(why, fmt.Sprintf("%s: ABI %d, this binary needs %d (rebuild with make build-cuda)", p, abi, C.GOLEM_CUDA_ABI))
				continue
			}
			libPath = p
			return
		}
		if len(why) == 0 {
			why = append(why, "no place to look (set "+LibEnv+")")
		}
		loadErr = fmt.Errorf("kernel library %s not loaded (build it with make build-cuda, or set %s): %s", LibName, LibEnv, joinWhy(why))
	})
	return loadErr
}

func joinWhy(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// Status is a nonzero status from the library.
type Status int

func (s Status) Error() string {
	return fmt.Sprintf("%s (status %d)", C.GoString(C.gc_golem_cuda_strerror(C.int(s))), int(s))
}

func check(op string, st C.int) error {
	if st == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %w", op, Status(st))
}

// Device is what the library reports about one GPU.
type Device struct {
	Index                int
	Name                 string
	Major, Minor         int
	Multiprocessors      int
	ClockKHz             int
	MemoryClockKHz       int
	MemoryBusWidth       int
	L2Bytes              int
	TotalMemory          uint64
	FreeMemory           uint64
	DriverVersion        int
	RuntimeVersion       int
	MaxSharedPerBlockOpt int
}

// BandwidthGBs is the theoretical memory bandwidth: 2 transfers per clock (DDR) ×
// bus width, in GB/s; 0 when the clock is unknown.
func (d Device) BandwidthGBs() float64 {
	return 2 * float64(d.MemoryClockKHz) * 1e3 * float64(d.MemoryBusWidth) / 8 / 1e9
}

// Devices loads the library and lists the GPUs the CUDA runtime sees.
func Devices() ([]Device, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var n C.int
	if err := check("device count", C.gc_golem_cuda_device_count(&n)); err != nil {
		return nil, err
	}
	var out []Device
	for i := range int(n) {
		var info C.golem_device_info
		if err := check("device info", C.gc_golem_cuda_device_info(C.int(i), &info)); err != nil {
			return out, err
		}
		out = append(out, Device{
			Index: i, Name: C.GoString(&info.name[0]), Major: int(info.major), Minor: int(info.minor),
			Multiprocessors: int(info.multiprocessors), ClockKHz: int(info.clock_khz), MemoryClockKHz: int(info.memory_clock_khz),
			MemoryBusWidth: int(info.memory_bus_width), L2Bytes: int(info.l2_bytes),
			TotalMemory: uint64(info.total_memory), FreeMemory: uint64(info.free_memory),
			DriverVersion: int(info.driver_version), RuntimeVersion: int(info.runtime_version),
			MaxSharedPerBlockOpt: int(info.max_shared_per_block),
		})
	}
	return out, nil
}

// LibraryPath is the path the library was loaded from ("" before a successful load).
func LibraryPath() string { return libPath }

// The thin wrappers below turn Go values into C arguments; pointers are device or
// pinned-host addresses (never Go memory in an asynchronous call).

type dptr = unsafe.Pointer

func cSetDevice(d int) error { return check("set device", C.gc_golem_cuda_set_device(C.int(d))) }

func cMalloc(n int) (dptr, error) {
	var p unsafe.Pointer
	err := check("malloc", C.gc_golem_cuda_malloc(&p, C.size_t(n)))
	return p, err
}

func cFree(p dptr) error { return check("free", C.gc_golem_cuda_free(p)) }

func cHostAlloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := check("pinned alloc", C.gc_golem_cuda_host_alloc(&p, C.size_t(n)))
	return p, err
}

func cHostFree(p unsafe.Pointer) error { return check("pinned free", C.gc_golem_cuda_host_free(p)) }

func cMemInfo() (free, total uint64, err error) {
	var f, t C.size_t
	err = check("mem info", C.gc_golem_cuda_mem_info(&f, &t))
	return uint64(f), uint64(t), err
}

func cStreamCreate() (unsafe.Pointer, error) {
	var s unsafe.Pointer
	err := check("stream create", C.gc_golem_cuda_stream_create(&s))
	return s, err
}

func cStreamDestroy(s unsafe.Pointer) error {
	return check("stream destroy", C.gc_golem_cuda_stream_destroy(s))
}
func cSync(s unsafe.Pointer) error { return check("synchronize", C.gc_golem_cuda_stream_sync(s)) }

func cMemset(p dptr, n int, s unsafe.Pointer) error {
	return check("memset", C.gc_golem_cuda_memset_async(p, 0, C.size_t(n), s))
}
func cH2D(dst dptr, src unsafe.Pointer, n int, s unsafe.Pointer) error {
	return check("copy to device", C.gc_golem_cuda_h2d_async(dst, src, C.size_t(n), s))
}
func cD2H(dst unsafe.Pointer, src dptr, n int, s unsafe.Pointer) error {
	return check("copy to host", C.gc_golem_cuda_d2h_async(dst, src, C.size_t(n), s))
}
func cD2D(dst, src dptr, n int, s unsafe.Pointer) error {
	return check("copy on device", C.gc_golem_cuda_d2d_async(dst, src, C.size_t(n), s))
}

func cBlasCreate(s unsafe.Pointer) (unsafe.Pointer, error) {
	var h unsafe.Pointer
	err := check("cuBLAS create", C.gc_golem_cuda_blas_create(&h, s))
	return h, err
}
func cBlasDestroy(h unsafe.Pointer) error {
	return check("cuBLAS destroy", C.gc_golem_cuda_blas_destroy(h))
}

func cDequantF16(dst, src dptr, typ, n int, s unsafe.Pointer) error {
	return check("dequantize", C.gc_golem_cuda_dequantize_f16(dst, src, C.int(typ), C.int64_t(n), s))
}
func cDequantF32(dst, src dptr, typ, n int, s unsafe.Pointer) error {
	return check("dequantize", C.gc_golem_cuda_dequantize_f32((*C.float)(dst), src, C.int(typ), C.int64_t(n), s))
}
func cF32ToF16(dst, src dptr, n int, s unsafe.Pointer) error {
	return check("f32 to f16", C.gc_golem_cuda_f32_to_f16(dst, (*C.float)(src), C.int64_t(n), s))
}
func cQuantizeQ8_1(dst, x dptr, rows, k int, s unsafe.Pointer) error {
	return check("quantize q8_1", C.gc_golem_cuda_quantize_q8_1(dst, (*C.float)(x), C.int(rows), C.int(k), s))
}
func cMatVecQ(dst, w dptr, typ int, xq dptr, n, out, k int, s unsafe.Pointer) error {
	return check("matvec", C.gc_golem_cuda_matvec_q((*C.float)(dst), w, C.int(typ), xq, C.int(n), C.int(out), C.int(k), s))
}
func cMatVecF(dst, w dptr, typ int, x dptr, n, out, k int, s unsafe.Pointer) error {
	return check("matvec", C.gc_golem_cuda_matvec_f((*C.float)(dst), w, C.int(typ), (*C.float)(x), C.int(n), C.int(out), C.int(k), s))
}
func cGemmF16(blas unsafe.Pointer, dst, w16, x16 dptr, n, out, k, ldc int, s unsafe.Pointer) error {
	return check("gemm", C.gc_golem_cuda_gemm_f16(blas, (*C.float)(dst), w16, x16, C.int(n), C.int(out), C.int(k), C.int(ldc), s))
}
func cGetRows(dst, table dptr, typ int, ids dptr, n, k int, s unsafe.Pointer) error {
	return check("get rows", C.gc_golem_cuda_get_rows((*C.float)(dst), table, C.int(typ), (*C.int32_t)(ids), C.int(n), C.int(k), s))
}
func cRMSNorm(dst, x, w dptr, rows, cols int, eps float32, s unsafe.Pointer) error {
	return check("rms norm", C.gc_golem_cuda_rms_norm((*C.float)(dst), (*C.float)(x), (*C.float)(w), C.int(rows), C.int(cols), C.float(eps), s))
}

// ropeParams mirrors golem_rope_params.
type ropeParams struct {
	neox, dims                     int
	thetaScale, freqScale, extFact float32
	attnFactor, corrLow, corrHigh  float32
	freqs                          dptr
}

func cRoPE(x, pos dptr, n, heads, hd int, p ropeParams, s unsafe.Pointer) error {
	cp := C.golem_rope_params{
		neox: C.int(p.neox), dims: C.int(p.dims), theta_scale: C.float(p.thetaScale), freq_scale: C.float(p.freqScale),
		ext_factor: C.float(p.extFact), attn_factor: C.float(p.attnFactor), corr_low: C.float(p.corrLow),
		corr_high: C.float(p.corrHigh), freqs: (*C.float)(p.freqs),
	}
	return check("rope", C.gc_golem_cuda_rope((*C.float)(x), (*C.int32_t)(pos), C.int(n), C.int(heads), C.int(hd), &cp, s))
}

func cSoftmax(dst, x dptr, rows, cols int, s unsafe.Pointer) error {
	return check("softmax", C.gc_golem_cuda_softmax((*C.float)(dst), (*C.float)(x), C.int(rows), C.int(cols), s))
}

const (
	unarySiLU    = C.GOLEM_UNARY_SILU
	unaryScale   = C.GOLEM_UNARY_SCALE
	binaryAdd    = C.GOLEM_BINARY_ADD
	binaryMul    = C.GOLEM_BINARY_MUL
	binarySwiGLU = C.GOLEM_BINARY_SWIGLU
)

func cUnary(op int, dst, x dptr, n int, sc float32, s unsafe.Pointer) error {
	return check("unary", C.gc_golem_cuda_unary(C.int(op), (*C.float)(dst), (*C.float)(x), C.int64_t(n), C.float(sc), s))
}
func cBinary(op int, dst, a, b dptr, n, nb int, s unsafe.Pointer) error {
	return check("binary", C.gc_golem_cuda_binary(C.int(op), (*C.float)(dst), (*C.float)(a), (*C.float)(b), C.int64_t(n), C.int64_t(nb), s))
}
func cKVStore(cache dptr, typ int, src, cells dptr, n, dim int, s unsafe.Pointer) error {
	return check("kv store", C.gc_golem_cuda_kv_store(cache, C.int(typ), (*C.float)(src), (*C.int32_t)(cells), C.int(n), C.int(dim), s))
}

// attnParams mirrors golem_attn_params.
type attnParams struct {
	nTokens, heads, headsKV, headDim, headDimV, cells, kDim, vDim, cacheType int
	scale                                                                    float32
	causal, window                                                           int
	softcap, alibiM0, alibiM1                                                float32
	alibiNLog2                                                               int
}

func (p attnParams) c() C.golem_attn_params {
	return C.golem_attn_params{
		n_tokens: C.int(p.nTokens), heads: C.int(p.heads), heads_kv: C.int(p.headsKV), head_dim: C.int(p.headDim),
		head_dim_v: C.int(p.headDimV), cells: C.int(p.cells), k_dim: C.int(p.kDim), v_dim: C.int(p.vDim),
		cache_type: C.int(p.cacheType), scale: C.float(p.scale), causal: C.int(p.causal), window: C.int(p.window),
		softcap: C.float(p.softcap), alibi_m0: C.float(p.alibiM0), alibi_m1: C.float(p.alibiM1), alibi_nlog2: C.int(p.alibiNLog2),
	}
}

func cAttnScratch(p attnParams) int {
	cp := p.c()
	return int(C.gc_golem_cuda_attention_scratch(&cp))
}

func cAttention(dst, q, kc, vc, cellPos, cellSeq, tokPos, tokSeq dptr, p attnParams, scratch dptr, scratchFloats int, s unsafe.Pointer) error {
	cp := p.c()
	return check("attention", C.gc_golem_cuda_attention((*C.float)(dst), (*C.float)(q), kc, vc, (*C.int32_t)(cellPos),
		(*C.int32_t)(cellSeq), (*C.int32_t)(tokPos), (*C.int32_t)(tokSeq), &cp, (*C.float)(scratch), C.size_t(scratchFloats), s))
}

var errNoDevice = errors.New("no CUDA device")
