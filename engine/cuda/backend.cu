/*
 * backend.cu - the CUDA backend object: device selection, the error path, memory
 * operations, weight upload (or on-device random weights), scratch, and the table of op
 * entries that forward.c calls.
 *
 * Memory model: every buffer of the forward pass and every weight lives in device memory
 * allocated here; all work is queued on one stream in submission order; get() is the
 * only operation that waits for the device. Weights are uploaded once, in their stored
 * format (1-D vectors as the fp32 copies model.c made); nothing is dequantised.
 */
#include "common.cuh"
#include "ops.cuh"

#include <string.h>

extern "C" void dsv4_cuda_fail(const char *stmt, const char *file, int line, cudaError_t e)
{
    fprintf(stderr, "dsv4: CUDA error: %s (%s) in %s at %s:%d\n", cudaGetErrorString(e), cudaGetErrorName(e), stmt,
            file, line);
    fflush(stderr);
    abort();
}

void *dsv4_cuda_scratch(struct dsv4_cuda *c, size_t bytes)
{
    if (bytes <= c->scratch_cap) return c->scratch;
    size_t cap = c->scratch_cap ? c->scratch_cap : (size_t)1 << 20;
    while (cap < bytes) cap *= 2;
    if (c->scratch) { /* queued work may still read the old buffer */
        CUDA_CHECK(cudaStreamSynchronize(c->stream));
        CUDA_CHECK(cudaFree(c->scratch));
    }
    c->scratch = NULL;
    c->scratch_cap = 0;
    CUDA_CHECK(cudaMalloc(&c->scratch, cap));
    c->scratch_cap = cap;
    return c->scratch;
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void cu_destroy(struct dsv4_backend *b)
{
    struct dsv4_cuda *c = CU(b);
    if (!c) return;
    if (c->stream) CUDA_CHECK(cudaStreamSynchronize(c->stream));
    for (int i = 0; i < c->n_weights; i++) CUDA_CHECK(cudaFree(c->weights[i]));
    free(c->weights);
    if (c->scratch) CUDA_CHECK(cudaFree(c->scratch));
    if (c->iq2_grid) CUDA_CHECK(cudaFree(c->iq2_grid));
    if (c->iq2_signs) CUDA_CHECK(cudaFree(c->iq2_signs));
    if (c->stream) CUDA_CHECK(cudaStreamDestroy(c->stream));
    free(c);
}

static void *cu_alloc(struct dsv4_backend *b, size_t n)
{
    void *p = NULL;
    const cudaError_t e = cudaMalloc(&p, n ? n : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* clear it: out of memory is the caller's to report */
        return NULL;
    }
    CUDA_CHECK(e);
    CUDA_CHECK(cudaMemsetAsync(p, 0, n ? n : 1, CU(b)->stream));
    return p;
}

static void cu_free(struct dsv4_backend *b, void *p)
{
    if (!p) return;
    CUDA_CHECK(cudaStreamSynchronize(CU(b)->stream));
    CUDA_CHECK(cudaFree(p));
}

static void cu_set(struct dsv4_backend *b, void *dst, const void *host, size_t n)
{
    if (n) CUDA_CHECK(cudaMemcpyAsync(dst, host, n, cudaMemcpyHostToDevice, CU(b)->stream));
}

static void cu_get(struct dsv4_backend *b, void *host, const void *src, size_t n)
{
    if (n) CUDA_CHECK(cudaMemcpyAsync(host, src, n, cudaMemcpyDeviceToHost, CU(b)->stream));
    CUDA_CHECK(cudaStreamSynchronize(CU(b)->stream));
}

static void cu_copy(struct dsv4_backend *b, void *dst, const void *src, size_t n)
{
    if (n) CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, CU(b)->stream));
}

/* ---- random weights (full-size speed runs without the weights on disk) -------------------------- */

static __host__ __device__ inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static __device__ inline float unit24(uint64_t h) { return (float)(h >> 40) * 0x1p-24f; }

/* Random 32-bit words over the whole tensor. */
__global__ void rand_words_kernel(uint32_t *p, int64_t nwords, uint64_t key)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < nwords) p[i] = (uint32_t)mix64(key + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
}

/* Make the random bytes of each block a valid block of weights with standard deviation
 * about `target` (the scales are what matter; quants stay random). */
__global__ void fix_blocks_kernel(uint8_t *base, int type, int64_t nb, int bb, float target, uint64_t key)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nb) return;
    uint8_t *b = base + i * bb;
    const float unit = type == DSV4_TYPE_Q8_0 ? 73.6f : type == DSV4_TYPE_IQ2_XXS ? 67.0f : type == DSV4_TYPE_Q2_K ? 13.9f : 257.0f;
    float d = target / unit * (0.5f + unit24(mix64(key ^ (uint64_t)i * 0xd1b54a32d192ed03ull)));
    if (d < 6.2e-5f) d = 6.2e-5f;
    const uint16_t dh = __half_as_ushort(__float2half_rn(d));
    switch (type) {
    case DSV4_TYPE_Q8_0:
        b[0] = (uint8_t)dh;
        b[1] = (uint8_t)(dh >> 8);
        for (int k = 2; k < 34; k++)
            if (b[k] == 0x80) b[k] = 0x81;
        break;
    case DSV4_TYPE_IQ2_XXS:
        b[0] = (uint8_t)dh;
        b[1] = (uint8_t)(dh >> 8);
        break;
    case DSV4_TYPE_Q2_K: {
        const uint16_t dm = __half_as_ushort(__float2half_rn(1.5f * d));
        b[80] = (uint8_t)dh;
        b[81] = (uint8_t)(dh >> 8);
        b[82] = (uint8_t)dm;
        b[83] = (uint8_t)(dm >> 8);
        break;
    }
    case DSV4_TYPE_Q4_K: {
        const uint16_t dm = __half_as_ushort(__float2half_rn(7.5f * d));
        b[0] = (uint8_t)dh;
        b[1] = (uint8_t)(dh >> 8);
        b[2] = (uint8_t)dm;
        b[3] = (uint8_t)(dm >> 8);
        break;
    }
    default: break;
    }
}

/* Approximately normal values (Irwin-Hall of four uniforms) of a plain-type tensor. */
__global__ void rand_plain_kernel(uint8_t *p, int type, int64_t n, float std, uint64_t key)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const uint64_t h = mix64(key + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)), h2 = mix64(h);
    const float s = (float)(h & 0xffff) * 0x1p-16f + (float)((h >> 16) & 0xffff) * 0x1p-16f +
                    (float)((h2 >> 32) & 0xffff) * 0x1p-16f + (float)(h2 >> 48) * 0x1p-16f;
    const float v = (s - 2.0f) * 1.7320508f * std;
    if (type == DSV4_TYPE_F32) ((float *)p)[i] = v;
    else if (type == DSV4_TYPE_F16) ((__half *)p)[i] = __float2half_rn(v);
    else ((uint16_t *)p)[i] = (uint16_t)(__float_as_uint(v) >> 16);
}

/* Hash-routing table [k, V]: k distinct experts per token. */
__global__ void rand_tid_kernel(int32_t *p, int64_t k, int64_t V, int64_t nb1_elems, int E, uint64_t key)
{
    const int64_t v = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (v >= V) return;
    const int64_t e0 = (int64_t)(mix64(key ^ (uint64_t)v) % (uint64_t)E);
    for (int64_t j = 0; j < k; j++) p[v * nb1_elems + j] = (int32_t)((e0 + j) % E);
}

static float host_normal(uint64_t *st)
{
    float s = 0;
    for (int i = 0; i < 4; i++) {
        *st = mix64(*st + 0x9e3779b97f4a7c15ull);
        s += (float)(*st >> 40) * 0x1p-24f;
    }
    return (s - 2.0f) * 1.7320508f;
}

static uint64_t name_key(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return mix64(seed ^ h);
}

/* Fill t (device memory at dst, nbytes) with random weights of its type. */
static void random_tensor(struct dsv4_cuda *c, const struct dsv4_model *m, const struct dsv4_tensor *t, void *dst,
                          size_t nbytes, float *host1d)
{
    const uint64_t key = name_key(c->random_seed, t->name);
    cudaStream_t s = c->stream;
    if (t->f32) { /* 1-D vectors: norms near 1, HC scales near 1, the rest small */
        const char *n = t->name;
        float mean = 0, sd = 0.1f;
        if (strstr(n, "norm")) mean = 1;
        else if (strstr(n, "hc_") && strstr(n, "scale")) mean = 1, sd = 0.2f;
        else if (strstr(n, "base") || strstr(n, "sinks")) sd = 0.5f;
        uint64_t st = key;
        for (int64_t i = 0; i < t->ne[0]; i++) host1d[i] = mean + sd * host_normal(&st);
        CUDA_CHECK(cudaMemcpyAsync(dst, host1d, (size_t)t->ne[0] * sizeof(float), cudaMemcpyHostToDevice, s));
        return;
    }
    if (t->type == DSV4_TYPE_I32) {
        const int64_t V = t->ne[1];
        CUDA_LAUNCH(rand_tid_kernel<<<nblocks(V, 256), 256, 0, s>>>((int32_t *)dst, t->ne[0], V,
                                                                     (int64_t)(t->nb1 / 4), (int)m->hp.n_expert, key));
        return;
    }
    const float target = 1.0f / sqrtf((float)t->ne[0]);
    if (is_plain(t->type)) {
        const float sd = !strcmp(t->name, "token_embd.weight") ? 1.0f : strstr(t->name, "_ape") ? 0.5f : target;
        const int64_t n = (int64_t)(nbytes / (t->type == DSV4_TYPE_F32 ? 4 : 2));
        CUDA_LAUNCH(rand_plain_kernel<<<nblocks(n, 256), 256, 0, s>>>((uint8_t *)dst, (int)t->type, n, sd, key));
        return;
    }
    const struct dsv4_type_info *ti = dsv4_type_get(t->type);
    const int64_t nwords = (int64_t)((nbytes + 3) / 4), nb = (int64_t)(nbytes / (size_t)ti->block_bytes);
    CUDA_LAUNCH(rand_words_kernel<<<nblocks(nwords, 256), 256, 0, s>>>((uint32_t *)dst, nwords, key));
    CUDA_LAUNCH(fix_blocks_kernel<<<nblocks(nb, 256), 256, 0, s>>>((uint8_t *)dst, (int)t->type, nb, ti->block_bytes,
                                                                    target, mix64(key + 1)));
}

/* ---- weights --------------------------------------------------------------------------------- */

static int cu_load_weights(struct dsv4_backend *b, struct dsv4_model *m,
                           void (*progress)(void *ud, size_t done, size_t total), void *ud, char *err, size_t errlen)
{
    struct dsv4_cuda *c = CU(b);
    size_t total = 0, done = 0, max1d = 1;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct dsv4_tensor *t = &m->tensors[i];
        total += t->f32 ? (size_t)t->ne[0] * sizeof(float) : t->nbytes;
        if (t->f32 && (size_t)t->ne[0] > max1d) max1d = (size_t)t->ne[0];
    }
    float *host1d = (float *)malloc(max1d * sizeof(float));
    if (!host1d) {
        snprintf(err, errlen, "cuda: out of host memory");
        return -1;
    }
    size_t last = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        struct dsv4_tensor *t = &m->tensors[i];
        const size_t bytes = t->f32 ? (size_t)t->ne[0] * sizeof(float) : t->nbytes;
        void *p = NULL;
        /* padded to whole 16-byte words: the decoders read rows with vector loads */
        const cudaError_t e = cudaMalloc(&p, (bytes + 255) & ~(size_t)255);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            size_t fr = 0, tot = 0;
            cudaMemGetInfo(&fr, &tot);
            snprintf(err, errlen, "cuda: cannot allocate %zu bytes for %s (%s; %.1f of %.1f GiB free)", bytes, t->name,
                     cudaGetErrorString(e), fr / 1073741824.0, tot / 1073741824.0);
            free(host1d);
            return -1;
        }
        if (c->n_weights == c->cap_weights) {
            c->cap_weights = c->cap_weights ? 2 * c->cap_weights : 1024;
            void **q = (void **)realloc(c->weights, (size_t)c->cap_weights * sizeof *q);
            if (!q) {
                cudaFree(p);
                free(host1d);
                snprintf(err, errlen, "cuda: out of host memory");
                return -1;
            }
            c->weights = q;
        }
        c->weights[c->n_weights++] = p;
        if (c->random_seed) random_tensor(c, m, t, p, bytes, host1d);
        else /* on the stream: later operations are ordered after the upload (pageable sources
              * are staged before the call returns) */
            CUDA_CHECK(cudaMemcpyAsync(p, t->f32 ? (const void *)t->f32 : t->data, bytes, cudaMemcpyHostToDevice,
                                       c->stream));
        t->bdata = p;
        done += bytes;
        if (progress && (done - last > ((size_t)256 << 20) || i + 1 == m->n_tensors)) {
            progress(ud, done, total);
            last = done;
        }
    }
    free(host1d);
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}

/* ---- the backend ----------------------------------------------------------------------------- */

static const struct dsv4_backend_ops CUDA_OPS = {
    .name = "cuda",
    .destroy = cu_destroy,
    .alloc = cu_alloc,
    .free = cu_free,
    .set = cu_set,
    .get = cu_get,
    .copy = cu_copy,
    .fill = dsv4_cuda_op_fill,
    .load_weights = cu_load_weights,
    .get_rows = dsv4_cuda_op_get_rows,
    .matmul = dsv4_cuda_op_matmul,
    .rms_norm = dsv4_cuda_op_rms_norm,
    .rope = dsv4_cuda_op_rope,
    .hc_expand = dsv4_cuda_op_hc_expand,
    .hc_pre = dsv4_cuda_op_hc_pre,
    .hc_post = dsv4_cuda_op_hc_post,
    .hc_head = dsv4_cuda_op_hc_head,
    .compress = dsv4_cuda_op_compress,
    .indexer_topk = dsv4_cuda_op_indexer_topk,
    .attention = dsv4_cuda_op_attention,
    .route = dsv4_cuda_op_route,
    .moe = dsv4_cuda_op_moe,
    .swiglu = dsv4_cuda_op_swiglu,
    .add = dsv4_cuda_op_add,
    .scale = dsv4_cuda_op_scale,
    .fp8_round = dsv4_cuda_op_fp8_round,
    .fp4_hadamard = dsv4_cuda_op_fp4_hadamard,
    .sample = dsv4_cuda_op_sample,
};

extern "C" struct dsv4_backend *dsv4_backend_cuda_new(const struct dsv4_cuda_params *p, char *err, size_t errlen)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(err, errlen, "cuda: no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        (void)cudaGetLastError();
        return NULL;
    }
    const int dev = p ? p->device : 0;
    if (dev < 0 || dev >= count) {
        snprintf(err, errlen, "cuda: device %d does not exist (%d present)", dev, count);
        return NULL;
    }
    struct dsv4_cuda *c = (struct dsv4_cuda *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "cuda: out of host memory");
        return NULL;
    }
    c->device = dev;
    c->random_seed = p ? p->random_seed : 0;
    CUDA_CHECK(cudaSetDevice(dev));
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaMalloc(&c->iq2_grid, 256 * sizeof(uint64_t)));
    CUDA_CHECK(cudaMalloc(&c->iq2_signs, 128));
    CUDA_CHECK(cudaMemcpy(c->iq2_grid, dsv4_iq2xxs_grid, 256 * sizeof(uint64_t), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(c->iq2_signs, dsv4_ksigns_iq2xs, 128, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaDeviceSynchronize()); /* the tables are read by kernels on c->stream */
    c->base.ops = &CUDA_OPS;
    c->base.impl = c;
    return &c->base;
}

extern "C" int dsv4_cuda_describe(int device, char *out, size_t len)
{
    cudaDeviceProp pr;
    if (cudaGetDeviceProperties(&pr, device) != cudaSuccess) {
        (void)cudaGetLastError();
        return -1;
    }
    snprintf(out, len, "%s (sm_%d%d, %d SMs, %.1f GiB)", pr.name, pr.major, pr.minor, pr.multiProcessorCount,
             pr.totalGlobalMem / 1073741824.0);
    return 0;
}
