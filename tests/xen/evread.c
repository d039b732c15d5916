/* SPDX-License-Identifier: MIT */
/*
 * evread: the `xen` suite's input reader in the domU. Waits up to @wait
 * seconds for xen-kbdfront's input devices ("Xen Virtual ..."), prints each
 * with its absolute ranges, then every key and pointer position they
 * report, one line each, for @seconds:
 *   evread: device NAME [abs_x MIN..MAX abs_y MIN..MAX]
 *   evread: key CODE VALUE
 *   evread: pos X Y            (absolute position at each SYN_REPORT)
 *   evread: done events=N
 *
 *   evread SECONDS [WAIT]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_DEVS 8

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens the Xen devices not yet open; returns how many are open. */
static int
scan(int *fds, char (*nodes)[32], int n)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;

	while (d && (e = readdir(d)) && n < MAX_DEVS) {
		char path[300], name[128] = "";
		struct input_absinfo ax, ay;
		bool seen = false;
		int fd;

		if (strncmp(e->d_name, "event", 5) != 0 ||
		    strlen(e->d_name) >= sizeof(nodes[0])) {
			continue;
		}
		for (int i = 0; i < n; i++) {
			seen = seen || strcmp(nodes[i], e->d_name) == 0;
		}
		if (seen) {
			continue;
		}
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof(name)), name);
		if (strncmp(name, "Xen Virtual", 11) != 0) {
			close(fd);
			continue;
		}
		if (ioctl(fd, EVIOCGABS(ABS_X), &ax) == 0 &&
		    ioctl(fd, EVIOCGABS(ABS_Y), &ay) == 0) {
			printf("evread: device %s abs_x %d..%d abs_y %d..%d\n",
			       name, ax.minimum, ax.maximum, ay.minimum,
			       ay.maximum);
		} else {
			printf("evread: device %s\n", name);
		}
		fflush(stdout);
		memcpy(nodes[n], e->d_name, strlen(e->d_name) + 1);
		fds[n++] = fd;
	}
	if (d) {
		closedir(d);
	}
	return n;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 60;
	double wait = argc > 2 ? atof(argv[2]) : 30;
	double t0 = now();
	int fds[MAX_DEVS], n = 0;
	char nodes[MAX_DEVS][32];
	long events = 0;
	int x = -1, y = -1;
	bool moved = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Keyboard and pointer both, or what came within @wait. */
	while (n < 2 && now() - t0 < wait) {
		n = scan(fds, nodes, n);
		if (n < 2) {
			usleep(200 * 1000);
		}
	}
	if (n == 0) {
		printf("evread: no Xen input device after %.0f s\n", wait);
		return 1;
	}
	t0 = now();
	while (now() - t0 < secs) {
		struct pollfd p[MAX_DEVS];

		for (int i = 0; i < n; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		if (poll(p, (nfds_t)n, 500) <= 0) {
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct input_event ev;

			while (read(fds[i], &ev, sizeof(ev)) == sizeof(ev)) {
				if (ev.type == EV_KEY) {
					printf("evread: key %u %d\n", ev.code,
					       ev.value);
					events++;
				} else if (ev.type == EV_ABS &&
					   ev.code == ABS_X) {
					x = ev.value;
					moved = true;
				} else if (ev.type == EV_ABS &&
					   ev.code == ABS_Y) {
					y = ev.value;
					moved = true;
				} else if (ev.type == EV_SYN && moved) {
					printf("evread: pos %d %d\n", x, y);
					moved = false;
					events++;
				}
			}
		}
	}
	printf("evread: done events=%ld\n", events);
	return 0;
}
