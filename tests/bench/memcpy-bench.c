/* SPDX-License-Identifier: MIT */
/*
 * vdispl-bench-memcpy: the physical floor of the copy path. One plain
 * memcpy of a W x H XRGB8888 frame between two MAP_SHARED memfd mappings
 * (what the plugin copies between: the guest's granted pages and a wl_shm
 * buffer), both touched first so that no page fault is timed.
 *
 *   vdispl-bench-memcpy W H [REPS]
 *
 * Prints one line:
 *   memcpy: width=W height=H bytes=B reps=R median_us=X min_us=Y
 *           wall_median_us=Z cold_median_us=C
 * median_us and min_us are thread CPU time, like the plugin's stats, of
 * the same two buffers again and again (hot in the caches: the floor);
 * wall_median_us is CLOCK_MONOTONIC (it includes preemption);
 * cold_median_us cycles through buffer pairs of COLD_BYTES in all, so
 * that the source is not in this core's caches, as for the plugin, which
 * copies what the guest just drew on another core.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define COLD_BYTES (64u << 20)
#define COLD_PAIRS_MAX 64

static uint64_t
ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *
shared_map(size_t size)
{
	int fd = memfd_create("bench-memcpy", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	long w, h, reps = 60;
	uint64_t *cpu, *wall, *cold;
	uint8_t *csrc[COLD_PAIRS_MAX], *cdst[COLD_PAIRS_MAX];
	size_t size, pairs;
	uint8_t *src, *dst;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: vdispl-bench-memcpy W H [REPS]\n");
		return 1;
	}
	w = atol(argv[1]);
	h = atol(argv[2]);
	if (argc == 4) {
		reps = atol(argv[3]);
	}
	if (w < 1 || h < 1 || w > 8192 || h > 8192 || reps < 1 ||
	    reps > 100000) {
		fprintf(stderr, "vdispl-bench-memcpy: bad arguments\n");
		return 1;
	}
	size = (size_t)w * (size_t)h * 4;
	src = shared_map(size);
	dst = shared_map(size);
	cpu = calloc((size_t)reps, sizeof(*cpu));
	wall = calloc((size_t)reps, sizeof(*wall));
	cold = calloc((size_t)reps, sizeof(*cold));
	if (!src || !dst || !cpu || !wall || !cold) {
		perror("vdispl-bench-memcpy");
		return 1;
	}
	memset(src, 0x5a, size);
	memset(dst, 0xa5, size);
	for (long i = 0; i < reps; i++) {
		uint64_t c0 = ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t w0 = ns(CLOCK_MONOTONIC);

		src[(size_t)i % size] = (uint8_t)i;	/* not optimised away */
		memcpy(dst, src, size);
		wall[i] = ns(CLOCK_MONOTONIC) - w0;
		cpu[i] = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	if (dst[(size_t)(reps - 1) % size] != (uint8_t)(reps - 1)) {
		fprintf(stderr, "vdispl-bench-memcpy: copy went wrong\n");
		return 1;
	}

	pairs = COLD_BYTES / (2 * size) + 2;
	if (pairs > COLD_PAIRS_MAX) {
		pairs = COLD_PAIRS_MAX;
	}
	for (size_t i = 0; i < pairs; i++) {
		csrc[i] = shared_map(size);
		cdst[i] = shared_map(size);
		if (!csrc[i] || !cdst[i]) {
			perror("vdispl-bench-memcpy");
			return 1;
		}
		memset(csrc[i], 0x11, size);
		memset(cdst[i], 0x22, size);
	}
	for (long i = 0; i < reps; i++) {
		size_t k = (size_t)i % pairs;
		uint64_t c0 = ns(CLOCK_THREAD_CPUTIME_ID);

		memcpy(cdst[k], csrc[k], size);
		cold[i] = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	qsort(cold, (size_t)reps, sizeof(*cold), cmp_u64);
	qsort(cpu, (size_t)reps, sizeof(*cpu), cmp_u64);
	qsort(wall, (size_t)reps, sizeof(*wall), cmp_u64);
	printf("memcpy: width=%ld height=%ld bytes=%zu reps=%ld median_us=%.1f "
	       "min_us=%.1f wall_median_us=%.1f cold_median_us=%.1f\n", w, h,
	       size, reps, (double)cpu[reps / 2] / 1e3, (double)cpu[0] / 1e3,
	       (double)wall[reps / 2] / 1e3, (double)cold[reps / 2] / 1e3);
	free(cpu);
	free(wall);
	free(cold);
	return 0;
}
