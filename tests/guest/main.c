/* SPDX-License-Identifier: MIT */
/*
 * vdispl-guest: options, the poll loop and the summary line.
 *
 * On exit it prints exactly one line on stdout:
 *   vdispl-guest: flips=N events=N mismatched_ids=N timeouts=N p50_ms=X p99_ms=Y
 * flips: PG_FLIP requests answered OK; events: EVT_PG_FLIP events whose id
 * matched; mismatched_ids: events skipped by the frontend's id check;
 * timeouts: requests with no response in 3000 ms plus frame-done waits
 * over 3100 ms; p50/p99: PG_FLIP sent to its EVT_PG_FLIP received.
 * Everything else goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <drm_fourcc.h>

#include "guest.h"
#include "xensim.h"


static char log_name[80] = "vdispl-guest";
static bool log_verbose;
/* $VDISPL_GUEST_LATENCY_LOG: "arrival_ms latency_ms" per event (bench). */
static FILE *latency_log;

uint64_t
guest_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
vlog(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s\n", log_name, buf);
}

void
guest_log(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
guest_debug(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose) {
		return;
	}
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
guest_record_latency(struct guest *g, double ms)
{
	struct guest_stats *st = &g->stats;

	if (latency_log) {
		fprintf(latency_log, "%.3f %.3f\n", guest_now_ns() / 1e6, ms);
	}
	if (st->nlat == st->lat_cap) {
		size_t cap = st->lat_cap ? st->lat_cap * 2 : 1024;
		double *p = realloc(st->lat_ms, cap * sizeof(*p));

		if (!p) {
			return;
		}
		st->lat_ms = p;
		st->lat_cap = cap;
	}
	st->lat_ms[st->nlat++] = ms;
}

static bool
domain_gone(struct guest *g, short revents)
{
	char c;

	if (revents & (POLLHUP | POLLERR)) {
		return true;
	}
	if (revents & POLLIN) {
		/* The daemon says nothing unasked; EOF means it closed us. */
		ssize_t n = recv(xensim_fd(g->xsim), &c, 1,
				 MSG_PEEK | MSG_DONTWAIT);

		return n == 0 || (n < 0 && errno != EAGAIN &&
				  errno != EINTR);
	}
	return false;
}

void
guest_poll(struct guest *g, int timeout_ms)
{
	guest_poll_ns(g, timeout_ms < 0 ? -1 :
		      (int64_t)timeout_ms * 1000000);
}

void
guest_poll_ns(struct guest *g, int64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000),
		.tv_nsec = (long)(timeout_ns % 1000000000),
	};
	struct pollfd fds[4] = {
		{ .fd = g->sigfd, .events = POLLIN },
		{ .fd = g->xs ? xs_fileno(g->xs) : -1, .events = POLLIN },
		{ .fd = g->ech ? xensim_evtchn_fd(g->ech) : -1,
		  .events = POLLIN },
		{ .fd = g->xsim ? xensim_fd(g->xsim) : -1, .events = POLLIN },
	};
	int port;

	if (g->ending == GUEST_DOMAIN_GONE) {
		/* Nothing left to talk to; don't spin on a dead fd. */
		fds[1].fd = fds[2].fd = fds[3].fd = -1;
	}
	/* ppoll: a flip due in 12.5 ms waits 12.5 ms, not 13. */
	if (ppoll(fds, 4, timeout_ns < 0 ? NULL : &ts, NULL) < 0) {
		return;
	}

	if (fds[0].revents & POLLIN) {
		struct signalfd_siginfo si;

		if (read(g->sigfd, &si, sizeof(si)) == sizeof(si)) {
			guest_log(g, "signal %u: shutting down",
				  si.ssi_signo);
			g->stop_requested = true;
		}
	}
	if (fds[3].revents && domain_gone(g, fds[3].revents)) {
		guest_log(g, "domain %u was destroyed (xensim closed the "
			  "connection)", g->domid);
		g->ending = GUEST_DOMAIN_GONE;
		evtchnl_abort_all(g);
		return;
	}
	if (fds[2].revents & POLLIN) {
		while ((port = xensim_evtchn_pending(g->ech)) >= 0) {
			evtchnl_dispatch(g, port);
		}
	}
	if (fds[1].revents & POLLIN) {
		bus_dispatch_watch(g);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
print_summary(struct guest *g)
{
	struct guest_stats *st = &g->stats;
	double p50 = 0, p99 = 0;

	if (st->nlat > 0) {
		qsort(st->lat_ms, st->nlat, sizeof(double), cmp_double);
		/* Nearest rank. */
		p50 = st->lat_ms[(size_t)ceil(0.50 * st->nlat) - 1];
		p99 = st->lat_ms[(size_t)ceil(0.99 * st->nlat) - 1];
	}
	printf("vdispl-guest: flips=%llu events=%llu mismatched_ids=%llu "
	       "timeouts=%llu p50_ms=%.2f p99_ms=%.2f\n",
	       (unsigned long long)st->flips, (unsigned long long)st->events,
	       (unsigned long long)st->mismatched_ids,
	       (unsigned long long)st->timeouts, p50, p99);
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vdispl-guest [options]\n"
"A simulated Linux xen_drm_front in a xensim guest domain.\n"
"  --dir DIR            xensim directory (default $XENSIM_DIR)\n"
"  --domain NAME        the guest domain (or --domid N)\n"
"  --format F           RGB565 RGB888 XRGB8888 ARGB8888 XRGB4444 ARGB4444\n"
"                       XRGB1555 ARGB1555 YUYV (default XRGB8888)\n"
"  --buffers 2|3        buffers per connector (default 2)\n"
"  --fps N              flips per second per connector (default: as fast\n"
"                       as frame-done events allow)\n"
"  --draw-fraction F    a slow renderer: after each EVT_PG_FLIP, wait F\n"
"                       (0..1) of a refresh period (1/fps, 1/60 s if no\n"
"                       --fps) drawing, then flip at once (no fps grid)\n"
"  --pattern P          bars | box | counter (default box)\n"
"  --frames N           page flips per connector, then exit cleanly\n"
"  --prime              DBUF_CREATE with w = h = bpp = 0 (PRIME import)\n"
"  --connectors N|all   connectors to drive (default all)\n"
"  --reconnect          when the backend goes away, wait for it to come\n"
"                       back as the driver does (default: exit 3)\n"
"  --wait-timeout MS    give up if not connected within MS (default never)\n"
"  --verbose            log the protocol steps\n"
"exit: 0 ok, 1 a response failed or timed out, 2 usage, 3 backend gone,\n"
"      4 domain destroyed, 5 could not attach to the domain\n");
}

static bool
parse(int argc, char **argv, struct guest_opts *o)
{
	enum {
		OPT_DIR = 256, OPT_DOMAIN, OPT_DOMID, OPT_FORMAT, OPT_BUFFERS,
		OPT_FPS, OPT_PATTERN, OPT_FRAMES, OPT_PRIME, OPT_CONNECTORS,
		OPT_RECONNECT, OPT_WAIT, OPT_VERBOSE, OPT_HOSTILE, OPT_HELP,
		OPT_DRAW,
	};
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "domid", required_argument, NULL, OPT_DOMID },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "buffers", required_argument, NULL, OPT_BUFFERS },
		{ "fps", required_argument, NULL, OPT_FPS },
		{ "draw-fraction", required_argument, NULL, OPT_DRAW },
		{ "pattern", required_argument, NULL, OPT_PATTERN },
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ "prime", no_argument, NULL, OPT_PRIME },
		{ "connectors", required_argument, NULL, OPT_CONNECTORS },
		{ "reconnect", no_argument, NULL, OPT_RECONNECT },
		{ "wait-timeout", required_argument, NULL, OPT_WAIT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "hostile", required_argument, NULL, OPT_HOSTILE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	char *end;
	int c;

	*o = (struct guest_opts){
		.dir = getenv(XENSIM_DIR_ENV),
		.domid = -1,
		.format = formats_lookup(DRM_FORMAT_XRGB8888),
		.buffers = 2,
		.pattern = PATTERN_BOX,
		.connectors = -1,
	};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_DOMAIN:
			o->domain = optarg;
			break;
		case OPT_DOMID:
			o->domid = (int)strtol(optarg, &end, 10);
			if (*end || o->domid < 0 || o->domid > 0x7fef) {
				fprintf(stderr, "bad --domid %s\n", optarg);
				return false;
			}
			break;
		case OPT_FORMAT:
			o->format = NULL;
			for (size_t i = 0; i < FORMATS_COUNT; i++) {
				if (!strcasecmp(optarg, formats_table[i].name)) {
					o->format = &formats_table[i];
				}
			}
			if (!o->format) {
				fprintf(stderr, "unknown --format %s\n", optarg);
				return false;
			}
			break;
		case OPT_BUFFERS:
			o->buffers = (int)strtol(optarg, &end, 10);
			if (*end || o->buffers < 2 ||
			    o->buffers > GUEST_MAX_BUFFERS) {
				fprintf(stderr, "--buffers must be 2 or 3\n");
				return false;
			}
			break;
		case OPT_FPS:
			o->fps = (int)strtol(optarg, &end, 10);
			if (*end || o->fps < 0 || o->fps > 10000) {
				fprintf(stderr, "bad --fps %s\n", optarg);
				return false;
			}
			break;
		case OPT_DRAW:
			o->draw_fraction = strtod(optarg, &end);
			if (*end || !(o->draw_fraction >= 0.0 &&
				      o->draw_fraction <= 1.0)) {
				fprintf(stderr, "bad --draw-fraction %s\n",
					optarg);
				return false;
			}
			break;
		case OPT_PATTERN:
			if (!strcmp(optarg, "bars")) {
				o->pattern = PATTERN_BARS;
			} else if (!strcmp(optarg, "box")) {
				o->pattern = PATTERN_BOX;
			} else if (!strcmp(optarg, "counter")) {
				o->pattern = PATTERN_COUNTER;
			} else {
				fprintf(stderr, "unknown --pattern %s\n",
					optarg);
				return false;
			}
			break;
		case OPT_FRAMES:
			o->frames = strtol(optarg, &end, 10);
			if (*end || o->frames < 0) {
				fprintf(stderr, "bad --frames %s\n", optarg);
				return false;
			}
			break;
		case OPT_PRIME:
			o->prime = true;
			break;
		case OPT_CONNECTORS:
			if (!strcmp(optarg, "all")) {
				o->connectors = -1;
				break;
			}
			o->connectors = (int)strtol(optarg, &end, 10);
			if (*end || o->connectors < 1 ||
			    o->connectors > GUEST_MAX_CONNECTORS) {
				fprintf(stderr, "--connectors: 1..4 or all\n");
				return false;
			}
			break;
		case OPT_RECONNECT:
			o->reconnect = true;
			break;
		case OPT_WAIT:
			o->wait_timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || o->wait_timeout_ms < 0) {
				fprintf(stderr, "bad --wait-timeout\n");
				return false;
			}
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HOSTILE:
			o->hostile = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return false;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument %s\n", argv[optind]);
		return false;
	}
	if (!o->dir) {
		fprintf(stderr, "need --dir DIR or $%s\n", XENSIM_DIR_ENV);
		return false;
	}
	if (o->hostile) {
		fprintf(stderr, "--hostile: no scenarios in this build\n");
		return false;
	}
	return true;
}

static int
setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		return -1;
	}
	/* A dead compositor peer must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void
run(struct guest *g)
{
	uint64_t wait_deadline = 0;

	if (g->opts.wait_timeout_ms > 0) {
		wait_deadline = guest_now_ns() +
			(uint64_t)g->opts.wait_timeout_ms * 1000000ull;
	}
	while (g->ending == GUEST_RUNNING) {
		int64_t timeout = -1;

		if (g->stop_requested) {
			g->ending = GUEST_STOP;
			break;
		}
		bus_process(g);
		if (g->ending != GUEST_RUNNING) {
			break;
		}
		if (g->be_removing) {
			uint64_t now = guest_now_ns();

			if (now >= g->removing_deadline_ns) {
				guest_log(g, "device removed but the domain "
					  "lives on: the backend is gone");
				g->ending = GUEST_BACKEND_GONE;
				break;
			}
			guest_poll(g, (int)((g->removing_deadline_ns - now) /
					    1000000) + 1);
			continue;
		}
		if (g->drm_up) {
			timeout = kms_tick(g);
			if (g->opts.frames > 0 && kms_all_done(g)) {
				g->ending = GUEST_STOP;
				break;
			}
		} else if (wait_deadline) {
			uint64_t now = guest_now_ns();

			if (now >= wait_deadline) {
				guest_log(g, "backend not connected after %d "
					  "ms (state %s)",
					  g->opts.wait_timeout_ms,
					  bus_state_name(g->be_state));
				g->stats.failures++;
				g->ending = GUEST_STOP;
				break;
			}
			timeout = (int64_t)(wait_deadline - now);
		}
		if (g->be_state_changed) {
			timeout = 0;
		}
		guest_poll_ns(g, timeout);
	}
}

int
main(int argc, char **argv)
{
	struct guest g = { 0 };
	int status;

	if (!parse(argc, argv, &g.opts)) {
		return GUEST_EXIT_USAGE;
	}
	log_verbose = g.opts.verbose;
	if (g.opts.domain) {
		snprintf(log_name, sizeof(log_name), "vdispl-guest[%s]",
			 g.opts.domain);
	}
	g.sigfd = setup_signals();
	if (g.sigfd < 0) {
		perror("signalfd");
		return GUEST_EXIT_SETUP;
	}
	g.started_ns = guest_now_ns();
	if (getenv("VDISPL_GUEST_LATENCY_LOG")) {
		latency_log = fopen(getenv("VDISPL_GUEST_LATENCY_LOG"), "we");
	}

	if (!bus_attach(&g)) {
		bus_detach(&g);
		print_summary(&g);
		return GUEST_EXIT_SETUP;
	}

	run(&g);

	switch (g.ending) {
	case GUEST_RUNNING:
	case GUEST_STOP:
		if (g.drm_up) {
			kms_fini(&g);
		}
		bus_remove(&g);
		break;
	case GUEST_BACKEND_GONE:
	case GUEST_DOMAIN_GONE:
		bus_unplug(&g);
		break;
	}
	bus_detach(&g);
	print_summary(&g);
	if (latency_log) {
		fclose(latency_log);
	}
	free(g.stats.lat_ms);
	close(g.sigfd);

	if (g.ending == GUEST_DOMAIN_GONE) {
		status = GUEST_EXIT_DOMAIN_GONE;
	} else if (g.ending == GUEST_BACKEND_GONE) {
		status = GUEST_EXIT_BACKEND_GONE;
	} else if (g.stats.failures) {
		status = GUEST_EXIT_FAILED;
	} else {
		status = GUEST_EXIT_OK;
	}
	return status;
}
