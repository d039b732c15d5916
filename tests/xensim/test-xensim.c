/* SPDX-License-Identifier: MIT */
/*
 * The xensim suite's C tests: each starts its own xensimd in a private
 * temp dir, talks to it through the real libxenstore and the xensim client
 * library, and kills it by PID. Usage: test-xensim TEST (xensimd from
 * $XENSIMD).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "xensim.h"
#include "xensim-proto.h"

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,      \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			fail();                                            \
		}                                                          \
	} while (0)

struct sim {
	pid_t pid;
	char tmp[64];
	char dir[96];
	int err_fd;		/* xensimd's stderr */
};

static struct sim sim;

static void
sim_stop(void)
{
	int status = 0;
	char cmd[128];

	if (sim.pid <= 0) {
		return;
	}
	kill(sim.pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(sim.pid, &status, WNOHANG) == sim.pid) {
			sim.pid = 0;
			break;
		}
		usleep(10000);
	}
	if (sim.pid > 0) {
		kill(sim.pid, SIGKILL);
		waitpid(sim.pid, &status, 0);
		sim.pid = 0;
		fprintf(stderr, "xensimd ignored SIGTERM\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim.tmp);
	if (system(cmd) != 0) {
		fprintf(stderr, "cleanup of %s failed\n", sim.tmp);
	}
}

static void __attribute__((noreturn))
fail(void)
{
	sim_stop();
	exit(1);
}

static void
sim_start(void)
{
	const char *bin = getenv("XENSIMD");
	int out[2], errp[2];
	char line[256];
	size_t got = 0;

	if (!bin) {
		fprintf(stderr, "XENSIMD is not set\n");
		exit(1);
	}
	snprintf(sim.tmp, sizeof(sim.tmp), "/tmp/xensim-test-XXXXXX");
	if (!mkdtemp(sim.tmp)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(sim.dir, sizeof(sim.dir), "%s/d", sim.tmp);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(1);
	}
	sim.pid = fork();
	if (sim.pid == 0) {
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execl(bin, "xensimd", "--dir", sim.dir, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	sim.err_fd = errp[0];
	fcntl(sim.err_fd, F_SETFL, O_NONBLOCK);
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0) {
			break;
		}
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0) {
			break;
		}
		got += (size_t)n;
	}
	line[got] = '\0';
	close(out[0]);
	CHECK(strncmp(line, "xensimd: ready dir=", 19) == 0,
	      "no ready line, got '%s'", line);
	setenv(XENSIM_DIR_ENV, sim.dir, 1);
}

/* Read what xensimd logged so far. */
static size_t
sim_log(char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 &&
	       (n = read(sim.err_fd, buf + got, len - 1 - got)) > 0) {
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static struct xs_handle *
xs_for(uint16_t domid)
{
	char path[256];
	struct xs_handle *h;

	xensim_endpoint_path(path, sizeof(path), sim.dir, domid);
	setenv("XENSTORED_PATH", path, 1);
	h = xs_open(XS_OPEN_SOCKETONLY);
	CHECK(h, "xs_open(%s): %s", path, strerror(errno));
	return h;
}

static struct xensim *
sim_open(uint16_t domid)
{
	struct xensim *xs = xensim_open(sim.dir, domid);

	CHECK(xs, "xensim_open(dom%u): %s", domid, strerror(errno));
	return xs;
}

static bool
xs_put(struct xs_handle *h, xs_transaction_t t, const char *path,
       const char *value)
{
	return xs_write(h, t, path, value, strlen(value));
}

static char *
xs_get(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	unsigned len;

	return xs_read(h, t, path, &len);
}

static int
create_domain(struct xensim *xs0, const char *name)
{
	int domid = xensim_domain_create(xs0, name);

	CHECK(domid > 0, "create %s: %s", name, strerror(-domid));
	return domid;
}

/* Wait for one watch event on @h (libxenstore's fd), or time out. */
static char **
read_watch(struct xs_handle *h, int ms, unsigned *n)
{
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };

	if (poll(&p, 1, ms) <= 0) {
		return NULL;
	}
	return xs_read_watch(h, n);
}

/* Collect events until quiet; true if (path, token) was among them. */
static bool
saw_event(struct xs_handle *h, const char *path, const char *token, int ms)
{
	char **ev;
	unsigned n;
	bool seen = false;

	while ((ev = read_watch(h, ms, &n))) {
		if (strcmp(ev[XS_WATCH_PATH], path) == 0 &&
		    strcmp(ev[XS_WATCH_TOKEN], token) == 0) {
			seen = true;
		}
		free(ev);
		if (seen) {
			break;
		}
	}
	return seen;
}

static void
drain_events(struct xs_handle *h)
{
	char **ev;
	unsigned n;

	while ((ev = read_watch(h, 100, &n))) {
		free(ev);
	}
}

/* --- tests ------------------------------------------------------------------ */

/* The daemon runs as we do: it can open /dev/udmabuf when we can. */
static bool
have_udmabuf(void)
{
	return access("/dev/udmabuf", R_OK | W_OK) == 0;
}

static int
count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		return -1;
	}
	while ((e = readdir(d))) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

/* True if @fd is a dma-buf exported by udmabuf (its fdinfo says so). */
static bool
is_udmabuf(int fd)
{
	char path[64], buf[1024];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		return false;
	}
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0) {
		return false;
	}
	buf[n] = '\0';
	return strstr(buf, "exp_name:\tudmabuf") != NULL;
}

static void
test_perms(void)
{
	struct xensim *xs0 = sim_open(0);
	int d1 = create_domain(xs0, "guest1");
	int d2 = create_domain(xs0, "guest2");
	struct xs_handle *h0 = xs_for(0), *h1 = xs_for((uint16_t)d1);
	struct xs_permissions *perms;
	unsigned np;
	char path[128], *v;

	/* A backend directory as libxl makes it: owned by dom0, r for d1. */
	struct xs_permissions be[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = (unsigned)d1, .perms = XS_PERM_READ },
	};
	CHECK(xs_mkdir(h0, XBT_NULL, "/local/domain/0/backend/vdispl/1/0"),
	      "mkdir");
	CHECK(xs_set_permissions(h0, XBT_NULL,
				 "/local/domain/0/backend/vdispl/1/0", be, 2),
	      "set perms");
	CHECK(xs_put(h0, XBT_NULL, "/local/domain/0/backend/vdispl/1/0/state",
		     "2"), "dom0 write");

	/* The guest can read the backend's state but not write it. */
	v = xs_get(h1, XBT_NULL, "/local/domain/0/backend/vdispl/1/0/state");
	CHECK(v && strcmp(v, "2") == 0, "guest read state: %s", v);
	free(v);
	errno = 0;
	CHECK(!xs_put(h1, XBT_NULL, "/local/domain/0/backend/vdispl/1/0/state",
		      "4"), "guest write to backend node accepted");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);
	errno = 0;
	CHECK(!xs_put(h1, XBT_NULL, "/local/domain/0/backend/vdispl/1/0/new",
		      "x"), "guest created a backend node");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);
	errno = 0;
	CHECK(!xs_rm(h1, XBT_NULL, "/local/domain/0/backend/vdispl/1/0"),
	      "guest removed the backend dir");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);
	v = xs_get(h0, XBT_NULL, "/local/domain/0/backend/vdispl/1/0/state");
	CHECK(v && strcmp(v, "2") == 0, "state changed to %s", v);
	free(v);

	/* Other domains' nodes: neither readable nor listable. */
	snprintf(path, sizeof(path), "/local/domain/%d/name", d2);
	errno = 0;
	CHECK(!xs_get(h1, XBT_NULL, path), "guest1 read guest2's name");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);
	snprintf(path, sizeof(path), "/local/domain/%d/device", d2);
	errno = 0;
	CHECK(!xs_directory(h1, XBT_NULL, path, &np), "listed guest2's dir");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);
	/* A missing node under an unreadable parent is EACCES, not ENOENT. */
	snprintf(path, sizeof(path), "/local/domain/%d/device/nope", d2);
	errno = 0;
	CHECK(!xs_get(h1, XBT_NULL, path) && errno == EACCES,
	      "errno %d, want EACCES", errno);

	/* Its own name is readable, and read-only. */
	v = xs_get(h1, XBT_NULL, "name");
	CHECK(v && strcmp(v, "guest1") == 0, "relative read of name: %s", v);
	free(v);
	errno = 0;
	CHECK(!xs_put(h1, XBT_NULL, "name", "evil"), "guest renamed itself");
	CHECK(errno == EACCES, "errno %d, want EACCES", errno);

	/* A node the guest creates (with parents) belongs to it. */
	CHECK(xs_put(h1, XBT_NULL, "device/vdispl/0/a/b", "1"),
	      "guest write in own device dir: %s", strerror(errno));
	snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl/0/a", d1);
	perms = xs_get_permissions(h0, XBT_NULL, path, &np);
	CHECK(perms && np == 1 && perms[0].id == (unsigned)d1 &&
	      perms[0].perms == XS_PERM_NONE, "perms of %s", path);
	free(perms);
	/* A node dom0 creates there inherits the parent's list unchanged. */
	snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl/0/c",
		 d1);
	CHECK(xs_put(h0, XBT_NULL, path, "x"), "dom0 write");
	perms = xs_get_permissions(h0, XBT_NULL, path, &np);
	CHECK(perms && np == 1 && perms[0].id == (unsigned)d1,
	      "dom0-created node owner %u", perms ? perms[0].id : 999);
	free(perms);

	/* The guest may not give its node away, nor touch others' perms. */
	{
		struct xs_permissions give = { .id = 0, .perms = XS_PERM_NONE };
		errno = 0;
		CHECK(!xs_set_permissions(h1, XBT_NULL, "device/vdispl/0/a",
					  &give, 1) && errno == EPERM,
		      "give away: errno %d", errno);
		errno = 0;
		CHECK(!xs_set_permissions(h1, XBT_NULL,
					  "/local/domain/0/backend", &give, 1) &&
		      errno == EACCES, "chmod backend: errno %d", errno);
	}

	/* xenstored's quotas for guests. */
	{
		static char big[3000];
		struct xs_permissions six[6];

		memset(big, 'v', sizeof(big) - 1);
		errno = 0;
		CHECK(!xs_put(h1, XBT_NULL, "data/big", big) && errno == ENOSPC,
		      "guest wrote a 3000-byte value: errno %d", errno);
		CHECK(xs_put(h0, XBT_NULL, "/dom0big", big), "dom0 big value");
		for (int i = 0; i < 6; i++) {
			six[i].id = (unsigned)(i == 0 ? d1 : i);
			six[i].perms = XS_PERM_READ;
		}
		CHECK(xs_put(h1, XBT_NULL, "data/p", "1"), "write");
		errno = 0;
		CHECK(!xs_set_permissions(h1, XBT_NULL, "data/p", six, 6) &&
		      errno == ENOSPC, "6 perms: errno %d", errno);
		CHECK(xs_set_permissions(h1, XBT_NULL, "data/p", six, 5),
		      "5 perms: %s", strerror(errno));
	}

	/* Errors carry xenstored's names. */
	errno = 0;
	CHECK(!xs_get(h0, XBT_NULL, "/no/such/node") && errno == ENOENT,
	      "errno %d, want ENOENT", errno);
	errno = 0;
	CHECK(!xs_put(h0, XBT_NULL, "/bad//path", "x") && errno == EINVAL,
	      "errno %d, want EINVAL", errno);
	v = xs_get_domain_path(h1, (unsigned)d2);
	snprintf(path, sizeof(path), "/local/domain/%d", d2);
	CHECK(v && strcmp(v, path) == 0, "domain path %s", v);
	free(v);
	CHECK(xs_is_domain_introduced(h0, (unsigned)d1), "introduced");
	CHECK(!xs_is_domain_introduced(h0, 77), "77 introduced");

	/* Domain control is dom0's alone. */
	{
		struct xensim *g = sim_open((uint16_t)d1);
		struct xensim_domain_info info[4];

		CHECK(xensim_domid(g) == d1, "domid %u", xensim_domid(g));
		CHECK(xensim_domain_create(g, "evil") == -EPERM, "guest create");
		CHECK(xensim_domain_destroy(g, (uint16_t)d2) == -EPERM,
		      "guest destroy");
		CHECK(xensim_domain_list(g, info, 4) == -EPERM, "guest list");
		xensim_close(g);
		CHECK(xensim_domain_lookup(xs0, "guest2") == d2, "lookup");
		CHECK(xensim_domain_lookup(xs0, "nobody") == -ENOENT, "lookup");
		CHECK(xensim_domain_create(xs0, "guest2") == -EEXIST, "dup");
		CHECK(xensim_domain_create(xs0, "bad/name") == -EINVAL, "name");
		/* The endpoint decides the domain: a wrong domid is refused. */
		errno = 0;
		CHECK(!xensim_open(sim.dir, 77) && errno == ENOENT,
		      "opened a missing domain: errno %d", errno);
	}

	xs_close(h1);
	xs_close(h0);
	xensim_close(xs0);
}

static void
test_transaction(void)
{
	struct xs_handle *a = xs_for(0), *b = xs_for(0);
	xs_transaction_t t;
	char *v;
	int attempts = 0;

	CHECK(xs_put(a, XBT_NULL, "/t/counter", "0"), "init");
	/* a reads the counter in a transaction; b changes it meanwhile. */
	for (;;) {
		int n;

		attempts++;
		t = xs_transaction_start(a);
		CHECK(t != XBT_NULL, "tx start");
		v = xs_get(a, t, "/t/counter");
		CHECK(v, "tx read");
		n = atoi(v);
		free(v);
		if (attempts == 1) {
			CHECK(xs_put(b, XBT_NULL, "/t/counter", "10"),
			      "concurrent write");
			/* The transaction does not see b's write... */
			v = xs_get(a, t, "/t/counter");
			free(v);
		}
		{
			char num[16];
			snprintf(num, sizeof(num), "%d", n + 1);
			CHECK(xs_put(a, t, "/t/counter", num), "tx write");
			CHECK(xs_put(a, t, "/t/other", num), "tx write 2");
		}
		/* ...and its own writes are invisible outside until commit. */
		v = xs_get(b, XBT_NULL, "/t/other");
		CHECK(!v, "uncommitted write visible: %s", v);
		if (xs_transaction_end(a, t, false)) {
			break;
		}
		CHECK(errno == EAGAIN, "commit errno %d, want EAGAIN", errno);
		CHECK(attempts < 3, "retry did not succeed");
	}
	CHECK(attempts == 2, "%d attempts, want a conflict then success",
	      attempts);
	v = xs_get(b, XBT_NULL, "/t/counter");
	CHECK(v && strcmp(v, "11") == 0, "counter %s, want 11", v);
	free(v);

	/* Abort leaves nothing behind. */
	t = xs_transaction_start(a);
	CHECK(xs_put(a, t, "/t/aborted", "x"), "tx write");
	CHECK(xs_rm(a, t, "/t/counter"), "tx rm");
	CHECK(xs_transaction_end(a, t, true), "abort");
	v = xs_get(b, XBT_NULL, "/t/aborted");
	CHECK(!v && errno == ENOENT, "aborted write visible");
	v = xs_get(b, XBT_NULL, "/t/counter");
	CHECK(v && strcmp(v, "11") == 0, "aborted rm took effect");
	free(v);

	/* Creating under the same parent in two transactions conflicts. */
	{
		xs_transaction_t t1 = xs_transaction_start(a);
		xs_transaction_t t2 = xs_transaction_start(b);
		CHECK(xs_put(a, t1, "/t/dir/x", "1"), "t1");
		CHECK(xs_put(b, t2, "/t/dir/y", "2"), "t2");
		CHECK(xs_transaction_end(a, t1, false), "t1 commit");
		CHECK(!xs_transaction_end(b, t2, false) && errno == EAGAIN,
		      "t2 commit should be EAGAIN");
	}
	xs_close(a);
	xs_close(b);
}

static void
test_watch(void)
{
	struct xensim *xs0 = sim_open(0);
	struct xs_handle *h0 = xs_for(0), *w = xs_for(0), *hg;
	char path[128];
	int d1, d2;

	CHECK(xs_watch(w, "/w", "tok"), "watch");
	CHECK(saw_event(w, "/w", "tok", 1000), "no initial event");
	CHECK(xs_put(h0, XBT_NULL, "/w/a/b", "1"), "create");
	CHECK(saw_event(w, "/w/a/b", "tok", 1000), "no event on creation");
	CHECK(xs_put(h0, XBT_NULL, "/w/a/b", "2"), "change");
	CHECK(saw_event(w, "/w/a/b", "tok", 1000), "no event on change");
	CHECK(xs_watch(w, "/w/a/b", "deep"), "watch deep");
	CHECK(saw_event(w, "/w/a/b", "deep", 1000), "no initial event");
	CHECK(xs_rm(h0, XBT_NULL, "/w/a"), "rm");
	CHECK(saw_event(w, "/w/a/b", "deep", 1000),
	      "no event for a watched node removed with its parent");
	/* Transactions fire at commit. */
	{
		xs_transaction_t t = xs_transaction_start(h0);
		drain_events(w);
		CHECK(xs_put(h0, t, "/w/tx", "1"), "tx write");
		CHECK(!read_watch(w, 200, &(unsigned){ 0 }),
		      "event before commit");
		CHECK(xs_transaction_end(h0, t, false), "commit");
		CHECK(saw_event(w, "/w/tx", "tok", 1000), "no event at commit");
	}
	CHECK(xs_unwatch(w, "/w", "tok"), "unwatch");
	CHECK(xs_put(h0, XBT_NULL, "/w/after", "1"), "write");
	CHECK(!saw_event(w, "/w/after", "tok", 300), "event after unwatch");

	/* Domain introduction and release. */
	CHECK(xs_watch(w, "@introduceDomain", "intro"), "watch intro");
	CHECK(xs_watch(w, "@releaseDomain", "rel"), "watch rel");
	CHECK(saw_event(w, "@introduceDomain", "intro", 1000), "initial");
	CHECK(saw_event(w, "@releaseDomain", "rel", 1000), "initial");
	d1 = create_domain(xs0, "w1");
	CHECK(saw_event(w, "@introduceDomain", "intro", 1000),
	      "no @introduceDomain");
	d2 = create_domain(xs0, "w2");

	/* A guest's watch: relative paths, and only what it may read. */
	hg = xs_for((uint16_t)d1);
	CHECK(xs_watch(hg, "device", "rel"), "guest watch");
	CHECK(saw_event(hg, "device", "rel", 1000), "relative initial event");
	snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl", d1);
	CHECK(xs_put(h0, XBT_NULL, path, "x"), "write");
	CHECK(saw_event(hg, "device/vdispl", "rel", 1000),
	      "relative event path");
	CHECK(xs_watch(hg, "/local/domain", "all"), "guest watch all");
	CHECK(saw_event(hg, "/local/domain", "all", 1000), "initial");
	snprintf(path, sizeof(path), "/local/domain/%d/device/secret", d2);
	CHECK(xs_put(h0, XBT_NULL, path, "x"), "write");
	CHECK(!saw_event(hg, path, "all", 300),
	      "guest saw an event for another domain's node");

	/* Losing read access is itself an event; later changes are not. */
	{
		struct xs_permissions ro[2] = {
			{ .id = 0, .perms = XS_PERM_NONE },
			{ .id = (unsigned)d1, .perms = XS_PERM_READ },
		};
		struct xs_permissions none = { .id = 0, .perms = XS_PERM_NONE };

		CHECK(xs_put(h0, XBT_NULL, "/shared", "1"), "write");
		CHECK(xs_set_permissions(h0, XBT_NULL, "/shared", ro, 2),
		      "chmod");
		CHECK(xs_watch(hg, "/shared", "sh"), "watch");
		CHECK(saw_event(hg, "/shared", "sh", 1000), "initial");
		CHECK(xs_put(h0, XBT_NULL, "/shared", "2"), "write");
		CHECK(saw_event(hg, "/shared", "sh", 1000), "readable change");
		CHECK(xs_set_permissions(h0, XBT_NULL, "/shared", &none, 1),
		      "chmod");
		CHECK(saw_event(hg, "/shared", "sh", 1000),
		      "no event when read access was taken away");
		CHECK(xs_put(h0, XBT_NULL, "/shared", "3"), "write");
		CHECK(!saw_event(hg, "/shared", "sh", 300),
		      "event for a node no longer readable");
	}

	CHECK(xensim_domain_destroy(xs0, (uint16_t)d2) == 0, "destroy");
	CHECK(saw_event(w, "@releaseDomain", "rel", 1000),
	      "no @releaseDomain");
	snprintf(path, sizeof(path), "/local/domain/%d", d2);
	CHECK(!xs_get(h0, XBT_NULL, path) && errno == ENOENT,
	      "domain dir left behind");
	xs_close(hg);
	xs_close(w);
	xs_close(h0);
	xensim_close(xs0);
}

/* Run @fn in a child; return its wait status. */
static int
in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

struct grant_arg {
	uint16_t domid;
	uint32_t refs[4];
	int pipe_w;
};

static void
write_ro(void *arg)
{
	volatile uint8_t *p = arg;

	/* The default action, even under a sanitizer's handler. */
	signal(SIGSEGV, SIG_DFL);
	p[0] = 1;	/* must fault */
}

static void
test_grants(void)
{
	struct xensim *xs0 = sim_open(0), *g;
	int d1 = create_domain(xs0, "granter");
	int d2 = create_domain(xs0, "other");
	int sync1[2], sync2[2];
	uint32_t refs[6];
	pid_t pid;
	uint8_t *map, c;
	int status;

	/* The guest shares (another process); dom0 maps. */
	CHECK(pipe(sync1) == 0 && pipe(sync2) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct xensim *gx = xensim_open(sim.dir, (uint16_t)d1);
		uint32_t r[6];
		uint8_t *p, *q;
		int fd1, fd2;

		if (!gx) {
			_exit(2);
		}
		fd1 = xensim_gnt_share(gx, 0, 2, true, r);
		fd2 = xensim_gnt_share(gx, 0, 3, false, r + 2);
		if (fd1 < 0 || fd2 < 0) {
			_exit(3);
		}
		if (xensim_gnt_share(gx, (uint16_t)d2, 1, true, r + 5) < 0) {
			_exit(3);
		}
		p = mmap(NULL, 2 * XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd1, 0);
		q = mmap(NULL, 3 * XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd2, 0);
		if (p == MAP_FAILED || q == MAP_FAILED) {
			_exit(4);
		}
		/* "pixels": page i of share 1 is filled with 0x10 + i ... */
		memset(p, 0x10, XENSIM_PAGE_SIZE);
		memset(p + XENSIM_PAGE_SIZE, 0x11, XENSIM_PAGE_SIZE);
		for (int i = 0; i < 3; i++) {
			memset(q + i * XENSIM_PAGE_SIZE, 0x20 + i,
			       XENSIM_PAGE_SIZE);
		}
		if (write(sync1[1], r, sizeof(r)) != sizeof(r)) {
			_exit(5);
		}
		/* Wait for dom0 to write back, then check it. */
		if (read(sync2[0], &c, 1) != 1) {
			_exit(6);
		}
		if (p[100] != 0xab) {
			_exit(7);
		}
		if (write(sync1[1], &p[100], 1) != 1) {
			_exit(5);
		}
		/* Stay alive (grants die with the connection) until told. */
		if (read(sync2[0], &c, 1) != 1) {
			_exit(6);
		}
		_exit(0);
	}
	CHECK(read(sync1[0], refs, sizeof(refs)) == sizeof(refs),
	      "granter failed");
	for (int i = 0; i < 6; i++) {
		CHECK(refs[i] != 0, "ref %d is 0", i);
	}

	/* Pixels written by the granter are seen by the mapper... */
	map = xensim_gnt_map(xs0, (uint16_t)d1, 2, refs, true);
	CHECK(map, "map rw: %s", strerror(errno));
	CHECK(map[0] == 0x10 && map[XENSIM_PAGE_SIZE + 5] == 0x11,
	      "mapper sees %02x %02x", map[0], map[XENSIM_PAGE_SIZE + 5]);
	/* ...and the other way round. */
	map[100] = 0xab;
	c = 1;
	CHECK(write(sync2[1], &c, 1) == 1, "sync");
	CHECK(read(sync1[0], &c, 1) == 1 && c == 0xab,
	      "granter did not see the mapper's write");
	CHECK(xensim_gnt_unmap(xs0, map, 2) == 0, "unmap");

	/* A multi-ref map across two shares, in any order, is contiguous. */
	{
		uint32_t mix[4] = { refs[3], refs[1], refs[2], refs[4] };
		static const uint8_t want[4] = { 0x21, 0x11, 0x20, 0x22 };

		map = xensim_gnt_map(xs0, (uint16_t)d1, 4, mix, false);
		CHECK(map, "map 4: %s", strerror(errno));
		for (int i = 0; i < 4; i++) {
			for (int off = 0; off < (int)XENSIM_PAGE_SIZE;
			     off += 1024) {
				CHECK(map[i * XENSIM_PAGE_SIZE + off] == want[i],
				      "page %d byte %d: %02x", i, off,
				      map[i * XENSIM_PAGE_SIZE + off]);
			}
		}
		/* Read-only: a write faults, and mprotect can't lift it. */
		status = in_child(write_ro, map);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "write to a read-only map did not fault (status %x)",
		      status);
		CHECK(mprotect(map, XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE) <
		      0 && errno == EACCES, "mprotect upgraded a ro map");
		CHECK(xensim_gnt_unmap(xs0, map, 4) == 0, "unmap");
	}

	/* Access checks. */
	errno = 0;
	CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &refs[2], true) &&
	      errno == EACCES, "rw map of a ro grant: errno %d", errno);
	{
		uint32_t r2[2] = { refs[0], refs[2] };
		errno = 0;
		CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 2, r2, true) &&
		      errno == EACCES, "partly ro rw map: errno %d", errno);
	}
	errno = 0;
	CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &refs[5], false) &&
	      errno == EACCES, "map of a grant to another domain: %d", errno);
	{
		uint32_t bad = 0x7777;
		errno = 0;
		CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &bad, false) &&
		      errno == ENOENT, "bad ref: errno %d", errno);
		errno = 0;
		CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &(uint32_t){ 0 },
				      false) && errno == ENOENT, "ref 0");
		errno = 0;
		CHECK(!xensim_gnt_map(xs0, 99, 1, &refs[0], false) &&
		      errno == ESRCH, "no such domain: errno %d", errno);
	}
	/* The other domain can map its grant, dom0's can't be used there. */
	{
		struct xensim *x2 = sim_open((uint16_t)d2);
		uint8_t *m2 = xensim_gnt_map(x2, (uint16_t)d1, 1, &refs[5],
					     true);
		CHECK(m2, "d2 map: %s", strerror(errno));
		xensim_gnt_unmap(x2, m2, 1);
		errno = 0;
		CHECK(!xensim_gnt_map(x2, (uint16_t)d1, 1, &refs[0], false) &&
		      errno == EACCES, "d2 mapped dom0's grant");
		xensim_close(x2);
	}

	/* export_fd: consecutive pages only, unless udmabuf joins them. */
	{
		uint64_t off = 1;
		int fd = xensim_gnt_export_fd(xs0, (uint16_t)d1, 2, &refs[3],
					      false, &off);
		uint8_t *p;

		CHECK(fd >= 0, "export: %s", strerror(-fd));
		if (have_udmabuf()) {
			CHECK(off == 0, "dma-buf offset %llu",
			      (unsigned long long)off);
		} else {
			CHECK(off == XENSIM_PAGE_SIZE, "offset %llu",
			      (unsigned long long)off);
		}
		p = mmap(NULL, 2 * XENSIM_PAGE_SIZE, PROT_READ, MAP_SHARED, fd,
			 (off_t)off);
		CHECK(p != MAP_FAILED && p[0] == 0x21 &&
		      p[XENSIM_PAGE_SIZE] == 0x22, "exported pages");
		munmap(p, 2 * XENSIM_PAGE_SIZE);
		close(fd);
		uint32_t gap[2] = { refs[2], refs[4] };
		fd = xensim_gnt_export_fd(xs0, (uint16_t)d1, 2, gap, false,
					  &off);
		if (have_udmabuf()) {
			/* test_udmabuf checks what it holds. */
			CHECK(fd >= 0, "dma-buf export with a gap: %d", fd);
			close(fd);
		} else {
			CHECK(fd == -EOPNOTSUPP, "export with a gap: %d", fd);
		}
	}

	/* A mapping survives revoke and the granter's death. */
	map = xensim_gnt_map(xs0, (uint16_t)d1, 1, &refs[0], false);
	CHECK(map, "map: %s", strerror(errno));
	c = 1;
	CHECK(write(sync2[1], &c, 1) == 1, "sync");
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "granter exited with %x", status);
	CHECK(map[0] == 0x10, "mapping lost after granter death");
	/* Its grants ended with its connection. */
	usleep(100000);
	errno = 0;
	CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &refs[1], false) &&
	      errno == ENOENT, "grant outlived its granter: errno %d", errno);
	xensim_gnt_unmap(xs0, map, 1);

	/* Revoke, in-process. */
	g = sim_open((uint16_t)d1);
	{
		uint32_t r;
		int fd = xensim_gnt_share(g, 0, 1, true, &r);
		uint8_t *m;

		CHECK(fd >= 0, "share: %s", strerror(-fd));
		m = xensim_gnt_map(xs0, (uint16_t)d1, 1, &r, true);
		CHECK(m, "map");
		CHECK(xensim_gnt_revoke(g, 1, &r) == 0, "revoke");
		m[0] = 7;	/* still valid */
		errno = 0;
		CHECK(!xensim_gnt_map(xs0, (uint16_t)d1, 1, &r, true) &&
		      errno == ENOENT, "map after revoke: errno %d", errno);
		CHECK(xensim_gnt_revoke(g, 1, &r) == -ENOENT, "double revoke");
		xensim_gnt_unmap(xs0, m, 1);
		close(fd);
	}
	/* A map spanning more memfds than one SCM_RIGHTS message holds. */
	{
		enum { N = 300 };
		uint32_t r[N];
		int fds[N];
		uint8_t *m;

		for (int i = 0; i < N; i++) {
			uint8_t *p;

			fds[i] = xensim_gnt_share(g, 0, 1, false, &r[i]);
			CHECK(fds[i] >= 0, "share %d: %s", i, strerror(-fds[i]));
			p = mmap(NULL, XENSIM_PAGE_SIZE, PROT_WRITE, MAP_SHARED,
				 fds[i], 0);
			CHECK(p != MAP_FAILED, "mmap");
			p[7] = (uint8_t)i;
			munmap(p, XENSIM_PAGE_SIZE);
		}
		/* Reverse order: nothing is consecutive. */
		for (int i = 0; i < N / 2; i++) {
			uint32_t t = r[i];
			r[i] = r[N - 1 - i];
			r[N - 1 - i] = t;
		}
		m = xensim_gnt_map(xs0, (uint16_t)d1, N, r, false);
		CHECK(m, "map of %d memfds: %s", N, strerror(errno));
		for (int i = 0; i < N; i++) {
			CHECK(m[i * XENSIM_PAGE_SIZE + 7] == (uint8_t)(N - 1 - i),
			      "page %d", i);
		}
		xensim_gnt_unmap(xs0, m, N);
		{
			struct xensim_domain_info info[8];
			int n = xensim_domain_list(xs0, info, 8);
			bool found = false;
			for (int i = 0; i < n; i++) {
				if (info[i].domid == d1) {
					CHECK(info[i].grants == N,
					      "list shows %u grants",
					      info[i].grants);
					found = true;
				}
			}
			CHECK(found, "granter not listed");
		}
		for (int i = 0; i < N; i++) {
			close(fds[i]);
		}
	}
	xensim_close(g);
	xensim_close(xs0);
}

/* Ping-pong: @count notifies each way, each one seen by poll(). */
static void
test_evtchn(void)
{
	struct xensim *xs0 = sim_open(0);
	int d1 = create_domain(xs0, "evt");
	struct xensim_evtchn *be = xensim_evtchn_open(xs0);
	int ports[2];		/* guest's port, dom0's port */
	int sync[2], back[2];
	const int count = 10000;
	pid_t pid;
	int status, received = 0;

	CHECK(be, "evtchn open: %s", strerror(errno));
	CHECK(pipe(sync) == 0 && pipe(back) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		/* The guest: allocates, then echoes every event back. */
		struct xensim *gx = xensim_open(sim.dir, (uint16_t)d1);
		struct xensim_evtchn *ch = gx ? xensim_evtchn_open(gx) : NULL;
		int port, got = 0;
		char c;

		if (!ch) {
			_exit(2);
		}
		port = xensim_evtchn_alloc_unbound(ch, 0);
		if (port <= 0 || write(sync[1], &port, sizeof(port)) !=
				 sizeof(port)) {
			_exit(3);
		}
		while (got < count) {
			struct pollfd p = { .fd = xensim_evtchn_fd(ch),
					    .events = POLLIN };
			int pp;

			if (poll(&p, 1, 5000) != 1) {
				_exit(4);
			}
			pp = xensim_evtchn_pending(ch);
			if (pp != port) {
				_exit(5);
			}
			/* Masked now: nothing more until unmask. */
			if (xensim_evtchn_pending(ch) != -EAGAIN) {
				_exit(6);
			}
			xensim_evtchn_unmask(ch, (uint32_t)port);
			got++;
			xensim_evtchn_notify(ch, (uint32_t)port);
		}
		/* Wait to be told to unbind, then leave. */
		if (read(back[0], &c, 1) != 1) {
			_exit(7);
		}
		xensim_evtchn_unbind(ch, (uint32_t)port);
		if (write(sync[1], &got, sizeof(got)) != sizeof(got)) {
			_exit(8);
		}
		if (read(back[0], &c, 1) != 1) {
			_exit(7);
		}
		xensim_evtchn_close(ch);
		xensim_close(gx);
		_exit(0);
	}
	CHECK(read(sync[0], &ports[0], sizeof(int)) == sizeof(int),
	      "guest did not allocate a port");
	/* A port can only be bound by the domain it was allocated for. */
	{
		struct xensim *x1 = sim_open((uint16_t)d1);
		struct xensim_evtchn *c1 = xensim_evtchn_open(x1);
		CHECK(xensim_evtchn_bind_interdomain(c1, (uint16_t)d1,
						     (uint32_t)ports[0]) ==
		      -EINVAL, "bound a port allocated for dom0 from dom1");
		xensim_evtchn_close(c1);
		xensim_close(x1);
	}
	ports[1] = xensim_evtchn_bind_interdomain(be, (uint16_t)d1,
						  (uint32_t)ports[0]);
	CHECK(ports[1] > 0, "bind: %s", strerror(-ports[1]));
	CHECK(xensim_evtchn_bind_interdomain(be, (uint16_t)d1,
					     (uint32_t)ports[0]) == -EINVAL,
	      "bound the same port twice");
	{
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < count; i++) {
			struct pollfd p = { .fd = xensim_evtchn_fd(be),
					    .events = POLLIN };

			CHECK(xensim_evtchn_notify(be, (uint32_t)ports[1]) == 0,
			      "notify");
			CHECK(poll(&p, 1, 5000) == 1, "no echo for notify %d",
			      i);
			CHECK(xensim_evtchn_pending(be) == ports[1], "pending");
			CHECK(xensim_evtchn_unmask(be, (uint32_t)ports[1]) == 0,
			      "unmask");
			received++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("evtchn: %d round trips in %.1f ms\n", received,
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	CHECK(received == count, "received %d", received);

	/* Notifies while masked coalesce into one event at unmask. */
	{
		struct pollfd p = { .fd = xensim_evtchn_fd(be),
				    .events = POLLIN };
		char c = 1;
		int got;

		CHECK(write(back[1], &c, 1) == 1, "sync");
		CHECK(read(sync[0], &got, sizeof(got)) == sizeof(got) &&
		      got == count, "guest counted %d", got);
		/* The guest unbound: our notifies reach nobody, no error. */
		CHECK(xensim_evtchn_notify(be, (uint32_t)ports[1]) == 0,
		      "notify after peer unbind");
		CHECK(poll(&p, 1, 200) == 0, "event from an unbound peer");
		CHECK(write(back[1], &c, 1) == 1, "sync");
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "guest exited with %x", status);

	/* Loopback within one domain pair, to check masking precisely. */
	{
		struct xensim *x1 = sim_open((uint16_t)d1);
		struct xensim_evtchn *c1 = xensim_evtchn_open(x1);
		struct pollfd p = { .fd = xensim_evtchn_fd(c1),
				    .events = POLLIN };
		int gp = xensim_evtchn_alloc_unbound(c1, 0);
		int bp = xensim_evtchn_bind_interdomain(be, (uint16_t)d1,
							(uint32_t)gp);

		CHECK(gp > 0 && bp > 0, "ports %d %d", gp, bp);
		for (int i = 0; i < count; i++) {
			xensim_evtchn_notify(be, (uint32_t)bp);
		}
		CHECK(poll(&p, 1, 1000) == 1, "burst not seen");
		CHECK(xensim_evtchn_pending(c1) == gp, "pending");
		CHECK(xensim_evtchn_pending(c1) == -EAGAIN, "reported twice");
		CHECK(poll(&p, 1, 0) == 0, "fd readable while masked");
		xensim_evtchn_notify(be, (uint32_t)bp);
		CHECK(poll(&p, 1, 100) == 0, "masked port fired");
		CHECK(xensim_evtchn_unmask(c1, (uint32_t)gp) == 0, "unmask");
		CHECK(poll(&p, 1, 1000) == 1,
		      "notify while masked lost at unmask");
		CHECK(xensim_evtchn_pending(c1) == gp, "pending after unmask");
		xensim_evtchn_unmask(c1, (uint32_t)gp);
		CHECK(poll(&p, 1, 100) == 0, "spurious event");
		/* Destroying the guest unbinds its side. */
		xensim_evtchn_close(c1);
		xensim_close(x1);
	}
	{
		struct xensim_domain_info info[4];
		int n;

		CHECK(xensim_domain_destroy(xs0, (uint16_t)d1) == 0, "destroy");
		n = xensim_domain_list(xs0, info, 4);
		CHECK(n == 1 && info[0].domid == 0, "list after destroy: %d",
		      n);
	}
	xensim_evtchn_close(be);
	xensim_close(xs0);
}

static void
test_killtx(void)
{
	struct xs_handle *h = xs_for(0);
	int sync[2];
	pid_t pid;
	int status;
	char c, *v, **dir;
	unsigned n;

	CHECK(xs_put(h, XBT_NULL, "/k/keep", "1"), "init");
	CHECK(pipe(sync) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct xs_handle *k = xs_for(0);
		xs_transaction_t t = xs_transaction_start(k);

		for (int i = 0; i < 50; i++) {
			char p[64];
			snprintf(p, sizeof(p), "/k/tx/%d", i);
			if (!xs_put(k, t, p, "x")) {
				_exit(2);
			}
		}
		xs_rm(k, t, "/k/keep");
		if (write(sync[1], "r", 1) != 1) {
			_exit(3);
		}
		pause();
		_exit(0);
	}
	CHECK(read(sync[0], &c, 1) == 1, "child failed");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status), "child not killed");
	usleep(100000);

	v = xs_get(h, XBT_NULL, "/k/keep");
	CHECK(v && strcmp(v, "1") == 0, "killed transaction's rm applied");
	free(v);
	dir = xs_directory(h, XBT_NULL, "/k", &n);
	CHECK(dir && n == 1 && strcmp(dir[0], "keep") == 0,
	      "/k has %u children", n);
	free(dir);
	/* The same nodes are free to use in a new transaction. */
	{
		xs_transaction_t t = xs_transaction_start(h);
		CHECK(xs_put(h, t, "/k/tx/0", "y"), "tx write");
		CHECK(xs_transaction_end(h, t, false), "commit: %s",
		      strerror(errno));
	}
	v = xs_get(h, XBT_NULL, "/k/tx/0");
	CHECK(v && strcmp(v, "y") == 0, "new transaction");
	free(v);
	xs_close(h);
}

static int
raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	xensim_endpoint_path(addr.sun_path, sizeof(addr.sun_path), sim.dir, 0);
	CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0,
	      "connect");
	return fd;
}

/* Read one reply; returns its type, or -1 on EOF. */
static int
raw_reply(int fd, char *buf, size_t len)
{
	struct xsd_sockmsg hdr;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	CHECK(poll(&p, 1, 2000) == 1, "no reply");
	n = recv(fd, &hdr, sizeof(hdr), MSG_WAITALL);
	if (n == 0) {
		return -1;
	}
	CHECK(n == sizeof(hdr) && hdr.len < len, "reply header");
	CHECK(recv(fd, buf, hdr.len, MSG_WAITALL) == (ssize_t)hdr.len,
	      "reply body");
	buf[hdr.len] = '\0';
	return (int)hdr.type;
}

static void
test_malformed(void)
{
	struct xs_handle *good = xs_for(0);
	struct xsd_sockmsg hdr = { .type = XS_READ, .req_id = 1 };
	char buf[256], log[4096], *v;
	int bad, other;

	CHECK(xs_put(good, XBT_NULL, "/m/x", "1"), "write");
	other = raw_connect();

	/* A READ whose argument is not NUL-terminated: EINVAL, conn lives. */
	bad = raw_connect();
	hdr.len = 4;
	CHECK(write(bad, &hdr, sizeof(hdr)) == sizeof(hdr) &&
	      write(bad, "/m/x", 4) == 4, "send");
	CHECK(raw_reply(bad, buf, sizeof(buf)) == XS_ERROR &&
	      strcmp(buf, "EINVAL") == 0, "reply %s", buf);

	/* An over-long message: that connection (only) is closed. */
	hdr.len = XENSTORE_PAYLOAD_MAX + 1;
	CHECK(write(bad, &hdr, sizeof(hdr)) == sizeof(hdr), "send");
	CHECK(raw_reply(bad, buf, sizeof(buf)) == -1,
	      "over-long message did not close the connection");
	close(bad);
	/* Also a garbage header mid-stream on a fresh connection. */
	bad = raw_connect();
	CHECK(write(bad, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
		    "\xff\xff\xff\xff", 16) == 16, "send");
	CHECK(raw_reply(bad, buf, sizeof(buf)) == -1,
	      "garbage header did not close the connection");
	close(bad);

	/* Everyone else is still served. */
	v = xs_get(good, XBT_NULL, "/m/x");
	CHECK(v && strcmp(v, "1") == 0, "good client broken");
	free(v);
	hdr.type = XS_READ;
	hdr.len = 5;
	CHECK(write(other, &hdr, sizeof(hdr)) == sizeof(hdr) &&
	      write(other, "/m/x", 5) == 5, "send");
	CHECK(raw_reply(other, buf, sizeof(buf)) == XS_READ &&
	      strcmp(buf, "1") == 0, "other raw client: %s", buf);
	/* Unknown types get an error, not a hang-up. */
	hdr.type = 999;
	hdr.len = 0;
	CHECK(write(other, &hdr, sizeof(hdr)) == sizeof(hdr), "send");
	CHECK(raw_reply(other, buf, sizeof(buf)) == XS_ERROR, "unknown type");
	close(other);

	usleep(100000);
	sim_log(log, sizeof(log));
	{
		int lines = 0;
		for (char *p = log; (p = strstr(p, "malformed")); p++) {
			lines++;
		}
		CHECK(lines == 2, "want one log line per bad client, log:\n%s",
		      log);
	}
	xs_close(good);
}

/*
 * The client loses an fd the daemon sent (no free fd slot: the kernel
 * drops it and cuts the message, MSG_CTRUNC). That call fails, the
 * connection is marked broken, and the next call on it fails at once
 * instead of reading the rest of the cut reply as a new one or blocking.
 */
static void
test_droppedfd(void)
{
	struct xensim *xs0 = sim_open(0);
	int d1 = create_domain(xs0, "dropfd");
	struct rlimit old, low;
	uint32_t refs[1];
	int fillers[64], nfill = 0, ret, fd;
	struct xensim *fresh;

	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0, "getrlimit");
	/* Use up every slot under a low limit. */
	low = old;
	low.rlim_cur = 48;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit");
	while (nfill < 64 && (fd = dup(0)) >= 0) {
		fillers[nfill++] = fd;
	}
	ret = xensim_gnt_share(xs0, (uint16_t)d1, 1, true, refs);
	for (int i = 0; i < nfill; i++) {
		close(fillers[i]);
	}
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0, "setrlimit back");
	CHECK(ret < 0, "share with no fd slot left failed (%d)", ret);
	/* A blocked read would hang here: the alarm fails the test. */
	alarm(10);
	ret = xensim_domain_lookup(xs0, "dropfd");
	alarm(0);
	CHECK(ret == -EPIPE, "the next call on that connection fails at once "
	      "(%d, want -EPIPE)", ret);
	xensim_close(xs0);
	fresh = sim_open(0);
	ret = xensim_domain_lookup(fresh, "dropfd");
	CHECK(ret == d1, "a new connection works (%d)", ret);
	xensim_close(fresh);
}


/*
 * Runs only where /dev/udmabuf exists (the `dmabuf` suite's VM): an export
 * is a dma-buf of the refs' pages in their order, from two shares, with
 * gaps; the guest's later writes show through it (no copy); it outlives
 * revoke and the granter; bad refs fail as maps do; neither side keeps an
 * fd it should not.
 */
static void
test_udmabuf(void)
{
	struct xensim *xs0 = sim_open(0), *g;
	int d1 = create_domain(xs0, "udmabuf");
	int d2 = create_domain(xs0, "stranger");
	uint32_t ra[3], rb[2], rc;
	uint8_t *pa, *pb, *m;
	int fa, fb, fd, fds0, dfds0;
	uint64_t off = 99;

	fds0 = count_fds(getpid());
	dfds0 = count_fds(sim.pid);
	g = sim_open((uint16_t)d1);
	fa = xensim_gnt_share(g, 0, 3, true, ra);
	fb = xensim_gnt_share(g, 0, 2, false, rb);
	CHECK(fa >= 0 && fb >= 0, "share: %d %d", fa, fb);
	fd = xensim_gnt_share(g, (uint16_t)d2, 1, true, &rc);
	CHECK(fd >= 0, "share");
	close(fd);
	pa = mmap(NULL, 3 * XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fa, 0);
	pb = mmap(NULL, 2 * XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fb, 0);
	CHECK(pa != MAP_FAILED && pb != MAP_FAILED, "mmap shares");
	for (int i = 0; i < 3; i++) {
		memset(pa + i * XENSIM_PAGE_SIZE, 0x30 + i, XENSIM_PAGE_SIZE);
	}
	for (int i = 0; i < 2; i++) {
		memset(pb + i * XENSIM_PAGE_SIZE, 0x40 + i, XENSIM_PAGE_SIZE);
	}

	{
		/* Two shares, out of order, one run of two pages. */
		uint32_t mix[5] = { rb[1], ra[0], ra[1], rb[0], ra[2] };
		static const uint8_t want[5] = { 0x41, 0x30, 0x31, 0x40, 0x32 };

		fd = xensim_gnt_export_fd(xs0, (uint16_t)d1, 5, mix, false,
					  &off);
		CHECK(fd >= 0, "export: %s", strerror(-fd));
		CHECK(off == 0, "offset %llu", (unsigned long long)off);
		CHECK(is_udmabuf(fd), "fd %d is no udmabuf dma-buf", fd);
		CHECK(lseek(fd, 0, SEEK_END) == 5 * (off_t)XENSIM_PAGE_SIZE,
		      "dma-buf size %lld", (long long)lseek(fd, 0, SEEK_END));
		m = mmap(NULL, 5 * XENSIM_PAGE_SIZE, PROT_READ, MAP_SHARED, fd,
			 0);
		CHECK(m != MAP_FAILED, "mmap dma-buf: %s", strerror(errno));
		for (int i = 0; i < 5; i++) {
			for (int o = 0; o < (int)XENSIM_PAGE_SIZE; o += 512) {
				CHECK(m[i * XENSIM_PAGE_SIZE + o] == want[i],
				      "page %d byte %d: %02x", i, o,
				      m[i * XENSIM_PAGE_SIZE + o]);
			}
		}
		/* The guest draws after the export: seen, nothing copied. */
		pa[XENSIM_PAGE_SIZE + 7] = 0x99;
		pb[0] = 0x98;
		CHECK(m[2 * XENSIM_PAGE_SIZE + 7] == 0x99 &&
		      m[3 * XENSIM_PAGE_SIZE] == 0x98,
		      "later guest writes not seen: %02x %02x",
		      m[2 * XENSIM_PAGE_SIZE + 7], m[3 * XENSIM_PAGE_SIZE]);
		/* It outlives revoke and the granter's connection. */
		CHECK(xensim_gnt_revoke(g, 3, ra) == 0, "revoke");
		munmap(pa, 3 * XENSIM_PAGE_SIZE);
		munmap(pb, 2 * XENSIM_PAGE_SIZE);
		close(fa);
		close(fb);
		xensim_close(g);
		CHECK(m[0] == 0x41 && m[XENSIM_PAGE_SIZE] == 0x30 &&
		      m[2 * XENSIM_PAGE_SIZE + 7] == 0x99,
		      "dma-buf lost its pages after revoke and close");
		munmap(m, 5 * XENSIM_PAGE_SIZE);
		close(fd);
	}
	/* The grants are gone now: exports fail like maps. */
	fd = xensim_gnt_export_fd(xs0, (uint16_t)d1, 1, &ra[0], false, &off);
	CHECK(fd == -ENOENT, "export of an ended grant: %d", fd);
	CHECK(xensim_gnt_export_fd(xs0, (uint16_t)d1, 1,
				   &(uint32_t){ 0 }, false, &off) == -ENOENT,
	      "export of ref 0");
	CHECK(xensim_gnt_export_fd(xs0, 99, 1, &rc, false, &off) == -ESRCH,
	      "export from no domain");

	/* A grant to another domain: refused before any dma-buf is made. */
	g = sim_open((uint16_t)d1);
	fa = xensim_gnt_share(g, (uint16_t)d2, 1, true, &rc);
	CHECK(fa >= 0, "share");
	fd = xensim_gnt_export_fd(xs0, (uint16_t)d1, 1, &rc, false, &off);
	CHECK(fd == -EACCES, "export of another domain's grant: %d", fd);
	close(fa);
	xensim_close(g);

	usleep(100000);
	CHECK(count_fds(getpid()) == fds0, "our fds: %d, were %d",
	      count_fds(getpid()), fds0);
	/* xensimd keeps one more: /dev/udmabuf, opened on the first export. */
	CHECK(count_fds(sim.pid) <= dfds0 + 1, "xensimd fds: %d, were %d",
	      count_fds(sim.pid), dfds0);
	xensim_close(xs0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "perms", test_perms },
	{ "transaction", test_transaction },
	{ "watch", test_watch },
	{ "grants", test_grants },
	{ "evtchn", test_evtchn },
	{ "killtx", test_killtx },
	{ "malformed", test_malformed },
	{ "droppedfd", test_droppedfd },
	{ "udmabuf", test_udmabuf },
};

int
main(int argc, char **argv)
{
	int status;
	char path[128];
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: test-xensim TEST\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(argv[1], tests[i].name) != 0) {
			continue;
		}
		if (strcmp(argv[1], "udmabuf") == 0 && !have_udmabuf()) {
			printf("SKIP: no usable /dev/udmabuf (%s); the dmabuf "
			       "suite runs this test in a VM that has one\n",
			       strerror(errno));
			return 77;
		}
		sim_start();
		tests[i].fn();
		/* Clean exit on SIGTERM, sockets removed. */
		kill(sim.pid, SIGTERM);
		CHECK(waitpid(sim.pid, &status, 0) == sim.pid, "waitpid");
		sim.pid = 0;
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "xensimd exit status %x", status);
		snprintf(path, sizeof(path), "%s/xenstored", sim.dir);
		CHECK(stat(path, &st) < 0, "socket left behind");
		/* A sanitizer build of xensimd reports into its stderr. */
		{
			static char log[65536];
			sim_log(log, sizeof(log));
			CHECK(!strstr(log, "Sanitizer") &&
			      !strstr(log, "runtime error"),
			      "xensimd log:\n%s", log);
		}
		sim_stop();
		printf("%s: ok\n", argv[1]);
		return 0;
	}
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
