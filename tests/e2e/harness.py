#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end test harness: headless Weston, screenshots, scene graph, helpers.

Python 3 stdlib only. Every run gets a private XDG_RUNTIME_DIR, a unique
socket name, an absolute --config, a readiness wait, and is killed by PID
(SIGTERM, then SIGKILL) at the end. Nothing here ever kills by name.

Typical use:

    from harness import Weston, skip, fail

    with Weston(shell='kiosk', renderer='gl', seat=True,
                modules=[build_path('tests/e2e/vdispl-wintest.so')],
                ini={'wintest': {'out': '/tmp/x'}}) as w:
        img = w.screenshot()
        assert img.near(100, 100, 0xff0000)
        print(w.scene_graph())
    # w.returncode is weston's exit status after SIGTERM

Facts this file relies on (Weston 10.0.1 to 14.0.2, checked; 10 to 16 by
their sources):
- weston-screenshooter and weston-debug need weston --debug; the
  screenshooter writes wayland-screenshot-*.png into its cwd, as RGB(A);
  pixels whose X byte is 0 may come out transparent, so compare RGB only.
- The headless backend creates no seat, and kiosk-shell only puts a
  toplevel into its visible layer when it can give it keyboard focus on a
  seat, on every version from 10 to 16. seat=True loads tests/tools/vdispl-testseat.so, a tiny module that
  creates a seat "default" with a pointer and a keyboard.
- Up to Weston 14 the headless backend presents at ~39 Hz with the default
  repaint window (see _write_config); there the config sets
  repaint-window=16 so that the output really runs at the 60 Hz it
  advertises. From 15 on it paces itself and keeps Weston's default.
- weston-info is gone in Weston 14; wayland-info (wayland-utils) replaces
  it: info_tool() gives whichever is installed.
- Exit status 77 means "skipped" to meson; skip() prints the reason.
"""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77
_counter = 0


def skip(reason):
    print(f'SKIP: {reason}', flush=True)
    sys.exit(SKIP)


def fail(reason):
    print(f'FAIL: {reason}', flush=True)
    sys.exit(1)


def build_dir():
    """The meson build dir: $VDISPL_BUILD_DIR (set by tests/e2e/meson.build)
    or ./build."""
    return os.path.abspath(os.environ.get('VDISPL_BUILD_DIR', 'build'))


def build_path(rel):
    return os.path.join(build_dir(), rel)


def wait_for(pred, timeout=10.0, interval=0.05, what='condition'):
    """Poll pred() until it returns a truthy value; return that value.
    Raises TimeoutError naming @what."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f'timed out after {timeout:.1f}s waiting '
                               f'for {what}')
        time.sleep(interval)


# --- processes ---------------------------------------------------------------

class Proc:
    """A child process with its output in a file, stopped by PID.

    ready: a regex that must appear in the output (stdout+stderr) before
    start() returns (None: don't wait)."""

    def __init__(self, argv, env=None, cwd=None, ready=None,
                 ready_timeout=15.0, log_path=None, name=None, pass_fds=()):
        self.argv = [str(a) for a in argv]
        self.pass_fds = tuple(pass_fds)
        self.env = env
        self.cwd = cwd
        self.ready = re.compile(ready) if isinstance(ready, str) else ready
        self.ready_timeout = ready_timeout
        self.name = name or os.path.basename(self.argv[0])
        self._own_log = log_path is None
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix=f'{self.name}-',
                                            suffix='.log')
            os.close(fd)
        self.log_path = log_path
        self.p = None
        self.returncode = None

    def start(self):
        self._logf = open(self.log_path, 'wb')
        self.p = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd,
                                  stdin=subprocess.DEVNULL,
                                  stdout=self._logf,
                                  stderr=subprocess.STDOUT,
                                  pass_fds=self.pass_fds,
                                  start_new_session=True)
        if self.ready is not None:
            try:
                wait_for(self._is_ready, self.ready_timeout,
                         what=f'{self.name} ready line '
                              f'/{self.ready.pattern}/')
            except TimeoutError:
                out = self.output()
                self.stop()
                raise RuntimeError(f'{self.name} not ready; output:\n'
                                   f'{out[-3000:]}')
        return self

    def _is_ready(self):
        if self.p.poll() is not None:
            raise RuntimeError(f'{self.name} exited with {self.p.returncode}'
                               f' before ready; output:\n'
                               f'{self.output()[-3000:]}')
        return self.ready.search(self.output()) is not None

    def output(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, wait, SIGKILL fallback. Returns the exit status
        (negative: killed by that signal). Idempotent."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f'harness: {self.name} (pid {self.p.pid}) ignored '
                      f'SIGTERM for {timeout}s, sending SIGKILL',
                      flush=True)
                self.p.kill()
                self.p.wait()
                self.killed = True
        self.returncode = self.p.returncode
        if not self._logf.closed:
            self._logf.close()
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# --- PNG ---------------------------------------------------------------------

class Image:
    """An RGB image: pixel(x, y) -> 0xRRGGBB."""

    def __init__(self, width, height, rgb):
        self.width = width
        self.height = height
        self.rgb = rgb  # bytes, 3 per pixel

    def pixel(self, x, y):
        i = (y * self.width + x) * 3
        r, g, b = self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]
        return (r << 16) | (g << 8) | b

    def near(self, x, y, colour, tol=8):
        return colour_near(self.pixel(x, y), colour, tol)

    def count(self, colour, tol=8, rect=None):
        """Pixels within @tol of @colour inside rect (x, y, w, h)."""
        x0, y0, w, h = rect or (0, 0, self.width, self.height)
        n = 0
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                if colour_near(self.pixel(x, y), colour, tol):
                    n += 1
        return n

    def find(self, colour, tol=8, step=1):
        """Bounding box (x, y, w, h) of all pixels near @colour, or None.
        step > 1 samples a grid (faster; box edges then within step-1)."""
        minx = miny = None
        maxx = maxy = -1
        rgb = self.rgb
        tr, tg, tb = (colour >> 16) & 255, (colour >> 8) & 255, colour & 255
        for y in range(0, self.height, step):
            row = y * self.width * 3
            for x in range(0, self.width, step):
                i = row + x * 3
                if (abs(rgb[i] - tr) <= tol and abs(rgb[i + 1] - tg) <= tol
                        and abs(rgb[i + 2] - tb) <= tol):
                    if minx is None or x < minx:
                        minx = x
                    if miny is None:
                        miny = y
                    if x > maxx:
                        maxx = x
                    maxy = y
        if minx is None:
            return None
        return (minx, miny, maxx - minx + 1, maxy - miny + 1)

    def describe(self, x, y):
        return f'({x},{y})=#{self.pixel(x, y):06x}'


def colour_near(a, b, tol=8):
    return all(abs(((a >> s) & 255) - ((b >> s) & 255)) <= tol
               for s in (0, 8, 16))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def png_decode(data):
    """Decode an 8-bit, non-interlaced RGB/RGBA/grey PNG to an Image (RGB;
    alpha is ignored on purpose)."""
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG')
    pos = 8
    idat = []
    width = height = ctype = None
    while pos < len(data):
        n, = struct.unpack('>I', data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            width, height, depth, ctype, _, _, interlace = \
                struct.unpack('>IIBBBBB', body)
            if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
                raise ValueError(f'unsupported PNG: depth {depth} '
                                 f'colour type {ctype} interlace {interlace}')
        elif kind == b'IDAT':
            idat.append(body)
        elif kind == b'IEND':
            break
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b''.join(idat))
    stride = width * bpp
    out = bytearray(width * height * 3)
    prev = bytearray(stride)
    p = 0
    for y in range(height):
        ftype = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                ul = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], ul)) & 255
        elif ftype != 0:
            raise ValueError(f'bad PNG filter {ftype}')
        o = y * width * 3
        if ctype == 2:
            out[o:o + width * 3] = line
        elif ctype == 6:
            out[o:o + width * 3:3] = line[0::4]
            out[o + 1:o + width * 3:3] = line[1::4]
            out[o + 2:o + width * 3:3] = line[2::4]
        else:
            g = line[0::bpp]
            out[o:o + width * 3:3] = g
            out[o + 1:o + width * 3:3] = g
            out[o + 2:o + width * 3:3] = g
        prev = line
    return Image(width, height, bytes(out))


# --- Weston ------------------------------------------------------------------

SHELLS = {'desktop': 'desktop-shell.so', 'kiosk': 'kiosk-shell.so',
          'ivi': 'ivi-shell.so'}
_weston_version = None


def weston_version():
    """(major, minor, micro) of the weston on PATH, from weston --version
    ("weston 14.0.2"); (0, 0, 0) if it cannot tell."""
    global _weston_version
    if _weston_version is None:
        try:
            out = subprocess.run(['weston', '--version'], text=True,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=20).stdout
            m = re.search(r'(\d+)\.(\d+)\.(\d+)', out)
            _weston_version = tuple(int(v) for v in m.groups()) if m \
                else (0, 0, 0)
        except (OSError, subprocess.SubprocessError):
            _weston_version = (0, 0, 0)
    return _weston_version


def fd_targets(pid):
    """What each of @pid's open fds points at (readlink of /proc/PID/fd/N,
    e.g. 'socket:[123]', '/dmabuf:', a path); [] once it is gone."""
    d = f'/proc/{pid}/fd'
    try:
        names = os.listdir(d)
    except OSError:
        return []
    out = []
    for fd in names:
        try:
            out.append(os.readlink(os.path.join(d, fd)))
        except OSError:
            pass
    return out


def child_pids(pid, comm):
    """The pids of @pid's children whose command name starts with @comm
    (vdispl.so's supervised vdispl-backend processes, say)."""
    out = []
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open(f'/proc/{p}/stat') as f:
                st = f.read()
            name = st[st.index('(') + 1:st.rindex(')')]
            ppid = int(st[st.rindex(')') + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and name.startswith(comm):
            out.append(int(p))
    return out


def require_seat_input():
    """Skips the test, saying why, where tests/tools/vdispl-testseat.so
    cannot inject input: its notify_*() declarations cover Weston 10 to
    15 (16 passes events as structs)."""
    major = weston_version()[0]
    if not 10 <= major <= 15:
        skip(f'the test seat injects input on Weston 10 to 15; this is '
             f'Weston {major}')


def open_seat_fifo(path):
    """The test's end of the test seat's command FIFO. Opened read-write,
    so it never blocks waiting for weston to open its end: a seat that
    does not read shows as the test's own timeout, with its reason."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CLOEXEC), 'w')


def info_tool():
    """The Wayland global lister installed: wayland-info (wayland-utils),
    or weston-info (Weston up to 13). Skips the test if neither is."""
    for tool in ('wayland-info', 'weston-info'):
        if shutil.which(tool):
            return tool
    skip('neither wayland-info nor weston-info is installed '
         '(apt-get install wayland-utils)')


def renderer_available(renderer):
    """GL needs Mesa's EGL (llvmpipe will do). Returns None if usable, else
    the reason."""
    if renderer == 'pixman':
        return None
    for lib in ('libEGL.so.1', 'libEGL_mesa.so.0'):
        if not any(os.path.exists(os.path.join(d, lib)) for d in
                   ('/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib',
                    '/usr/lib/aarch64-linux-gnu')):
            return f'{lib} not installed (apt-get install libegl1 ' \
                   f'libegl-mesa0 libgl1-mesa-dri)'
    return None


class Weston:
    """Headless weston, one private runtime dir per instance.

    shell: 'desktop' | 'kiosk'; renderer: 'pixman' | 'gl'.
    modules: list of module paths (absolute, or names in weston's moduledir).
    seat: load the test seat module (needed by kiosk-shell).
    ini: {section: {key: value}} merged into the generated weston.ini.
    scopes: --logger-scopes value (e.g. 'log,vdispl').
    ready: extra regex that must appear in weston's log before start()
    returns (e.g. a line the module prints once its client is up).
    scale: the output's scale (--scale; headless: width x height are
    pixels, the desktop is width/scale x height/scale).
    """

    def __init__(self, shell='desktop', renderer='pixman', width=800,
                 height=600, modules=(), seat=False, ini=None, scopes=None,
                 ready=None, env=None, keep=False, scale=1, pass_fds=()):
        global _counter
        # fds weston inherits (what a session or launcher would hand it).
        self.pass_fds = tuple(pass_fds)
        if shell not in SHELLS:
            raise ValueError(f'unknown shell {shell}')
        if renderer not in ('pixman', 'gl'):
            raise ValueError(f'unknown renderer {renderer}')
        self.shell = shell
        self.renderer = renderer
        self.width = width
        self.height = height
        self.scale = scale
        # Raw text appended to weston.ini (repeated sections, say).
        self.config_extra = ''
        self.modules = list(modules)
        if seat:
            self.modules.append(build_path('tests/tools/vdispl-testseat.so'))
        self.ini = ini or {}
        self.scopes = scopes
        self.ready = ready
        self.extra_env = env or {}
        self.keep = keep or bool(os.environ.get('VDISPL_KEEP_TMP'))
        _counter += 1
        self.socket = f'vdispl-e2e-{os.getpid()}-{_counter}'
        self.dir = tempfile.mkdtemp(prefix='vdispl-e2e-')
        self.runtime_dir = os.path.join(self.dir, 'xdg')
        os.mkdir(self.runtime_dir, 0o700)
        self.log_path = os.path.join(self.dir, 'weston.log')
        self.config_path = os.path.join(self.dir, 'weston.ini')
        self.proc = None
        self.returncode = None
        self.clients = []
        # Each start-up step's wait (s); the dmabuf suite's emulated VM
        # takes longer (its GL renderer alone loads in 10 to 20 s).
        self.start_timeout = 20

    # The config ------------------------------------------------------------
    def _write_config(self):
        sections = {
            'core': {'idle-time': '0', 'require-input': 'false'},
            'shell': {'panel-position': 'none', 'locking': 'false',
                      'background-color': '0xff000000',
                      'animation': 'none', 'close-animation': 'none',
                      'startup-animation': 'none', 'focus-animation': 'none'},
            'keyboard': {'vt-switching': 'false'},
            'input-method': {'path': ''},
        }
        if weston_version()[0] <= 14:
            # Weston 10 to 14's headless backend finishes a frame a fixed
            # 16 ms after each repaint, and repaints repaint-window ms
            # before the predicted vblank: with the default 7 ms it
            # presents at ~39 Hz while advertising 60 Hz. 16 makes it a
            # 60 Hz display.
            sections['core']['repaint-window'] = '16'
        if self.modules:
            sections['core']['modules'] = ','.join(self.modules)
        for sec, kv in self.ini.items():
            sections.setdefault(sec, {}).update(kv)
        if any(os.path.basename(str(m)) == 'vdispl.so'
               for m in self.modules):
            # The backend from this build, not an installed one; the
            # mode from the test's variant (VDISPL_MODE), unless the test
            # chose one.
            vd = sections.setdefault('vdispl', {})
            vd.setdefault('backend-path',
                          build_path('plugin/backend/vdispl-backend'))
            if os.environ.get('VDISPL_MODE'):
                vd.setdefault('mode', os.environ['VDISPL_MODE'])
        with open(self.config_path, 'w') as f:
            for sec, kv in sections.items():
                f.write(f'[{sec}]\n')
                for k, v in kv.items():
                    f.write(f'{k}={v}\n')
                f.write('\n')
            f.write(self.config_extra)

    def env(self):
        """Environment for a client of this weston."""
        e = dict(os.environ)
        e.pop('WAYLAND_SOCKET', None)
        e.pop('DISPLAY', None)
        e['XDG_RUNTIME_DIR'] = self.runtime_dir
        e['WAYLAND_DISPLAY'] = self.socket
        return e

    def start(self):
        why = renderer_available(self.renderer)
        if why:
            skip(f'{self.renderer} renderer: {why}')
        self._write_config()
        argv = ['weston', '--backend=headless-backend.so',
                f'--use-{self.renderer}',
                f'--shell={SHELLS[self.shell]}',
                f'--socket={self.socket}',
                f'--config={self.config_path}',
                '--debug', f'--width={self.width}',
                f'--height={self.height}', '--idle-time=0',
                f'--log={self.log_path}']
        if self.scopes:
            argv.append(f'--logger-scopes={self.scopes}')
        if self.scale != 1:
            # Headless: the mode is width x height pixels, the desktop
            # width/scale x height/scale.
            argv.append(f'--scale={self.scale}')
        env = self.env()
        del env['WAYLAND_DISPLAY']
        env.update(self.extra_env)
        # Sanitizer builds: an uninstrumented weston that dlopens an ASan
        # module needs libasan preloaded (weston only, not its clients).
        preload = os.environ.get('VDISPL_WESTON_LD_PRELOAD')
        if preload:
            env['LD_PRELOAD'] = preload
            env.setdefault('ASAN_OPTIONS', 'detect_leaks=0')
        if self.renderer == 'gl':
            # llvmpipe: no GPU needed.
            env.setdefault('LIBGL_ALWAYS_SOFTWARE', '1')
        self.proc = Proc(argv, env=env, cwd=self.dir,
                         log_path=os.path.join(self.dir, 'weston.out'),
                         name='weston', pass_fds=self.pass_fds)
        self.proc.start()
        sock = os.path.join(self.runtime_dir, self.socket)
        try:
            wait_for(lambda: self._check_alive() and os.path.exists(sock),
                     self.start_timeout, what='weston socket')
            # The shell's helper clients are launched once the compositor
            # runs; their launch line is our "up" signal for desktop-shell.
            if self.shell == 'desktop':
                wait_for(lambda: self._check_alive() and
                         'weston-desktop-shell' in self.log(), self.start_timeout,
                         what='desktop-shell launch')
            mode_line = self._mode_line()
            if mode_line:
                # The variant really runs in the mode its name says.
                wait_for(lambda: self._check_alive() and
                         mode_line in self.log(), self.start_timeout,
                         what=f'weston log "{mode_line}"')
            if self.ready:
                rx = re.compile(self.ready)
                wait_for(lambda: self._check_alive() and
                         rx.search(self.log()), self.start_timeout,
                         what=f'weston log /{self.ready}/')
        except BaseException:
            self.stop()
            self.dump()
            log = self.log()
            if (self.renderer == 'gl' and self.returncode not in (0, None)
                    and 'failed to create compositor backend' in log
                    and 'gl-renderer' in log):
                skip('weston cannot start its GL renderer here (no usable '
                     'EGL: install libegl1 libegl-mesa0 libgl1-mesa-dri)')
            raise
        return self

    def _mode_line(self):
        """The log line that shows vdispl.so's mode, when VDISPL_MODE
        chose it."""
        mode = os.environ.get('VDISPL_MODE')
        vd = self.ini.get('vdispl', {})
        if (not mode or 'mode' in vd or not any(
                os.path.basename(str(m)) == 'vdispl.so'
                for m in self.modules)):
            return None
        return {'helper': 'vdispl: mode=helper',
                'in-process': 'vdispl: mode=in-process'}[mode]

    def _check_alive(self):
        if not self.proc.alive():
            raise RuntimeError(f'weston exited early with '
                               f'{self.proc.p.returncode}')
        return True

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def dump(self, tail=6000):
        """Print weston's log and output (for failure reports)."""
        print(f'--- weston log ({self.log_path}) ---')
        print(self.log()[-tail:])
        if self.proc:
            out = self.proc.output().strip()
            if out:
                print('--- weston stdout/stderr ---')
                print(out[-tail:])
        sys.stdout.flush()

    def stop(self, timeout=10.0):
        """Stop clients, then weston (SIGTERM, SIGKILL fallback). Returns
        weston's exit status."""
        for c in reversed(self.clients):
            c.stop()
        self.clients = []
        if self.proc is not None and self.returncode is None:
            self.returncode = self.proc.stop(timeout)
        return self.returncode

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is not None:
            self.dump()
        elif self.returncode not in (0, None):
            self.dump()
        self.cleanup()
        return False

    # Clients ---------------------------------------------------------------
    def client(self, argv, ready=None, ready_timeout=15.0, env=None,
               name=None):
        """Start a client of this weston; stopped with it."""
        e = self.env()
        if env:
            e.update(env)
        name = name or os.path.basename(str(argv[0]))
        c = Proc(argv, env=e, cwd=self.dir, ready=ready,
                 ready_timeout=ready_timeout,
                 log_path=os.path.join(self.dir,
                                       f'{name}-{len(self.clients)}.log'),
                 name=name)
        c.start()
        self.clients.append(c)
        return c

    def run(self, argv, timeout=20.0, cwd=None):
        """Run a client to completion; returns CompletedProcess (text)."""
        return subprocess.run([str(a) for a in argv], env=self.env(),
                              cwd=cwd or self.dir, timeout=timeout,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def screenshot(self, save_as=None):
        """Take a screenshot with weston-screenshooter; returns an Image."""
        d = tempfile.mkdtemp(prefix='shot-', dir=self.dir)
        r = self.run(['weston-screenshooter'], cwd=d)
        pngs = [f for f in os.listdir(d) if f.endswith('.png')]
        if r.returncode != 0 or not pngs:
            raise RuntimeError(f'weston-screenshooter failed '
                               f'({r.returncode}): {r.stdout}')
        path = os.path.join(d, pngs[0])
        with open(path, 'rb') as f:
            data = f.read()
        if save_as:
            shutil.copy(path, save_as)
        shutil.rmtree(d, ignore_errors=True)
        return png_decode(data)

    def wait_screenshot(self, pred, timeout=10.0, what='screenshot check'):
        """Take screenshots until pred(img) is true; returns the image.
        On timeout, saves the last one in the run dir and raises."""
        last = [None]

        def attempt():
            last[0] = self.screenshot()
            return pred(last[0])
        try:
            wait_for(attempt, timeout, interval=0.2, what=what)
        except TimeoutError:
            if last[0] is not None:
                self.keep = True
                p = os.path.join(self.dir, 'last-screenshot.ppm')
                save_ppm(last[0], p)
                print(f'harness: last screenshot saved as {p}')
            raise
        return last[0]

    def scene_graph(self, timeout=10.0):
        """The text of `weston-debug scene-graph` (needs --debug)."""
        r = self.run(['weston-debug', 'scene-graph'], timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f'weston-debug failed ({r.returncode}): '
                               f'{r.stdout}')
        return r.stdout


def save_ppm(img, path):
    with open(path, 'wb') as f:
        f.write(b'P6\n%d %d\n255\n' % (img.width, img.height))
        f.write(img.rgb)


def parse_counters(path):
    """Read 'key value' lines (a module's counter file) into a dict of
    ints/strings; {} if the file is missing."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    try:
                        out[parts[0]] = int(parts[1])
                    except ValueError:
                        out[parts[0]] = parts[1]
    except OSError:
        pass
    return out


if __name__ == '__main__':
    # Self-check: weston comes up under both shells and a screenshot
    # decodes to the configured black background.
    for shell in ('desktop', 'kiosk'):
        with Weston(shell=shell, width=320, height=240) as w:
            img = w.screenshot()
            assert (img.width, img.height) == (320, 240), (img.width,
                                                           img.height)
            print(shell, 'ok', img.describe(10, 10))
        print('exit status', w.returncode)
