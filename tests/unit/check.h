/* SPDX-License-Identifier: MIT */
/*
 * check.h: the few macros the unit tests share. A failed CHECK prints the
 * file, line, expression and values and counts the failure; CHECK_DONE()
 * makes the exit status (0 all passed, 1 any failed).
 */
#ifndef VDISPL_TEST_CHECK_H
#define VDISPL_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>

static unsigned check_failed;
static unsigned check_passed;

#define CHECK(cond, ...) do { \
	if (cond) { \
		check_passed++; \
	} else { \
		check_failed++; \
		fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, \
			#cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define CHECK_EQ(a, b, what) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	CHECK(check_a_ == check_b_, "%s: got %lld, want %lld", (what), \
	      check_a_, check_b_); \
} while (0)

#define CHECK_DONE(name) do { \
	printf("%s: %u checks passed, %u failed\n", (name), check_passed, \
	       check_failed); \
	return check_failed ? 1 : 0; \
} while (0)

#endif
