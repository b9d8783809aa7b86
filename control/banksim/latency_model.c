/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_model.h"

/* z-score of the 99th percentile of a standard normal. */
#define Z99 2.3263478740

static uint64_t
next(struct latency_model *m)
{
	/* xorshift64*: small, fast, good enough for delays. */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545F4914F6CDD1DULL;
}

static double
uniform01(struct latency_model *m)
{
	return ((double)(next(m) >> 11) + 0.5) / 9007199254740992.0;
}

int
latency_parse(struct latency_model *m, const char *spec, uint64_t seed,
	      char *err, size_t err_len)
{
	double a = 0, b = 0;
	char kind[16];
	int n = sscanf(spec, "%15[a-z]:%lf:%lf", kind, &a, &b);

	memset(m, 0, sizeof(*m));
	m->rng = seed ? seed * 0x9E3779B97F4A7C15ULL : 0x9E3779B97F4A7C15ULL;
	if (n >= 2 && strcmp(kind, "fixed") == 0 && a >= 0) {
		m->kind = LATENCY_FIXED;
		m->a_ns = (uint64_t)(a * 1000);
		return 0;
	}
	if (n == 3 && strcmp(kind, "uniform") == 0 && a >= 0 && b >= a) {
		m->kind = LATENCY_UNIFORM;
		m->a_ns = (uint64_t)(a * 1000);
		m->b_ns = (uint64_t)(b * 1000);
		return 0;
	}
	if (n == 3 && strcmp(kind, "longtail") == 0 && a > 0 && b > a) {
		m->kind = LATENCY_LONGTAIL;
		m->a_ns = (uint64_t)(a * 1000);
		m->sigma = log(b / a) / Z99;
		return 0;
	}
	snprintf(err, err_len, "'%s': expected fixed:US, uniform:MIN_US:MAX_US "
		 "or longtail:MEDIAN_US:P99_US (P99 > MEDIAN)", spec);
	return -1;
}

uint64_t
latency_sample_ns(struct latency_model *m)
{
	switch (m->kind) {
	case LATENCY_UNIFORM:
		return m->a_ns + (uint64_t)(uniform01(m) * (double)(m->b_ns - m->a_ns));
	case LATENCY_LONGTAIL: {
		/* Box-Muller: one standard normal per call. */
		double z = sqrt(-2.0 * log(uniform01(m))) *
			   cos(2.0 * M_PI * uniform01(m));

		return (uint64_t)((double)m->a_ns * exp(m->sigma * z));
	}
	case LATENCY_FIXED:
	default:
		return m->a_ns;
	}
}
