/* SPDX-License-Identifier: MIT */
/*
 * helper: one supervised vdispl-backend process (helper.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libweston/libweston.h>
#include <weston/weston.h>

#include "helper.h"

/* The backend's SIGTERM path: a few xenstore writes per guest. */
#define HELPER_STOP_WAIT_MS 3000

extern char **environ;

struct helper {
	struct helper_env env;
	char *domain;			/* NULL: every guest */
	pid_t pid;			/* -1 between runs */
	int pidfd;
	struct wl_event_source *pid_source;
	int err_fd;
	struct wl_event_source *err_source;
	char line[1024];
	size_t len;
	struct wl_client *client;
	struct wl_listener client_destroy;
	struct wl_event_source *restart_timer;
	uint64_t started_ms;
	unsigned int starts;
	unsigned int quick_exits;	/* exits before HELPER_HEALTHY_MS */
	bool stopping;
	bool retired;			/* free itself once the process ended */
	struct wl_list link;		/* retiring, while retired */
#ifdef HAVE_WET_WATCH_PROCESS
	struct weston_process wproc;	/* in the frontend's child list */
	bool watched;
#endif
	bool status_known;
	int status;
};

static void helper_exited(struct helper *h);

/* Retired helpers whose process has not ended yet. */
static struct wl_list retiring = { &retiring, &retiring };

/* "all guests" or "the guests of domain 3", for log lines. */
static const char *
served(struct helper *h)
{
	static char what[64];

	if (!h->domain) {
		return "all guests";
	}
	snprintf(what, sizeof(what), "the guests of domain %s", h->domain);
	return what;
}

/* --- stderr --------------------------------------------------------------- */

static void
emit_line(struct helper *h)
{
	const char *s = h->line;
	int scope = VD_SCOPE_COUNT;

	h->line[h->len] = '\0';
	for (int i = 0; i < VD_SCOPE_COUNT; i++) {
		size_t n = strlen(vd_scope_names[i]);

		if (s[0] == '[' && strncmp(s + 1, vd_scope_names[i], n) == 0 &&
		    s[n + 1] == ']' && s[n + 2] == ' ') {
			scope = i;
			s += n + 3;
			break;
		}
	}
	h->env.line(h->env.data, h, scope, s);
	h->len = 0;
}

/* Forward what is there, a bounded amount per call. False at EOF. */
static bool
drain_stderr(struct helper *h)
{
	char buf[4096];

	for (int round = 0; round < 16; round++) {
		ssize_t n = read(h->err_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return errno == EAGAIN;
		}
		if (n == 0) {
			if (h->len) {
				emit_line(h);
			}
			return false;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit_line(h);
			} else if (h->len < sizeof(h->line) - 1) {
				h->line[h->len++] = buf[i];
			} else {
				/* Over-long: cut here, go on with the rest. */
				emit_line(h);
				h->line[h->len++] = buf[i];
			}
		}
	}
	return true;
}

static void
close_stderr(struct helper *h)
{
	if (h->err_source) {
		wl_event_source_remove(h->err_source);
		h->err_source = NULL;
	}
	if (h->err_fd >= 0) {
		close(h->err_fd);
		h->err_fd = -1;
	}
	h->len = 0;
}

static int
stderr_readable(int fd, uint32_t mask, void *data)
{
	struct helper *h = data;

	if (!drain_stderr(h)) {
		close_stderr(h);
	}
	return 0;
}

/* --- Process -------------------------------------------------------------- */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
client_destroyed(struct wl_listener *listener, void *data)
{
	struct helper *h = wl_container_of(listener, h, client_destroy);

	/* Hangup, a protocol error, or the compositor going away. */
	wl_list_remove(&h->client_destroy.link);
	h->client = NULL;
}

static void
drop_client(struct helper *h)
{
	struct wl_client *client = h->client;

	if (client) {
		wl_list_remove(&h->client_destroy.link);
		h->client = NULL;
		wl_client_destroy(client);
	}
}

#ifdef HAVE_WET_WATCH_PROCESS
static void
reaped_by_frontend(struct weston_process *proc, int status)
{
	struct helper *h = wl_container_of(proc, h, wproc);

	/* The frontend took it off its list before calling us. */
	h->watched = false;
	h->status_known = true;
	h->status = status;
	helper_exited(h);
}
#endif

static void
unwatch(struct helper *h)
{
#ifdef HAVE_WET_WATCH_PROCESS
	if (h->watched) {
		wl_list_remove(&h->wproc.link);
		h->watched = false;
	}
#endif
}

/* Collect the exit status ourselves if the frontend has not. */
static void
reap(struct helper *h, bool block)
{
	siginfo_t si;

	if (h->status_known || h->pid <= 0) {
		return;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)h->pid, &si,
		   WEXITED | (block ? 0 : WNOHANG)) == 0 && si.si_pid) {
		unwatch(h);
		h->status_known = true;
		h->status = si.si_code == CLD_EXITED ?
			W_EXITCODE(si.si_status, 0) : si.si_status & 0x7f;
	}
}

static int
pidfd_readable(int fd, uint32_t mask, void *data)
{
	struct helper *h = data;

	reap(h, false);
	helper_exited(h);
	return 0;
}

static char *
describe_status(const struct helper *h, char *buf, size_t len)
{
	if (!h->status_known) {
		snprintf(buf, len, "ended (status collected elsewhere)");
	} else if (WIFEXITED(h->status)) {
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(h->status));
	} else if (WIFSIGNALED(h->status)) {
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(h->status), strsignal(WTERMSIG(h->status)));
	} else {
		snprintf(buf, len, "ended with status 0x%x", h->status);
	}
	return buf;
}

static void
helper_exited(struct helper *h)
{
	uint64_t ran;
	unsigned int delay;
	char why[96];

	if (h->pid <= 0) {
		return;		/* this run was already handled */
	}
	ran = now_ms() - h->started_ms;
	/* Its last words first. */
	while (h->err_fd >= 0 && drain_stderr(h)) {
		struct pollfd p = { .fd = h->err_fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0) {
			break;
		}
	}
	close_stderr(h);
	unwatch(h);
	if (h->pid_source) {
		wl_event_source_remove(h->pid_source);
		h->pid_source = NULL;
	}
	if (h->pidfd >= 0) {
		close(h->pidfd);
		h->pidfd = -1;
	}
	/* Its windows go with its connection. */
	drop_client(h);
	weston_log("vdispl: backend for %s (pid %d) %s after %.1f s\n",
		   served(h), (int)h->pid,
		   describe_status(h, why, sizeof(why)), (double)ran / 1000.0);
	h->pid = -1;
	if (h->retired) {
		wl_list_remove(&h->link);
		wl_event_source_remove(h->restart_timer);
		free(h->domain);
		free(h);
		return;
	}
	if (h->stopping) {
		return;
	}
	if (ran >= HELPER_HEALTHY_MS) {
		h->quick_exits = 0;
	}
	delay = h->quick_exits == 0 ? 1 :
		1000u << (h->quick_exits - 1 < 5 ? h->quick_exits - 1 : 5);
	if (delay > HELPER_MAX_DELAY_MS) {
		delay = HELPER_MAX_DELAY_MS;
	}
	h->quick_exits++;
	if (delay <= 1) {
		weston_log("vdispl: restarting the backend for %s now\n",
			   served(h));
	} else {
		weston_log("vdispl: restarting the backend for %s in %.1f s\n",
			   served(h), (double)delay / 1000.0);
	}
	wl_event_source_timer_update(h->restart_timer, (int)delay);
}

/* The backend's end of the Wayland socket, after stdin/out/err. */
#define CHILD_SOCK_FD 3

/* Everything the child needs, made before fork(): after it, only
 * async-signal-safe calls (the compositor may have threads). */
struct launch {
	char *argv[8];
	char **envp;
	char sock_env[32];
};

static void
launch_free(struct launch *l)
{
	for (size_t i = 0; i < sizeof(l->argv) / sizeof(l->argv[0]); i++) {
		free(l->argv[i]);
	}
	free(l->envp);
}

static bool
launch_prepare(struct helper *h, struct launch *l)
{
	size_t n = 0, e = 0;
	int a = 0;

	memset(l, 0, sizeof(*l));
	l->argv[a++] = strdup(h->env.backend_path);
	if (h->env.config_path &&
	    asprintf(&l->argv[a++], "--config=%s", h->env.config_path) < 0) {
		l->argv[--a] = NULL;
		return false;
	}
	if (h->domain &&
	    asprintf(&l->argv[a++], "--domain=%s", h->domain) < 0) {
		l->argv[--a] = NULL;
		return false;
	}
	/* One stats file per process. */
	if (h->domain && h->env.stats_file &&
	    asprintf(&l->argv[a++], "--set=stats-file=%s.%s",
		     h->env.stats_file, h->domain) < 0) {
		l->argv[--a] = NULL;
		return false;
	}
	if (h->env.trace_scopes && h->env.trace_scopes(h->env.data) &&
	    asprintf(&l->argv[a++], "--trace=%s",
		     h->env.trace_scopes(h->env.data)) < 0) {
		l->argv[--a] = NULL;
		return false;
	}
	for (int i = 0; i < a; i++) {
		if (!l->argv[i]) {
			return false;
		}
	}
	while (environ[n]) {
		n++;
	}
	l->envp = calloc(n + 2, sizeof(*l->envp));
	if (!l->envp) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "WAYLAND_SOCKET=", 15) != 0 &&
		    strncmp(environ[i], "WAYLAND_DISPLAY=", 16) != 0) {
			l->envp[e++] = environ[i];
		}
	}
	/* child() puts the socket there. */
	snprintf(l->sock_env, sizeof(l->sock_env), "WAYLAND_SOCKET=%d",
		 CHILD_SOCK_FD);
	l->envp[e++] = l->sock_env;
	return true;
}

/*
 * Every fd but these four is closed before exec: the compositor's own
 * fds that lack FD_CLOEXEC (a renderer's memfds, /dev/udmabuf, whatever a
 * module opened) are none of the backend's business.
 */
static void
close_from(int first)
{
	struct rlimit rl;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0u, 0) == 0) {
		return;
	}
#endif
	/* Before Linux 5.9. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 1u << 20) {
		rl.rlim_cur = 1u << 20;
	}
	for (int fd = first; fd < (int)rl.rlim_cur; fd++) {
		close(fd);
	}
}

static void __attribute__((noreturn))
child(const struct launch *l, int sock, int err, int null)
{
	static const char msg[] = "vdispl-backend: exec failed\n";
	sigset_t all;

	/* Not the compositor's signal mask, nor its session. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	setsid();
	/* Out of the way of 0..3 first, whatever numbers they had. */
	sock = fcntl(sock, F_DUPFD, 10);
	err = fcntl(err, F_DUPFD, 10);
	null = fcntl(null, F_DUPFD, 10);
	if (sock < 0 || err < 0 || null < 0 ||
	    dup2(null, STDIN_FILENO) < 0 || dup2(err, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0 || dup2(sock, CHILD_SOCK_FD) < 0) {
		_exit(126);
	}
	close_from(CHILD_SOCK_FD + 1);
	execve(l->argv[0], l->argv, l->envp);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

static bool
spawn(struct helper *h)
{
	struct wl_event_loop *loop = h->env.loop;
	struct launch l;
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, null = -1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0 ||
	    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    !launch_prepare(h, &l)) {
		weston_log("vdispl: cannot prepare the backend: %s\n",
			   strerror(errno));
		goto err_fds;
	}
	pid = fork();
	if (pid < 0) {
		weston_log("vdispl: cannot fork the backend: %s\n",
			   strerror(errno));
		launch_free(&l);
		goto err_fds;
	}
	if (pid == 0) {
		child(&l, sv[1], ep[1], null);
	}
	launch_free(&l);
	close(sv[1]);
	close(ep[1]);
	close(null);
	h->pid = pid;
	h->status_known = false;
	h->started_ms = now_ms();
	h->starts++;
	h->err_fd = ep[0];
	fcntl(h->err_fd, F_SETFL, O_NONBLOCK);
	h->err_source = wl_event_loop_add_fd(loop, h->err_fd,
					     WL_EVENT_READABLE,
					     stderr_readable, h);
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (h->pidfd >= 0) {
		h->pid_source = wl_event_loop_add_fd(loop, h->pidfd,
						     WL_EVENT_READABLE,
						     pidfd_readable, h);
	}
#ifdef HAVE_WET_WATCH_PROCESS
	h->wproc.pid = pid;
	h->wproc.cleanup = reaped_by_frontend;
	wet_watch_process(h->env.ec, &h->wproc);
	h->watched = true;
#endif
	/* The compositor owns sv[0] from here, even on failure. */
	h->client = wl_client_create(h->env.server, sv[0]);
	if (h->client) {
		h->client_destroy.notify = client_destroyed;
		wl_client_add_destroy_listener(h->client, &h->client_destroy);
	} else {
		close(sv[0]);
		weston_log("vdispl: cannot create the backend's client\n");
		kill(pid, SIGKILL);
	}
	if (!h->err_source || (!h->pid_source && h->pidfd >= 0)) {
		weston_log("vdispl: cannot watch the backend (pid %d)\n",
			   (int)pid);
		kill(pid, SIGKILL);
	}
	if (h->pidfd < 0) {
		/* No pidfd (kernel < 5.3): stderr EOF stands for the exit. */
		weston_log("vdispl: no pidfd (%s); watching the backend's "
			   "stderr only\n", strerror(errno));
	}
	return true;

err_fds:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0) {
			close(sv[i]);
		}
		if (ep[i] >= 0) {
			close(ep[i]);
		}
	}
	if (null >= 0) {
		close(null);
	}
	return false;
}

static int
restart_due(void *data)
{
	struct helper *h = data;

	if (h->retired && h->pid > 0) {
		weston_log("vdispl: backend (pid %d) ignored SIGTERM for %d ms; "
			   "killing it\n", (int)h->pid, HELPER_STOP_WAIT_MS);
		kill(h->pid, SIGKILL);
		return 0;
	}
	if (h->pid <= 0 && !h->stopping && !spawn(h)) {
		/* Counts as a quick exit: back off. */
		h->quick_exits++;
		wl_event_source_timer_update(h->restart_timer,
					     (int)HELPER_MAX_DELAY_MS);
	}
	return 0;
}

/* --- API ------------------------------------------------------------------ */

struct helper *
helper_create(const struct helper_env *env, const char *domain)
{
	struct helper *h = calloc(1, sizeof(*h));

	if (!h) {
		return NULL;
	}
	h->env = *env;
	h->pid = -1;
	h->pidfd = -1;
	h->err_fd = -1;
	h->domain = domain ? strdup(domain) : NULL;
	h->restart_timer = wl_event_loop_add_timer(env->loop, restart_due, h);
	if ((domain && !h->domain) || !h->restart_timer) {
		helper_destroy(h);
		return NULL;
	}
	if (!spawn(h)) {
		/* Try again later rather than never. */
		wl_event_source_timer_update(h->restart_timer,
					     (int)HELPER_MAX_DELAY_MS);
	}
	return h;
}

void
helper_destroy(struct helper *h)
{
	uint64_t deadline;

	if (!h) {
		return;
	}
	if (h->retired) {
		/* helper_exited() frees it. */
		h->retired = false;
		wl_list_remove(&h->link);
	}
	h->stopping = true;
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		deadline = now_ms() + HELPER_STOP_WAIT_MS;
		/* Forward its goodbye lines while it closes the guests. */
		while (!h->status_known && now_ms() < deadline) {
			struct pollfd p[2] = {
				{ .fd = h->err_fd, .events = POLLIN },
				{ .fd = h->pidfd, .events = POLLIN },
			};

			if (poll(p, 2, 50) > 0 && (p[0].revents & POLLIN) &&
			    !drain_stderr(h)) {
				close_stderr(h);
			}
			reap(h, false);
		}
		if (!h->status_known) {
			weston_log("vdispl: backend (pid %d) ignored SIGTERM "
				   "for %d ms; killing it\n", (int)h->pid,
				   HELPER_STOP_WAIT_MS);
			kill(h->pid, SIGKILL);
			reap(h, true);
		}
		helper_exited(h);
	}
	if (h->restart_timer) {
		wl_event_source_remove(h->restart_timer);
	}
	free(h->domain);
	free(h);
}

void
helper_destroy_retired(void)
{
	while (!wl_list_empty(&retiring)) {
		struct helper *h = wl_container_of(retiring.next, h, link);

		helper_destroy(h);
	}
}

void
helper_retire(struct helper *h)
{
	if (!h) {
		return;
	}
	if (h->pid <= 0) {
		helper_destroy(h);
		return;
	}
	h->stopping = true;
	h->retired = true;
	wl_list_insert(&retiring, &h->link);
	kill(h->pid, SIGTERM);
	wl_event_source_timer_update(h->restart_timer, HELPER_STOP_WAIT_MS);
}

pid_t
helper_pid(const struct helper *h)
{
	return h->pid;
}

const char *
helper_domain(const struct helper *h)
{
	return h->domain ? h->domain : "all";
}

void
helper_trace_on(struct helper *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGUSR1);
	}
}

unsigned int
helper_starts(const struct helper *h)
{
	return h->starts;
}
