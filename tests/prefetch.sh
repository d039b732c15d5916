#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Make the caches the later parts of `make check` boot or chroot into,
# while the host's suites run:
#
#   tests/prefetch.sh [DEBIAN13 [DMABUF]]     (each 1 or 0, default 1)
#
# In the order make check needs them: the xen suite's x86 and arm64 images
# (Debian 12), then, with DEBIAN13=1, the Debian 13 root, the x86 images of
# xen-debian13 and, with DMABUF=1, the dmabuf VM's kernel. make check runs
# this in the background at the lowest CPU and I/O priority (its suites
# mostly wait on weston, QEMU and timers). Every cache script takes its
# cache's lock and looks again once it holds it, so a test that needs a
# cache before it is made waits for it, and a cache made here is a hit
# there. Failures are only reported here: the test that needs the cache
# runs the same script and reports them as its own, with the reason.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
debian13=${1:-1}
dmabuf=${2:-1}
t0=$(date +%s)

step() {	# step WHAT COMMAND...
	local what=$1 t rc
	shift
	t=$(date +%s)
	"$@" >/dev/null 2>&1
	rc=$?
	echo "prefetch: $what: exit $rc after $(( $(date +%s) - t )) s"
}

step "xen images, Debian 12, x86" "$src/tests/xen/build-images.sh" 12
step "xen images, Debian 12, arm64" "$src/tests/xen/arm64/build-images.sh" 12
if [ "$debian13" = 1 ]; then
	step "Debian 13 root" "$src/tests/debian13/make-root.sh"
	step "xen images, Debian 13, x86" "$src/tests/xen/build-images.sh" 13
	if [ "$dmabuf" = 1 ]; then
		step "dmabuf VM" "$src/tests/dmabuf/make-vm.sh"
	fi
fi
echo "prefetch: done after $(( $(date +%s) - t0 )) s"
