#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the dmabuf suite's VM, in the Debian 13 root (see init):
# /src is the source tree, /build the Debian 13 build, /run/out the host's
# output directory. $DMABUF_MODE (from the kernel command line): "test"
# (the suite's checks) or "bench" (make bench's dma-buf rows). Every
# line the host parses starts with "DMABUF-"; each check ends with
#   DMABUF-RESULT <name> PASS|FAIL|SKIP <seconds>
export VDISPL_BUILD_DIR=/build VDISPL_SOURCE_DIR=/src PYTHONDONTWRITEBYTECODE=1
export XDG_RUNTIME_DIR=/run/xdg XENSIMD=/build/tests/xensim/xensimd
mkdir -p -m 700 $XDG_RUNTIME_DIR
out=/run/out
mode=${DMABUF_MODE:-test}
echo "DMABUF-BEGIN mode=$mode udmabuf=$(test -c /dev/udmabuf && echo yes || echo no)" \
	"mesa=$(dpkg-query -W -f='${Version}' libegl-mesa0 2>/dev/null)" \
	"weston=$(dpkg-query -W -f='${Version}' weston 2>/dev/null)"

run() {	# run NAME CMD...: its output in $out/NAME.log
	name=$1
	shift
	t0=$(date +%s)
	"$@" > "$out/$name.log" 2>&1
	rc=$?
	case $rc in
	0) verdict=PASS ;;
	77) verdict=SKIP ;;
	*) verdict=FAIL ;;
	esac
	sed "s/^/DMABUF-LOG $name: /" "$out/$name.log" | tail -n 60
	echo "DMABUF-RESULT $name $verdict $(( $(date +%s) - t0 ))"
}

case $mode in
test)
	run xensim-udmabuf /build/tests/xensim/test-xensim udmabuf
	run dmabuf-weston python3 /src/tests/dmabuf/test_dmabuf.py --out "$out"
	;;
bench)
	run dmabuf-bench python3 /src/tests/bench/bench.py --build /build \
		--vm-dmabuf --out "$out/bench-vm.json"
	;;
*)
	echo "DMABUF-RESULT mode FAIL 0 (unknown mode $mode)"
	;;
esac
echo "DMABUF-END"
