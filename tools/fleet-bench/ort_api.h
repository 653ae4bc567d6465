/* fleet-bench: the part of ONNX Runtime's C API that ort_side.c calls,
 * declared here because the pinned package (npm onnxruntime-node 1.30.0,
 * models/pins-ort.txt) ships libonnxruntime.so but not its header.
 *
 * OrtApi is a struct of function pointers that ONNX Runtime only ever
 * appends to, so an entry's index is fixed from the release that added it.
 * The indices below are those of onnxruntime_c_api.h (checked against the
 * 1.x header: entries 0..100 have not moved since 1.0); ort_side.c reads
 * them from the table GetApi(FB_ORT_API_VERSION) returns and checks four of
 * them at run time (CreateStatus, GetErrorCode, GetErrorMessage,
 * ReleaseStatus round-trip a status) before using any other.
 * Enums are C ints in the ABI. */
#ifndef FB_ORT_API_H
#define FB_ORT_API_H

#include <stddef.h>
#include <stdint.h>

#define FB_ORT_API_VERSION 30 /* ORT_API_VERSION of onnxruntime 1.30 */

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;

typedef void (*fb_ort_fn)(void); /* one OrtApi entry, before it is given its type */

/* OrtApiBase, the struct OrtGetApiBase() returns */
struct fb_ort_api_base {
	const fb_ort_fn *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
};

enum fb_ort_index {
	FB_ORT_CreateStatus = 0,
	FB_ORT_GetErrorCode = 1,
	FB_ORT_GetErrorMessage = 2,
	FB_ORT_CreateEnv = 3,
	FB_ORT_CreateSession = 7,
	FB_ORT_Run = 9,
	FB_ORT_CreateSessionOptions = 10,
	FB_ORT_SetSessionGraphOptimizationLevel = 23,
	FB_ORT_SetIntraOpNumThreads = 24,
	FB_ORT_SetInterOpNumThreads = 25,
	FB_ORT_CreateTensorWithDataAsOrtValue = 49,
	FB_ORT_GetTensorMutableData = 51,
	FB_ORT_GetTensorShapeElementCount = 64,
	FB_ORT_GetTensorTypeAndShape = 65,
	FB_ORT_CreateCpuMemoryInfo = 69,
	FB_ORT_ReleaseEnv = 92,
	FB_ORT_ReleaseStatus = 93,
	FB_ORT_ReleaseMemoryInfo = 94,
	FB_ORT_ReleaseSession = 95,
	FB_ORT_ReleaseValue = 96,
	FB_ORT_ReleaseTensorTypeAndShapeInfo = 99,
	FB_ORT_ReleaseSessionOptions = 100,
};

#define FB_ORT_FAIL 1              /* OrtErrorCode ORT_FAIL */
#define FB_ORT_LOGGING_ERROR 3     /* OrtLoggingLevel ORT_LOGGING_LEVEL_ERROR */
#define FB_ORT_ENABLE_ALL 99       /* GraphOptimizationLevel ORT_ENABLE_ALL */
#define FB_ORT_FLOAT 1             /* ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT */
#define FB_ORT_DEVICE_ALLOCATOR 0  /* OrtAllocatorType OrtDeviceAllocator */
#define FB_ORT_MEM_DEFAULT 0       /* OrtMemType OrtMemTypeDefault */

/* The entries fleet-bench uses, typed (a NULL OrtStatus* is success). */
struct fb_ort {
	void *dl;
	const char *version;
	OrtStatus *(*CreateStatus)(int code, const char *msg);
	int (*GetErrorCode)(const OrtStatus *s);
	const char *(*GetErrorMessage)(const OrtStatus *s);
	OrtStatus *(*CreateEnv)(int level, const char *logid, OrtEnv **out);
	OrtStatus *(*CreateSession)(const OrtEnv *env, const char *path,
				    const OrtSessionOptions *opt, OrtSession **out);
	OrtStatus *(*Run)(OrtSession *s, const void *run_options, const char *const *input_names,
			  const OrtValue *const *inputs, size_t ninputs,
			  const char *const *output_names, size_t noutputs, OrtValue **outputs);
	OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **out);
	OrtStatus *(*SetSessionGraphOptimizationLevel)(OrtSessionOptions *opt, int level);
	OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *opt, int n);
	OrtStatus *(*SetInterOpNumThreads)(OrtSessionOptions *opt, int n);
	OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *info, void *data,
						     size_t bytes, const int64_t *shape,
						     size_t rank, int type, OrtValue **out);
	OrtStatus *(*GetTensorMutableData)(OrtValue *v, void **out);
	OrtStatus *(*GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *i, size_t *out);
	OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *v, OrtTensorTypeAndShapeInfo **out);
	OrtStatus *(*CreateCpuMemoryInfo)(int alloc_type, int mem_type, OrtMemoryInfo **out);
	void (*ReleaseEnv)(OrtEnv *);
	void (*ReleaseStatus)(OrtStatus *);
	void (*ReleaseMemoryInfo)(OrtMemoryInfo *);
	void (*ReleaseSession)(OrtSession *);
	void (*ReleaseValue)(OrtValue *);
	void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *);
	void (*ReleaseSessionOptions)(OrtSessionOptions *);
};

#endif
