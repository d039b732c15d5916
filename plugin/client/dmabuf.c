/* SPDX-License-Identifier: MIT */
/*
 * dmabuf: what the compositor's zwp_linux_dmabuf_v1 offers. Version 3
 * lists format/modifier pairs; version 4 sends them through the default
 * feedback (a format table and tranches of indices into it) and names the
 * main device, from which we learn whether a GPU imports our dma-bufs
 * (display_dmabuf_gpu(): the core sends dma-bufs that cannot be mmap-ed
 * only to one).
 */
#include <dirent.h>

#include "private.h"

static void
add_dmabuf_format(struct vd_display *d, uint32_t fourcc, uint64_t modifier)
{
	struct dmabuf_format *f = wl_array_add(&d->dmabuf_formats,
					       sizeof(*f));

	if (f) {
		f->fourcc = fourcc;
		f->modifier = modifier;
	}
}

static void
dmabuf_format(void *data, struct zwp_linux_dmabuf_v1 *dmabuf,
	      uint32_t format)
{
	/* v1/v2 only; v3 sends modifier events for every format too. */
}

static void
dmabuf_modifier(void *data, struct zwp_linux_dmabuf_v1 *dmabuf,
		uint32_t format, uint32_t hi, uint32_t lo)
{
	add_dmabuf_format(data, format, ((uint64_t)hi << 32) | lo);
}

static const struct zwp_linux_dmabuf_v1_listener dmabuf_listener = {
	.format = dmabuf_format,
	.modifier = dmabuf_modifier,
};

/*
 * Is the DRM device @dev one that imports dma-bufs into GPU memory: a
 * render node, or a card with one (KMS-only devices such as simpledrm or
 * vkms have none, and Mesa renders on them with llvmpipe), but not vgem
 * (a render node with no GPU behind it)?
 */
static bool
drm_dev_is_gpu(dev_t dev)
{
	char path[96], link[256];
	const char *drv;
	struct dirent *e;
	bool render = false;
	ssize_t n;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/driver",
		 major(dev), minor(dev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		drv = strrchr(link, '/');
		if (strcmp(drv ? drv + 1 : link, "vgem") == 0) {
			return false;
		}
	}
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/drm",
		 major(dev), minor(dev));
	dir = opendir(path);
	if (!dir) {
		return false;
	}
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "renderD", 7) == 0) {
			render = true;
		}
	}
	closedir(dir);
	return render;
}

static void
feedback_done(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb)
{
	struct vd_display *d = data;

	if (d->fb_table) {
		munmap((void *)d->fb_table, d->fb_table_size);
		d->fb_table = NULL;
	}
	d->fb_round_started = false;
	d->dmabuf_gpu = d->dmabuf_main_dev_known &&
		drm_dev_is_gpu(d->dmabuf_main_dev);
	trace(d, "linux-dmabuf feedback: main device %s%u:%u, %s",
	      d->dmabuf_main_dev_known ? "" : "(none) ",
	      major(d->dmabuf_main_dev), minor(d->dmabuf_main_dev),
	      d->dmabuf_gpu ? "a GPU" : "no GPU");
}

static void
feedback_format_table(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb,
		      int32_t fd, uint32_t size)
{
	struct vd_display *d = data;
	void *p;

	if (d->fb_table) {
		munmap((void *)d->fb_table, d->fb_table_size);
		d->fb_table = NULL;
	}
	p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) :
		MAP_FAILED;
	close(fd);
	if (p == MAP_FAILED) {
		vd_log("window client: cannot map the dma-buf format table "
		       "(%u bytes): %s", size, strerror(errno));
		return;
	}
	d->fb_table = p;
	d->fb_table_size = size;
}

static void
feedback_main_device(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb,
		     struct wl_array *device)
{
	struct vd_display *d = data;

	if (device->size == sizeof(dev_t)) {
		memcpy(&d->dmabuf_main_dev, device->data, sizeof(dev_t));
		d->dmabuf_main_dev_known = true;
	}
}

static void
feedback_tranche_done(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb)
{
}

static void
feedback_tranche_target_device(void *data,
			       struct zwp_linux_dmabuf_feedback_v1 *fb,
			       struct wl_array *device)
{
}

static void
feedback_tranche_formats(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb,
			 struct wl_array *indices)
{
	struct vd_display *d = data;
	size_t n = d->fb_table_size / sizeof(struct dmabuf_table_entry);
	const uint16_t *idx;

	if (!d->fb_round_started) {
		/* The formats of this round replace those of the last. */
		d->fb_round_started = true;
		d->dmabuf_formats.size = 0;
	}
	wl_array_for_each(idx, indices) {
		if (d->fb_table && *idx < n) {
			add_dmabuf_format(d, d->fb_table[*idx].format,
					  d->fb_table[*idx].modifier);
		}
	}
}

static void
feedback_tranche_flags(void *data, struct zwp_linux_dmabuf_feedback_v1 *fb,
		       uint32_t flags)
{
}

static const struct zwp_linux_dmabuf_feedback_v1_listener feedback_listener = {
	.done = feedback_done,
	.format_table = feedback_format_table,
	.main_device = feedback_main_device,
	.tranche_done = feedback_tranche_done,
	.tranche_target_device = feedback_tranche_target_device,
	.tranche_formats = feedback_tranche_formats,
	.tranche_flags = feedback_tranche_flags,
};

void
dmabuf_bind(struct vd_display *d, struct wl_registry *reg, uint32_t name,
	    uint32_t version)
{
	d->dmabuf = wl_registry_bind(reg, name, &zwp_linux_dmabuf_v1_interface,
				     version < 4 ? version : 4);
	zwp_linux_dmabuf_v1_add_listener(d->dmabuf, &dmabuf_listener, d);
	if (version >= 4) {
		d->dmabuf_feedback =
			zwp_linux_dmabuf_v1_get_default_feedback(d->dmabuf);
		zwp_linux_dmabuf_feedback_v1_add_listener(d->dmabuf_feedback,
							  &feedback_listener,
							  d);
	}
}

void
dmabuf_unbind(struct vd_display *d)
{
	if (d->dmabuf_feedback) {
		zwp_linux_dmabuf_feedback_v1_destroy(d->dmabuf_feedback);
		d->dmabuf_feedback = NULL;
	}
	if (d->fb_table) {
		munmap((void *)d->fb_table, d->fb_table_size);
		d->fb_table = NULL;
	}
	if (d->dmabuf) {
		zwp_linux_dmabuf_v1_destroy(d->dmabuf);
		d->dmabuf = NULL;
	}
}

bool
display_dmabuf_gpu(const struct vd_display *d)
{
	return d && d->dmabuf && d->dmabuf_gpu;
}

bool
display_dmabuf_supports(const struct vd_display *d, uint32_t drm_fourcc)
{
	const struct dmabuf_format *f;

	if (!d || !d->dmabuf) {
		return false;
	}
	wl_array_for_each(f, &d->dmabuf_formats) {
		if (f->fourcc == drm_fourcc &&
		    f->modifier == DRM_FORMAT_MOD_LINEAR) {
			return true;
		}
	}
	return false;
}
