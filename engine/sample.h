/*
 * sample.h - next-token sampling: greedy (temperature 0) or temperature with optional
 * top-k and top-p, from a seeded generator (same seed, same tokens).
 *
 * The choice is defined so that any backend can make it exactly (backend.h's sample op
 * makes it on the device; sample_math.h holds the shared arithmetic):
 *  1. greedy: the highest logit, ties to the lowest id (NaN counts as -inf); also the
 *     answer when the highest logit is not finite;
 *  2. weights w_i = floor(2^30 exp((l_i - max) / temp)) (integers; see sample_math.h);
 *  3. top-k keeps the first k tokens of the ranking by (weight desc, id asc);
 *  4. top-p (0 < p < 1) keeps the shortest prefix of that ranking whose cumulative weight
 *     reaches p of the top-k total;
 *  5. the kept tokens are walked in id order: the token is the first whose cumulative
 *     weight exceeds draw / 2^53 of the kept total, where draw is 53 uniform bits from the
 *     sampler's xoshiro256** generator (one draw per sampled token, none when greedy).
 * Walking in id order rather than ranking order gives the same distribution, and a small
 * change of the logits (another backend's last bits) moves the chosen token only when the
 * draw lies within that change of a boundary: weights that nearly tie cannot swap places.
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

/* The draw for the next token: 53 uniform bits from the generator when s->temp > 0; 0, with
 * the generator untouched, when greedy. */
uint64_t dsv4_sampler_draw(struct dsv4_sampler *s);

/* Choose a token from n host logits with a given draw (< 2^53), as described above. The
 * logits are not modified. Returns the token id, or -1 if n <= 0, n > 2^23 or out of
 * memory. Thread-safe. */
int32_t dsv4_sample_pick(const float *logits, int n, float temp, int top_k, float top_p, uint64_t draw);

/* Choose a token from n host logits: dsv4_sample_pick with s's settings and
 * dsv4_sampler_draw(s). Returns the token id, or -1 as dsv4_sample_pick. */
int32_t dsv4_sample(struct dsv4_sampler *s, const float *logits, int n);

#ifdef __cplusplus
}
#endif
#endif
