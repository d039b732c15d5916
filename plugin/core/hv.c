/* SPDX-License-Identifier: MIT */
/*
 * hv: choosing the hypervisor interface from the configuration (hv.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "config.h"
#include "hv.h"
#include "log.h"
#include "xensim.h"

const char *
hv_prepare_xenstore(const struct vdispl_config *cfg)
{
	char path[PATH_MAX];
	const char *dir;

	if (strcmp(cfg->hypervisor, "sim") != 0) {
		return "";
	}
	dir = cfg->xensim_dir ? cfg->xensim_dir : getenv(XENSIM_DIR_ENV);
	if (!dir) {
		vd_log("hypervisor=sim needs [vdispl] xensim-dir= or "
		       "$XENSIM_DIR");
		return NULL;
	}
	/* libxenstore finds the simulator through XENSTORED_PATH. */
	if (!getenv("XENSTORED_PATH")) {
		snprintf(path, sizeof(path), "%s/xenstored", dir);
		setenv("XENSTORED_PATH", path, 1);
	}
	return dir;
}

struct hv *
hv_open(const struct vdispl_config *cfg)
{
	const char *dir = hv_prepare_xenstore(cfg);
	struct hv *hv;

	if (!dir) {
		return NULL;
	}
	if (strcmp(cfg->hypervisor, "sim") == 0) {
		hv = hv_sim_create(dir, 0);
	} else {
		hv = hv_xen_create();
	}
	if (!hv) {
		vd_log("cannot open the %s hypervisor interface: %s",
		       cfg->hypervisor, strerror(errno));
	}
	return hv;
}

void
hv_probe_dmabuf_mmap(struct hv *hv, int fd, uint64_t offset)
{
	void *p;

	if (hv->dmabuf_mmap >= 0) {
		return;
	}
	p = mmap(NULL, HV_PAGE_SIZE, PROT_READ, MAP_SHARED, fd,
		 (off_t)(offset & ~(uint64_t)(HV_PAGE_SIZE - 1)));
	hv->dmabuf_mmap = p != MAP_FAILED;
	if (p != MAP_FAILED) {
		munmap(p, HV_PAGE_SIZE);
	}
	vd_log("%s dma-bufs %s be mmap-ed%s", hv->ops->name,
	       hv->dmabuf_mmap ? "can" : "cannot",
	       hv->dmabuf_mmap ? "" : ": only a compositor that imports "
	       "them on a GPU gets them");
}
