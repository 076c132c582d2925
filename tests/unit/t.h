/*
 * t.h - the smallest test harness that reports where a check failed.
 *
 * CHECK(cond) records a failure with file:line and goes on; T_DONE() prints
 * "N passed, N failed" and returns the exit status for main().
 */
#ifndef REMEDY_T_H
#define REMEDY_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (cond) {                                                 \
			t_pass++;                                           \
		} else {                                                    \
			t_fail++;                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",        \
			    __FILE__, __LINE__, #cond);                     \
		}                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *t_a_ = (a), *t_b_ = (b);                        \
		if (t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0) {              \
			t_pass++;                                           \
		} else {                                                    \
			t_fail++;                                           \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\" (%s vs %s)\n", \
			    __FILE__, __LINE__, t_a_ ? t_a_ : "(null)",     \
			    t_b_ ? t_b_ : "(null)", #a, #b);                \
		}                                                           \
	} while (0)

#define CHECK_INT(a, b)                                                     \
	do {                                                                \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);     \
		if (t_a_ == t_b_) {                                         \
			t_pass++;                                           \
		} else {                                                    \
			t_fail++;                                           \
			fprintf(stderr, "%s:%d: %lld != %lld (%s vs %s)\n", \
			    __FILE__, __LINE__, t_a_, t_b_, #a, #b);        \
		}                                                           \
	} while (0)

#define T_DONE()                                                            \
	(printf("%d passed, %d failed\n", t_pass, t_fail), t_fail ? 1 : 0)

#endif
