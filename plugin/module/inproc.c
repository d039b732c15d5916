/* SPDX-License-Identifier: MIT */
/*
 * inproc: a socketpair client of the compositor we run in (inproc.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wayland-client.h>
#include <wayland-server.h>

#include "inproc.h"

static void
client_destroyed(struct wl_listener *listener, void *data)
{
	struct inproc *ip = wl_container_of(listener, ip, client_destroy);

	/* The compositor killed it (a protocol error) or reaped it. */
	wl_list_remove(&ip->client_destroy.link);
	ip->client = NULL;
}

struct wl_display *
inproc_open(struct inproc *ip, struct wl_display *server)
{
	struct wl_display *conn;
	int sv[2], err;

	ip->client = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return NULL;
	}
	/* The compositor owns sv[0] from here, even on failure. */
	ip->client = wl_client_create(server, sv[0]);
	if (!ip->client) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		errno = err;
		return NULL;
	}
	ip->client_destroy.notify = client_destroyed;
	wl_client_add_destroy_listener(ip->client, &ip->client_destroy);
	conn = wl_display_connect_to_fd(sv[1]);
	if (!conn) {
		/* sv[1] closed by libwayland; the server sees a hangup. */
		err = errno;
		inproc_close(ip);
		errno = err;
	}
	return conn;
}

void
inproc_close(struct inproc *ip)
{
	struct wl_client *client = ip->client;

	if (!client) {
		return;
	}
	wl_list_remove(&ip->client_destroy.link);
	ip->client = NULL;
	wl_client_destroy(client);
}

void
inproc_listen_first(struct wl_signal *signal, struct wl_listener *listener)
{
	/*
	 * wl_signal_add() appends, and the shell, loaded before any module,
	 * registered first. Our teardown destroys our wl_client, which needs
	 * the shell alive, so our listener goes to the front of the list.
	 */
	wl_list_insert(&signal->listener_list, &listener->link);
}
