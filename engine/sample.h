/*
 * sample.h - next-token sampling from host logits: greedy (temperature 0) or temperature
 * with optional top-k and top-p, from a seeded generator (same seed, same tokens).
 */
#ifndef DSV4_SAMPLE_H
#define DSV4_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_sampler {
    float temp;    /* 0: greedy (ties: lowest id) */
    int top_k;     /* 0: all */
    float top_p;   /* 1: all */
    uint64_t s[4]; /* generator state */
};

/* Initialise with a seed. */
void dsv4_sampler_init(struct dsv4_sampler *s, float temp, int top_k, float top_p, uint64_t seed);

/* Choose a token from n logits. Returns the token id, or -1 if n <= 0 or out of memory. */
int32_t dsv4_sample(struct dsv4_sampler *s, const float *logits, int n);

#ifdef __cplusplus
}
#endif
#endif
