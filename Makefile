# SPDX-License-Identifier: MIT
# A thin layer over meson. Build dir: build/ (BUILD=… to change).
BUILD ?= build
MESON_OPTS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every build and test dependency, from Debian 12's archive.
DEB_PACKAGES := \
	gcc libc6-dev pkg-config meson ninja-build python3 \
	libweston-10-dev weston libwayland-dev wayland-protocols \
	libdrm-dev libpixman-1-dev libxen-dev xenstore-utils \
	libpango1.0-dev libcairo2-dev libfontconfig-dev fonts-dejavu-core \
	pango1.0-tools groff-base man-db \
	clang libclang-rt-14-dev \
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

# The plain build's suites, then unit/fuzz/e2e/hostile again under
# ASan+UBSan (tests/sanitize.sh, build-asan/; SANITIZE=0 skips it locally),
# then one closing line over both.
SANITIZE ?= 1
check: deps
	@$(MAKE) --no-print-directory build
	@rc=0; meson test -C $(BUILD) --print-errorlogs $(TESTOPTS) || rc=$$?; \
	logs="$(BUILD)/meson-logs/testlog.json"; \
	if [ "$(SANITIZE)" = 1 ]; then \
		tests/sanitize.sh $(BUILD)-asan || rc=1; \
		logs="$$logs $(BUILD)-asan/meson-logs/testlog.json=asan --sanitizer-reports $(BUILD)-asan/sanitizer-reports"; \
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
