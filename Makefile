# SPDX-License-Identifier: MIT
# A thin layer over meson. Build dir: build/ (BUILD=… to change).
BUILD ?= build
MESON_OPTS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every build and test dependency, from the host's Debian release: 12
# (bookworm: Weston 10, Xen 4.17) or 13 (trixie: Weston 14, Xen 4.20,
# weston.h in weston-dev). Another release gets Debian 12's list.
DEBIAN_VERSION := $(shell . /etc/os-release 2>/dev/null && echo $${VERSION_ID%%.*})
DEB_PACKAGES_12 := libweston-10-dev weston clang libclang-rt-14-dev
DEB_PACKAGES_13 := libweston-14-dev weston-dev weston clang libclang-rt-19-dev
DEB_PACKAGES := \
	gcc libc6-dev pkg-config meson ninja-build python3 \
	$(or $(DEB_PACKAGES_$(DEBIAN_VERSION)),$(DEB_PACKAGES_12)) \
	libwayland-dev wayland-protocols \
	libdrm-dev libpixman-1-dev libxen-dev xenstore-utils \
	libpango1.0-dev libcairo2-dev libfontconfig-dev fonts-dejavu-core \
	pango1.0-tools groff-base man-db \
	libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 \
	qemu-system-x86 debootstrap cpio busybox-static kmod zstd \
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross xz-utils make \
	libelf1 libssl3 \
	sway grim mutter dbus-daemon wayland-utils

.PHONY: all deps build check demo bench clean

all: build

# Installs only what is missing; runs apt-get update first when it must.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:" $$missing; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	else \
		echo "deps: all $(words $(DEB_PACKAGES)) packages present"; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

# The plain build's suites (debian12: the host's release), then
# unit/fuzz/e2e/hostile again under ASan+UBSan (tests/sanitize.sh,
# build-asan/; SANITIZE=0 skips it locally), then unit/xensim/e2e/hostile
# built and run in a Debian 13 root (tests/debian13/run.sh,
# build-debian13/; DEBIAN13=0 skips it locally) and the xen suite on Debian
# 13's images with that build's vdispl.so (suite xen-debian13) and the
# dma-buf backing in a Debian 13 VM with that build (suite dmabuf;
# DMABUF=0 skips it locally), then one closing line over all, each suite
# labelled with its release.
#
# Meanwhile tests/prefetch.sh makes the caches those later parts need (xen
# images, the Debian 13 root, the dmabuf VM) in the background, at the
# lowest CPU and I/O priority; PREFETCH=0 leaves each to its own part.
SANITIZE ?= 1
DEBIAN13 ?= 1
DMABUF ?= 1
PREFETCH ?= 1
HOST_LABEL := debian$(or $(DEBIAN_VERSION),12)
check: deps
	@prefetch=; if [ "$(PREFETCH)" = 1 ]; then \
		d13=$(DEBIAN13); [ "$(HOST_LABEL)" != debian13 ] || d13=0; \
		io=; ! ionice -c 3 true 2>/dev/null || io="ionice -c 3"; \
		nice -n 19 $$io tests/prefetch.sh $$d13 $(DMABUF) \
			>$(BUILD)-prefetch.log 2>&1 & prefetch=$$!; \
	fi; \
	$(MAKE) --no-print-directory build || { \
		[ -z "$$prefetch" ] || wait $$prefetch; exit 1; }; \
	rc=0; meson test -C $(BUILD) --print-errorlogs --no-suite xen-debian13 \
		--no-suite xen-arm64-debian13 --no-suite dmabuf $(TESTOPTS) || rc=$$?; \
	logs="$(BUILD)/meson-logs/testlog.json=$(HOST_LABEL)"; \
	if [ "$(SANITIZE)" = 1 ]; then \
		tests/sanitize.sh $(BUILD)-asan || rc=1; \
		logs="$$logs $(BUILD)-asan/meson-logs/testlog.json=$(HOST_LABEL)-asan --sanitizer-reports $(BUILD)-asan/sanitizer-reports"; \
	fi; \
	if [ "$(DEBIAN13)" = 1 ] && [ "$(HOST_LABEL)" != debian13 ]; then \
		rm -f $(BUILD)-debian13/meson-logs/testlog.json; \
		tests/debian13/run.sh $(BUILD)-debian13; st=$$?; \
		if [ $$st = 77 ]; then \
			echo "check: the Debian 13 part was skipped (reason above)"; \
			logs="$$logs --skipped debian13"; \
		else \
			[ $$st = 0 ] || rc=1; \
			logs="$$logs $(BUILD)-debian13/meson-logs/testlog.json=debian13"; \
			meson test -C $(BUILD) --print-errorlogs --suite xen-debian13 \
				--logbase testlog-xen-debian13 || rc=1; \
			logs="$$logs $(BUILD)/meson-logs/testlog-xen-debian13.json=debian13"; \
			if [ "$(DMABUF)" = 1 ]; then \
				meson test -C $(BUILD) --print-errorlogs --suite dmabuf \
					--logbase testlog-dmabuf || rc=1; \
				logs="$$logs $(BUILD)/meson-logs/testlog-dmabuf.json=debian13"; \
			fi; \
		fi; \
	fi; \
	if [ -n "$$prefetch" ]; then \
		wait $$prefetch; sed 's/^/check: /' $(BUILD)-prefetch.log; \
	fi; \
	python3 tests/summary.py $$logs || rc=1; exit $$rc

demo: deps
	@$(MAKE) --no-print-directory build
	@if [ -x tests/demo.sh ]; then tests/demo.sh $(BUILD); else \
		echo "demo: not available yet (the windows issue builds it)"; exit 1; fi

bench: deps
	@$(MAKE) --no-print-directory build
	@if [ -x tests/bench/run.sh ]; then tests/bench/run.sh $(BUILD); else \
		echo "bench: not available yet (the benchmarks issue builds it)"; exit 1; fi

clean:
	rm -rf $(BUILD)
