/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * latency_model - how long the simulated issuer takes to answer: fixed,
 * uniform between two bounds, or long-tailed (log-normal fitted to a median
 * and a 99th percentile), from a seeded generator so runs repeat.
 */
#ifndef PAYGATE_LATENCY_MODEL_H
#define PAYGATE_LATENCY_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum latency_kind { LATENCY_FIXED, LATENCY_UNIFORM, LATENCY_LONGTAIL };

struct latency_model {
	uint8_t kind;
	uint64_t a_ns, b_ns;     /* fixed: a; uniform: [a, b]; longtail: median a */
	double sigma;            /* longtail: log-normal sigma */
	uint64_t rng;
};

/* "fixed:US", "uniform:MIN_US:MAX_US", "longtail:MEDIAN_US:P99_US" */
int latency_parse(struct latency_model *m, const char *spec, uint64_t seed,
		  char *err, size_t err_len);
uint64_t latency_sample_ns(struct latency_model *m);

#endif /* PAYGATE_LATENCY_MODEL_H */
