/* fleet-bench: the ONNX Runtime side, through ORT's C API loaded with dlopen
 * (building fleet-bench never needs ORT; without the library or the exported
 * bundle the side is "not available" and the bench goes on).
 *
 * The bundle (tools/fleet-bench/ort_export.py, manifest.txt) holds one ONNX
 * file per net and input shape, exported from the same reference modules the
 * PyTorch side traces, and the network inputs the PyTorch side times. A
 * session per file: 1 inter-op thread, T intra-op threads (the thread count
 * being timed), graph optimisation level ALL, the CPU provider.
 *
 * Timed per item like torch_bench.py: detect = P-Net on each pyramid level,
 * R-Net on the crop batch, O-Net on the crop batch of one image (forwards
 * only); embed = MobileFaceNet; vq_encode = encoder + nearest codeword (here,
 * in C); vq_decode = codeword lookup of this side's own indices + decoder.
 * Input tensors wrap buffers made beforehand (untimed); ORT allocates the
 * outputs, released inside the timed region.
 *
 * Agreement: on every bundle input, our XNNPACK net (lib/nn, the .ffn file)
 * against ORT's outputs and against the frozen PyTorch graphs' outputs
 * (cosine of all outputs of a call, concatenated; the minimum per stage). */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "fleet_bench.h"
#include "ort_api.h"

#define ORT_MAX_OUT 4
#define ORT_NETS 6

static const char *const net_name[ORT_NETS] = { "pnet", "rnet", "onet", "mobilefacenet",
						 "vq.enc", "vq.dec" };
static const char *const out_name[ORT_MAX_OUT] = { "out0", "out1", "out2", "out3" };

struct ort_call {
	int stage, item, net;
	char onnx[256];
	ff_shape shape;
	float *in, *ref, *buf; /* bundle input, PyTorch's outputs, the tensor's data */
	size_t in_n, ref_n;
	OrtValue *val;
	OrtSession *sess; /* borrowed from ort_run.sess */
};

struct ort_run {
	struct fb_ort api;
	const struct fb_opts *o;
	struct ort_call *call;
	int n, nfull, nal;
	ff_model *model[ORT_NETS];
	const float *codebook; /* [codebook_size][code_dim], from the VQ encoder's .ffn */
	int cb_size, cb_dim;
	uint16_t *idx; /* nal * FB_ORT_MAX_CODES: this side's codes per face */
	OrtEnv *env;
	OrtMemoryInfo *mem;
	struct {
		char name[256];
		OrtSession *s;
	} sess[64];
	int nsess;
	char *why;
	size_t whylen;
};

#define FB_ORT_MAX_CODES 4096

static int fail(struct ort_run *r, const char *what, const char *detail)
{
	snprintf(r->why, r->whylen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

/* A non-NULL status is an error: its message to r->why, released. */
static int ort_ok(struct ort_run *r, OrtStatus *s, const char *what)
{
	if (!s)
		return 0;
	fail(r, what, r->api.GetErrorMessage(s));
	r->api.ReleaseStatus(s);
	return -1;
}

#define BIND(a, f, api) memcpy(&(a)->f, &(api)[FB_ORT_##f], sizeof((a)->f))

/* dlopen + GetApi + the typed entries; the status round trip checks that the
 * table is laid out as ort_api.h says. 1 when the library is not usable. */
static int ort_load(struct ort_run *r, const char *lib)
{
	const struct fb_ort_api_base *(*get_base)(void);
	const struct fb_ort_api_base *base;
	const fb_ort_fn *api;
	struct fb_ort *a = &r->api;
	OrtStatus *s;
	int ok;

	if (!(a->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL)))
		return fail(r, "cannot load the ONNX Runtime library", dlerror()), 1;
	*(void **)&get_base = dlsym(a->dl, "OrtGetApiBase");
	if (!get_base || !(base = get_base()) || !(api = base->GetApi(FB_ORT_API_VERSION)))
		return fail(r, lib, "no OrtGetApiBase or no C API version " "30"), 1;
	a->version = base->GetVersionString();
	BIND(a, CreateStatus, api), BIND(a, GetErrorCode, api), BIND(a, GetErrorMessage, api);
	BIND(a, CreateEnv, api), BIND(a, CreateSession, api), BIND(a, Run, api);
	BIND(a, CreateSessionOptions, api), BIND(a, SetSessionGraphOptimizationLevel, api);
	BIND(a, SetIntraOpNumThreads, api), BIND(a, SetInterOpNumThreads, api);
	BIND(a, CreateTensorWithDataAsOrtValue, api), BIND(a, GetTensorMutableData, api);
	BIND(a, GetTensorShapeElementCount, api), BIND(a, GetTensorTypeAndShape, api);
	BIND(a, CreateCpuMemoryInfo, api), BIND(a, ReleaseEnv, api), BIND(a, ReleaseStatus, api);
	BIND(a, ReleaseMemoryInfo, api), BIND(a, ReleaseSession, api), BIND(a, ReleaseValue, api);
	BIND(a, ReleaseTensorTypeAndShapeInfo, api), BIND(a, ReleaseSessionOptions, api);
	s = a->CreateStatus(FB_ORT_FAIL, "fleet-bench probe");
	ok = s && a->GetErrorCode(s) == FB_ORT_FAIL &&
	     !strcmp(a->GetErrorMessage(s), "fleet-bench probe");
	if (s)
		a->ReleaseStatus(s);
	if (!ok)
		return fail(r, lib, "its C API table is not laid out as ort_api.h declares"), 1;
	if (ort_ok(r, a->CreateEnv(FB_ORT_LOGGING_ERROR, "fleet-bench", &r->env), "CreateEnv") ||
	    ort_ok(r, a->CreateCpuMemoryInfo(FB_ORT_DEVICE_ALLOCATOR, FB_ORT_MEM_DEFAULT, &r->mem),
		   "CreateCpuMemoryInfo"))
		return -1;
	return 0;
}

/* The whole file as floats; *n its count. NULL on error. */
static float *read_f32(const char *dir, const char *rel, size_t *n)
{
	char p[4600];
	struct stat st;
	float *v = NULL;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (stat(p, &st) != 0 || st.st_size <= 0 || st.st_size % 4 || !(f = fopen(p, "rb")))
		return NULL;
	*n = (size_t)st.st_size / 4;
	if ((v = malloc((size_t)st.st_size)) && fread(v, 4, *n, f) != *n) {
		free(v);
		v = NULL;
	}
	fclose(f);
	return v;
}

static int find_name(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

/* One "call" line into c (its files read). 0, or -1 with a reason. */
static int parse_call(struct ort_run *r, const char *dir, const char *line, struct ort_call *c)
{
	char stage[32], net[32], in[256], ref[256];
	unsigned d[4] = { 1, 1, 1, 1 };
	int rank;

	if (sscanf(line, "call %31s %d %31s %255s %255s %255s %d %u %u %u %u", stage, &c->item, net,
		   c->onnx, in, ref, &rank, &d[0], &d[1], &d[2], &d[3]) != 11 || rank != 4 ||
	    (c->stage = find_name(fb_stage_name, FB_NSTAGES, stage)) < 0 ||
	    (c->net = find_name(net_name, ORT_NETS, net)) < 0 || c->item < 0)
		return fail(r, "bad manifest line", line);
	c->shape.rank = 4;
	memcpy(c->shape.dims, d, sizeof(d));
	if (!(c->in = read_f32(dir, in, &c->in_n)) || c->in_n != ff_shape_numel(&c->shape) ||
	    !(c->ref = read_f32(dir, ref, &c->ref_n)) || !(c->buf = malloc(c->in_n * 4)))
		return fail(r, "unreadable or wrong-sized bundle file", in);
	memcpy(c->buf, c->in, c->in_n * 4);
	return 0;
}

/* manifest.txt's header against this run: the same faces, counts, VQ model. */
static int check_header(struct ort_run *r, FILE *f, const char *vq_id)
{
	char line[4600], faces[4200], want[4200] = "", vq[64];
	int nfull, nal;

	if (!fgets(line, sizeof(line), f) || strncmp(line, "fleet-bench-ort 1", 17) ||
	    !fgets(line, sizeof(line), f) || sscanf(line, "faces %4199s", faces) != 1 ||
	    !fgets(line, sizeof(line), f) || sscanf(line, "vq_model %63s", vq) != 1 ||
	    !fgets(line, sizeof(line), f) || sscanf(line, "counts %d %d", &nfull, &nal) != 2)
		return fail(r, "manifest.txt", "not a fleet-bench-ort 1 manifest"), 1;
	if (!realpath(r->o->faces, want) || strcmp(want, faces) || nfull != r->nfull ||
	    nal != r->nal)
		return fail(r, "the bundle was exported for other faces", faces), 1;
	if (r->o->vq && strcmp(vq, vq_id))
		return fail(r, "the bundle was exported for another VQ model", vq), 1;
	return 0;
}

/* Reads DIR/manifest.txt and its files. 0, 1 (missing or for other inputs), -1. */
static int load_bundle(struct ort_run *r, const char *dir, const char *vq_id)
{
	char p[4400], line[1200];
	FILE *f;
	int rc;

	snprintf(p, sizeof(p), "%s/manifest.txt", dir);
	if (!(f = fopen(p, "r")))
		return fail(r, "no exported models", p), 1;
	rc = check_header(r, f, vq_id);
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		struct ort_call *c;
		line[strcspn(line, "\n")] = 0;
		if (!(c = realloc(r->call, sizeof(*c) * (size_t)(r->n + 1)))) {
			rc = fail(r, "out of memory", NULL);
			break;
		}
		r->call = c;
		memset(&c[r->n], 0, sizeof(*c));
		rc = parse_call(r, dir, line, &c[r->n++]);
		if (rc == 0 && c[r->n - 1].stage >= FB_VQ_ENCODE && !r->o->vq)
			free(c[r->n - 1].in), free(c[r->n - 1].ref), free(c[r->n - 1].buf), r->n--;
	}
	fclose(f);
	return rc == 0 && r->n == 0 ? (fail(r, p, "no calls"), 1) : rc;
}

/* Our .ffn of each net the bundle uses, and the VQ codebook. 0 or -1. */
static int load_models(struct ort_run *r, const char *models_dir)
{
	char p[4400], err[256] = "";
	ff_shape cs;
	ff_nn_options nopt = FF_NN_OPTIONS_INIT;

	for (int i = 0; i < r->n; i++) {
		int k = r->call[i].net;
		if (r->model[k])
			continue;
		if (k >= 4)
			snprintf(p, sizeof(p), "%s.%s.ffn", r->o->vq, k == 4 ? "enc" : "dec");
		else
			snprintf(p, sizeof(p), "%s/%s.ffn", models_dir, net_name[k]);
		if (ff_model_load(p, &nopt, &r->model[k], err, sizeof(err)) != FF_OK)
			return fail(r, p, err);
	}
	if (!r->model[4])
		return 0;
	if (ff_model_constant(r->model[4], "codebook", &r->codebook, &cs) != FF_OK || cs.rank < 1)
		return fail(r, "the VQ encoder has no codebook", NULL);
	r->cb_dim = atoi(ff_model_meta(r->model[4], "code_dim") ? ff_model_meta(r->model[4], "code_dim") : "0");
	if (r->cb_dim <= 0 || ff_shape_numel(&cs) % (size_t)r->cb_dim)
		return fail(r, "the VQ encoder's code_dim does not divide its codebook", NULL);
	r->cb_size = (int)(ff_shape_numel(&cs) / (size_t)r->cb_dim);
	r->idx = calloc((size_t)r->nal * FB_ORT_MAX_CODES, sizeof(*r->idx));
	return r->idx ? 0 : fail(r, "out of memory", NULL);
}

static OrtSession *session(struct ort_run *r, const char *dir, const char *onnx, int threads)
{
	struct fb_ort *a = &r->api;
	OrtSessionOptions *so = NULL;
	OrtSession *s = NULL;
	char p[4600];

	for (int i = 0; i < r->nsess; i++)
		if (!strcmp(r->sess[i].name, onnx))
			return r->sess[i].s;
	if (r->nsess == (int)(sizeof(r->sess) / sizeof(r->sess[0])))
		return fail(r, "more ONNX files than sessions", onnx), NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, onnx);
	if (ort_ok(r, a->CreateSessionOptions(&so), "CreateSessionOptions") ||
	    ort_ok(r, a->SetIntraOpNumThreads(so, threads), "SetIntraOpNumThreads") ||
	    ort_ok(r, a->SetInterOpNumThreads(so, 1), "SetInterOpNumThreads") ||
	    ort_ok(r, a->SetSessionGraphOptimizationLevel(so, FB_ORT_ENABLE_ALL), "optimisation") ||
	    ort_ok(r, a->CreateSession(r->env, p, so, &s), p))
		s = NULL;
	a->ReleaseSessionOptions(so);
	if (s) {
		snprintf(r->sess[r->nsess].name, sizeof(r->sess[0].name), "%s", onnx);
		r->sess[r->nsess++].s = s;
	}
	return s;
}

/* Sessions at `threads` intra-op threads and input tensors for every call. */
static int open_sessions(struct ort_run *r, const char *dir, int threads)
{
	for (int i = 0; i < r->n; i++) {
		struct ort_call *c = &r->call[i];
		int64_t d[4];

		for (int k = 0; k < 4; k++)
			d[k] = c->shape.dims[k];
		if (!(c->sess = session(r, dir, c->onnx, threads)) ||
		    ort_ok(r, r->api.CreateTensorWithDataAsOrtValue(r->mem, c->buf, c->in_n * 4, d, 4,
								    FB_ORT_FLOAT, &c->val),
			   "CreateTensorWithDataAsOrtValue"))
			return -1;
	}
	return 0;
}

static void close_sessions(struct ort_run *r)
{
	for (int i = 0; i < r->n; i++) {
		r->api.ReleaseValue(r->call[i].val);
		r->call[i].val = NULL;
	}
	for (int i = 0; i < r->nsess; i++)
		r->api.ReleaseSession(r->sess[i].s);
	r->nsess = 0;
}

/* One forward of c; outs[0..nout) to release by the caller. */
static int forward(struct ort_run *r, struct ort_call *c, OrtValue **outs, unsigned *nout)
{
	static const char *const in_name[1] = { "input" };
	const OrtValue *in[1] = { c->val };

	*nout = ff_model_num_outputs(r->model[c->net]);
	if (*nout > ORT_MAX_OUT)
		return fail(r, c->onnx, "too many outputs");
	memset(outs, 0, sizeof(*outs) * ORT_MAX_OUT);
	return ort_ok(r, r->api.Run(c->sess, NULL, in_name, in, 1, out_name, *nout, outs), c->onnx);
}

static void release(struct ort_run *r, OrtValue **outs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		r->api.ReleaseValue(outs[i]);
}

/* Nearest codeword (squared distance, ties to the lowest index) of each code. */
static void nearest(const struct ort_run *r, const float *lat, size_t n, uint16_t *idx)
{
	for (size_t k = 0; k < n && k < FB_ORT_MAX_CODES; k++) {
		float best = INFINITY;
		for (int j = 0; j < r->cb_size; j++) {
			const float *cw = r->codebook + (size_t)j * (size_t)r->cb_dim;
			float d = 0;
			for (int t = 0; t < r->cb_dim; t++)
				d += (lat[k * (size_t)r->cb_dim + t] - cw[t]) *
				     (lat[k * (size_t)r->cb_dim + t] - cw[t]);
			if (d < best) {
				best = d;
				idx[k] = (uint16_t)j;
			}
		}
	}
}

/* One timed call: vq_decode first looks its codes up into the input buffer,
 * vq_encode finds its codes after the forward. */
static int run_call(struct ort_run *r, struct ort_call *c)
{
	OrtValue *outs[ORT_MAX_OUT];
	uint16_t *idx = r->idx + (size_t)c->item * FB_ORT_MAX_CODES;
	size_t ncodes = c->in_n / (size_t)(r->cb_dim > 0 ? r->cb_dim : 1);
	unsigned n;
	int rc;

	if (c->stage == FB_VQ_DECODE)
		for (size_t k = 0; k < ncodes && k < FB_ORT_MAX_CODES; k++)
			memcpy(c->buf + k * (size_t)r->cb_dim,
			       r->codebook + (size_t)idx[k] * (size_t)r->cb_dim,
			       sizeof(float) * (size_t)r->cb_dim);
	rc = forward(r, c, outs, &n);
	if (rc == 0 && c->stage == FB_VQ_ENCODE) {
		void *lat;
		size_t cnt;
		OrtTensorTypeAndShapeInfo *ti = NULL;
		rc = ort_ok(r, r->api.GetTensorMutableData(outs[0], &lat), "GetTensorMutableData") ||
		     ort_ok(r, r->api.GetTensorTypeAndShape(outs[0], &ti), "GetTensorTypeAndShape") ||
		     ort_ok(r, r->api.GetTensorShapeElementCount(ti, &cnt), "element count");
		r->api.ReleaseTensorTypeAndShapeInfo(ti);
		if (rc == 0)
			nearest(r, lat, cnt / (size_t)r->cb_dim, idx);
	}
	release(r, outs, n);
	return rc;
}

/* --warmup + --runs passes; st[stage] median/p90 per item (ms). */
static int time_side(struct ort_run *r, double *v, struct fb_stat *st)
{
	int nitems[FB_NSTAGES] = { 0 }, k[FB_NSTAGES] = { 0 };
	double *sv[FB_NSTAGES];

	for (int i = 0; i < r->n; i++)
		if (i == 0 || r->call[i].item != r->call[i - 1].item ||
		    r->call[i].stage != r->call[i - 1].stage)
			nitems[r->call[i].stage]++;
	sv[0] = v;
	for (int s = 1; s < FB_NSTAGES; s++)
		sv[s] = sv[s - 1] + (size_t)r->o->runs * (size_t)nitems[s - 1];
	for (int p = 0; p < r->o->warmup + r->o->runs; p++)
		for (int i = 0; i < r->n;) {
			int j = i, s = r->call[i].stage;
			double t0 = (double)ff_mono_us();
			for (; j < r->n && r->call[j].stage == s && r->call[j].item == r->call[i].item; j++)
				if (run_call(r, &r->call[j]) != 0)
					return -1;
			if (p >= r->o->warmup)
				sv[s][k[s]++] = ((double)ff_mono_us() - t0) / 1e3;
			i = j;
		}
	for (int s = 0; s < FB_NSTAGES; s++)
		st[s] = fb_stat_of(sv[s], k[s]);
	return 0;
}

static double cosine(const float *a, const float *b, size_t n)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

/* Our net's outputs on c's input, concatenated into *out (malloc'd). */
static int ours(struct ort_run *r, const struct ort_call *c, float **out, size_t *n)
{
	ff_nn_options nopt = FF_NN_OPTIONS_INIT;
	const ff_model *m = r->model[c->net];
	ff_net *net = NULL;
	ff_shape sh;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (ff_net_create(m, &c->shape, &nopt, &net) != FF_OK)
		return fail(r, c->onnx, "our net cannot take this shape");
	memcpy(ff_net_input(net, 0, NULL), c->in, c->in_n * 4);
	if (ff_net_run(net) != FF_OK || !(*out = malloc(c->ref_n * 4)))
		goto out;
	for (unsigned i = 0; i < ff_model_num_outputs(m); i++) {
		const float *y = ff_net_output(net, i, &sh);
		if (*n + ff_shape_numel(&sh) > c->ref_n)
			goto out;
		memcpy(*out + *n, y, ff_shape_numel(&sh) * 4);
		*n += ff_shape_numel(&sh);
	}
	rc = *n == c->ref_n ? 0 : -1;
out:
	ff_net_free(net);
	return rc ? fail(r, c->onnx, "our outputs differ in size from PyTorch's") : 0;
}

/* ORT's outputs of c on its bundle input, concatenated into y (ref_n floats). */
static int ort_outputs(struct ort_run *r, struct ort_call *c, float *y)
{
	OrtValue *outs[ORT_MAX_OUT];
	size_t k = 0;
	unsigned n;
	int rc;

	memcpy(c->buf, c->in, c->in_n * 4);
	if ((rc = forward(r, c, outs, &n)) != 0)
		return rc;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		OrtTensorTypeAndShapeInfo *ti = NULL;
		size_t cnt = 0;
		void *d;
		rc = ort_ok(r, r->api.GetTensorMutableData(outs[i], &d), "GetTensorMutableData") ||
		     ort_ok(r, r->api.GetTensorTypeAndShape(outs[i], &ti), "GetTensorTypeAndShape") ||
		     ort_ok(r, r->api.GetTensorShapeElementCount(ti, &cnt), "element count");
		r->api.ReleaseTensorTypeAndShapeInfo(ti);
		if (rc == 0 && k + cnt > c->ref_n)
			rc = fail(r, c->onnx, "ORT's outputs differ in size from PyTorch's");
		if (rc == 0)
			memcpy(y + k, d, cnt * 4), k += cnt;
	}
	release(r, outs, n);
	return rc == 0 && k != c->ref_n ? fail(r, c->onnx, "ORT left outputs out") : rc;
}

/* Minimum cosine per stage, ours vs ORT and ours vs PyTorch, over all calls. */
static int check(struct ort_run *r, struct fb_ort_result *res)
{
	for (int s = 0; s < FB_NSTAGES; s++)
		res->vs_ort[s] = res->vs_torch[s] = 2;
	for (int i = 0; i < r->n; i++) {
		struct ort_call *c = &r->call[i];
		float *a = NULL, *y = malloc(c->ref_n * 4);
		size_t n;
		int rc = y ? ours(r, c, &a, &n) : fail(r, "out of memory", NULL);

		if (rc == 0)
			rc = ort_outputs(r, c, y);
		if (rc == 0) {
			res->vs_ort[c->stage] = fmin(res->vs_ort[c->stage], cosine(a, y, n));
			res->vs_torch[c->stage] = fmin(res->vs_torch[c->stage], cosine(a, c->ref, n));
		}
		free(a);
		free(y);
		if (rc)
			return -1;
	}
	return 0;
}

/* Peak RSS (VmHWM) or current RSS (VmRSS) of this process, MiB; the peak is
 * reset to the current RSS by writing 5 to /proc/self/clear_refs. */
static double status_mb(const char *key)
{
	char line[256];
	double kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), ":%lf", &kb);
	if (f)
		fclose(f);
	return kb / 1024.0;
}

static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static int time_threads(struct ort_run *r, const char *dir, struct fb_ort_result *res)
{
	double *v = malloc(sizeof(double) * (size_t)r->o->runs * (size_t)r->n);
	double base = status_mb("VmRSS");
	int rc = v ? 0 : fail(r, "out of memory", NULL);

	reset_peak();
	for (int t = 0; rc == 0 && t < r->o->nthreads; t++) {
		rc = open_sessions(r, dir, r->o->threads[t]);
		if (rc == 0)
			rc = time_side(r, v, res->side.st[t]);
		res->side.peak_rss_mb = fmax(res->side.peak_rss_mb, status_mb("VmHWM") - base);
		if (rc == 0 && t == r->o->nthreads - 1)
			rc = check(r, res);
		close_sessions(r);
	}
	free(v);
	return rc;
}

static void ort_free(struct ort_run *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->call[i].in), free(r->call[i].ref), free(r->call[i].buf);
	free(r->call);
	for (int k = 0; k < ORT_NETS; k++)
		ff_model_free(r->model[k]);
	free(r->idx);
	if (r->mem)
		r->api.ReleaseMemoryInfo(r->mem);
	if (r->env)
		r->api.ReleaseEnv(r->env);
	/* the library stays loaded: ORT's static destructors at dlclose are not needed here */
}

int fb_ort_run(const struct fb_opts *o, const char *models_dir, const char *vq_id, int nfull,
	       int nal, struct fb_ort_result *res)
{
	struct ort_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.o = o;
	r.nfull = nfull;
	r.nal = nal;
	r.why = res->why;
	r.whylen = sizeof(res->why);
	rc = load_bundle(&r, o->ort_dir, vq_id);
	if (rc == 0)
		rc = ort_load(&r, o->ort_lib);
	if (rc == 0) {
		snprintf(res->version, sizeof(res->version), "%s", r.api.version);
		rc = load_models(&r, models_dir);
	}
	if (rc == 0)
		rc = time_threads(&r, o->ort_dir, res);
	res->available = rc == 0;
	ort_free(&r);
	return rc < 0 ? -1 : 0;
}
