// Device query, memory, streams and copies.
#include "common.cuh"

#include <cublas_v2.h>
#include <stdio.h>
#include <string.h>

extern "C" {

int golem_cuda_abi(void) { return GOLEM_CUDA_ABI; }

const char *golem_cuda_strerror(int status) {
	switch (status) {
	case GOLEM_ERR_TYPE: return "weight or tensor type not supported by this kernel";
	case GOLEM_ERR_SHAPE: return "sizes not supported by this kernel";
	case GOLEM_ERR_NO_DEVICE: return "no CUDA device";
	}
	if (status >= GOLEM_CUBLAS_BASE) {
		switch (status - GOLEM_CUBLAS_BASE) {
		case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS: not initialized";
		case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS: allocation failed";
		case CUBLAS_STATUS_INVALID_VALUE: return "cuBLAS: invalid value";
		case CUBLAS_STATUS_ARCH_MISMATCH: return "cuBLAS: architecture mismatch";
		case CUBLAS_STATUS_EXECUTION_FAILED: return "cuBLAS: execution failed";
		case CUBLAS_STATUS_NOT_SUPPORTED: return "cuBLAS: not supported";
		default: return "cuBLAS: error";
		}
	}
	return cudaGetErrorString((cudaError_t)status);
}

int golem_cuda_device_count(int *count) {
	*count = 0;
	cudaError_t e = cudaGetDeviceCount(count);
	if (e != cudaSuccess) {
		*count = 0;
		return (int)e;
	}
	return 0;
}

// Device facts through cudaDeviceGetAttribute: CUDA 13 removed clockRate and
// memoryClockRate from cudaDeviceProp.
int golem_cuda_device_info(int device, golem_device_info *info) {
	memset(info, 0, sizeof *info);
	GOLEM_CHECK(cudaSetDevice(device));
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->major, cudaDevAttrComputeCapabilityMajor, device));
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->minor, cudaDevAttrComputeCapabilityMinor, device));
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->multiprocessors, cudaDevAttrMultiProcessorCount, device));
	// Clock attributes may be absent on some devices: leave them 0 then.
	if (cudaDeviceGetAttribute(&info->clock_khz, cudaDevAttrClockRate, device) != cudaSuccess) info->clock_khz = 0;
	if (cudaDeviceGetAttribute(&info->memory_clock_khz, cudaDevAttrMemoryClockRate, device) != cudaSuccess)
		info->memory_clock_khz = 0;
	cudaGetLastError();
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->memory_bus_width, cudaDevAttrGlobalMemoryBusWidth, device));
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->l2_bytes, cudaDevAttrL2CacheSize, device));
	GOLEM_CHECK(cudaDeviceGetAttribute(&info->max_shared_per_block, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
	// The name: cudaDeviceProp still has it in CUDA 13.
	cudaDeviceProp prop;
	GOLEM_CHECK(cudaGetDeviceProperties(&prop, device));
	snprintf(info->name, sizeof info->name, "%s", prop.name);
	GOLEM_CHECK(cudaMemGetInfo(&info->free_memory, &info->total_memory));
	GOLEM_CHECK(cudaDriverGetVersion(&info->driver_version));
	GOLEM_CHECK(cudaRuntimeGetVersion(&info->runtime_version));
	return 0;
}

int golem_cuda_set_device(int device) { return (int)cudaSetDevice(device); }

int golem_cuda_malloc(void **ptr, size_t bytes) { return (int)cudaMalloc(ptr, bytes ? bytes : 1); }
int golem_cuda_free(void *ptr) { return (int)cudaFree(ptr); }
int golem_cuda_host_alloc(void **ptr, size_t bytes) { return (int)cudaMallocHost(ptr, bytes ? bytes : 1); }
int golem_cuda_host_free(void *ptr) { return (int)cudaFreeHost(ptr); }
int golem_cuda_mem_info(size_t *free_bytes, size_t *total_bytes) { return (int)cudaMemGetInfo(free_bytes, total_bytes); }

int golem_cuda_stream_create(void **stream) {
	cudaStream_t s;
	GOLEM_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	*stream = (void *)s;
	return 0;
}
int golem_cuda_stream_destroy(void *stream) { return (int)cudaStreamDestroy(GOLEM_STREAM(stream)); }
int golem_cuda_stream_sync(void *stream) { return (int)cudaStreamSynchronize(GOLEM_STREAM(stream)); }
int golem_cuda_last_error(void) { return (int)cudaGetLastError(); }

int golem_cuda_memset_async(void *dst, int value, size_t bytes, void *stream) {
	return (int)cudaMemsetAsync(dst, value, bytes, GOLEM_STREAM(stream));
}
int golem_cuda_h2d_async(void *dst, const void *src, size_t bytes, void *stream) {
	return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, GOLEM_STREAM(stream));
}
int golem_cuda_d2h_async(void *dst, const void *src, size_t bytes, void *stream) {
	return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, GOLEM_STREAM(stream));
}
int golem_cuda_d2d_async(void *dst, const void *src, size_t bytes, void *stream) {
	return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, GOLEM_STREAM(stream));
}

int golem_cuda_blas_create(void **handle, void *stream) {
	cublasHandle_t h;
	cublasStatus_t st = cublasCreate(&h);
	if (st != CUBLAS_STATUS_SUCCESS) return GOLEM_CUBLAS_BASE + (int)st;
	st = cublasSetStream(h, GOLEM_STREAM(stream));
	if (st != CUBLAS_STATUS_SUCCESS) {
		cublasDestroy(h);
		return GOLEM_CUBLAS_BASE + (int)st;
	}
	*handle = (void *)h;
	return 0;
}

int golem_cuda_blas_destroy(void *handle) {
	cublasStatus_t st = cublasDestroy((cublasHandle_t)handle);
	return st == CUBLAS_STATUS_SUCCESS ? 0 : GOLEM_CUBLAS_BASE + (int)st;
}

} // extern "C"
