#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made seed inputs of the displif fuzz target (the input
layout is documented at the top of fuzz-displif.c) into corpus/. Campaigns
grow the corpus from these; the seeds keep a minimised corpus honest about
the deep paths (multi-page directories, be-alloc fill, every op)."""
import os
import struct
import sys

OP = dict(DBUF_CREATE=0x10, DBUF_DESTROY=0x11, FB_ATTACH=0x12, FB_DETACH=0x13,
          SET_CONFIG=0x14, PG_FLIP=0x15, GET_EDID=0x16)


def fourcc(s):
    return struct.unpack('<I', s.encode())[0]


XR24, AR24, RG16, RG24, YUYV = (fourcc(s) for s in ('XR24', 'AR24', 'RG16', 'RG24', 'YUYV'))


def req(rid, op, body=b''):
    r = struct.pack('<HB5x', rid, op) + body
    return r.ljust(64, b'\0')


def dbuf_create(rid, cookie, w, h, bpp, sz, flags, gref, ofs=0):
    return req(rid, OP['DBUF_CREATE'],
               struct.pack('<QIIIIIII', cookie, w, h, bpp, sz, flags, gref, ofs))


def fb_attach(rid, dbuf, fb, w, h, fmt):
    return req(rid, OP['FB_ATTACH'], struct.pack('<QQIII', dbuf, fb, w, h, fmt))


def set_config(rid, fb, x, y, w, h, bpp):
    return req(rid, OP['SET_CONFIG'], struct.pack('<QIIIII', fb, x, y, w, h, bpp))


def cookie(rid, op, c):
    return req(rid, OP[op], struct.pack('<Q', c))


def get_edid(rid, sz, gref):
    return req(rid, OP['GET_EDID'], struct.pack('<II', sz, gref))


def words(*ws):
    return b''.join(struct.pack('<I', w) for w in ws)


def seed(ctl, reqs, pool):
    return bytes([ctl, len(reqs)]) + b''.join(reqs) + pool


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    seeds = {}

    # A dumb buffer's life, as xen-front sends it: 64x64 XRGB, 4 pages.
    seeds['seed-dumb-flow'] = seed(3, [
        dbuf_create(1, 0x100, 64, 64, 32, 64 * 64 * 4, 0, 1),
        fb_attach(2, 0x100, 0x200, 64, 64, XR24),
        set_config(3, 0x200, 0, 0, 64, 64, 32),
        cookie(4, 'PG_FLIP', 0x200),
        cookie(5, 'FB_DETACH', 0x200),
        cookie(6, 'DBUF_DESTROY', 0x100),
        set_config(7, 0, 0, 0, 0, 0, 0),
    ], words(0, 11, 12, 13, 14) + bytes([200, 50, 7, 130, 255] * 4))

    # 1500 pages: two directory pages (gref 1 -> gref 2), the second at
    # pool offset 4100.
    p1 = words(2, *range(1000, 1000 + 1023)) + b'\0' * 4
    p2 = words(0, *range(3000, 3000 + 477))
    seeds['seed-two-dir-pages'] = seed(2, [
        dbuf_create(1, 0x101, 0, 0, 0, 1500 * 4096, 0, 1, 16),
    ], p1 + p2)

    # Hostile chains over 1500 pages: a self loop, a two-page loop, too
    # short, too long.
    seeds['seed-dir-self-loop'] = seed(2, [
        dbuf_create(1, 0x104, 0, 0, 0, 1500 * 4096, 0, 1),
    ], words(1, *range(1000, 1000 + 1023)) + b'\0' * 4)
    seeds['seed-dir-loop2'] = seed(2, [
        dbuf_create(1, 0x105, 0, 0, 0, 2500 * 4096, 0, 1),
    ], words(2, *range(1000, 1000 + 1023)) + b'\0' * 4
       + words(1, *range(3000, 3000 + 1023)) + b'\0' * 4)
    seeds['seed-dir-short'] = seed(2, [
        dbuf_create(1, 0x106, 0, 0, 0, 1500 * 4096, 1, 1),
    ], words(0, *range(1000, 1000 + 1023)) + b'\0' * 4)
    seeds['seed-dir-long'] = seed(2, [
        dbuf_create(1, 0x107, 0, 0, 0, 1500 * 4096, 0, 1),
    ], p1 + words(3, *range(3000, 3000 + 477)))

    # be-alloc: the frontend's chain only, refs for us to fill.
    seeds['seed-be-alloc'] = seed(3, [
        dbuf_create(1, 0x102, 32, 32, 16, 32 * 32 * 2, 1, 1),
        fb_attach(2, 0x102, 0x202, 32, 32, RG16),
    ], words(0) + bytes(60))

    seeds['seed-edid'] = seed(1, [get_edid(1, 4096, 1)],
                              words(0, 77, 0, 0) + b'guest-name\x1b\xff')

    # A PRIME import, then attach with geometry.
    seeds['seed-prime'] = seed(3, [
        dbuf_create(1, 0x103, 0, 0, 0, 3 * 4096, 0, 1, 100),
        fb_attach(2, 0x103, 0x203, 40, 40, YUYV),
        fb_attach(3, 0x103, 0x204, 17, 9, RG24),
    ], words(0, 5, 6, 7, 8))

    # Every rejection once.
    seeds['seed-rejects'] = seed(0, [
        dbuf_create(1, 0, 8, 8, 32, 256, 0, 1),
        dbuf_create(2, 1, 8, 8, 32, 256, 2, 1),
        dbuf_create(3, 1, 8, 8, 8, 256, 0, 1),
        dbuf_create(4, 1, 4096, 1, 32, 16384, 0, 1),
        dbuf_create(5, 1, 800, 600, 32, 100, 0, 1),
        dbuf_create(6, 1, 0, 0, 0, 0xffffffff, 0, 1),
        dbuf_create(7, 1, 4095, 2047, 32, 0xffffffff, 0, 1, 0xfffffc00),
        fb_attach(8, 1, 2, 8, 8, fourcc('NV12')),
        fb_attach(9, 1, 0, 8, 8, XR24),
        set_config(10, 0, 0, 0, 8, 8, 32),
        set_config(11, 5, 0xffffffff, 0, 2, 2, 32),
        cookie(12, 'PG_FLIP', 0),
        get_edid(13, 127, 1),
        get_edid(14, 0x10000, 1),
        req(15, 0x00), req(16, 0x0f), req(17, 0x17), req(18, 0xff),
    ], words(0, 1, 2, 3))

    # 32 flips in flight, then the guest garbles req_prod (tape bytes < 16).
    seeds['seed-ring-full'] = seed(3, [cookie(i, 'PG_FLIP', 0x300 + i)
                                       for i in range(32)],
                                   bytes([0, 0, 0, 0, 3, 5, 0x21, 0, 0, 0x10] * 8))

    # Event page: in_prod/in_cons near 2^32 (tape starts at pool offset 0).
    seeds['seed-evt-wrap'] = seed(3, [], words(0xffffffe0, 0) + bytes([100] * 8)
                                  + words(0xffffffe0) + bytes([60, 200] * 40))

    # Guest-written xenstore values (the pool's NUL-separated strings):
    # a good set, then hostile ones (newline, escapes, overflow, signs).
    seeds['seed-xs-good'] = seed(0, [], b'\0'.join(
        [b'1920x1080', b'1', b'3', b'8', b'9', b'10', b'11', b'7']) + b'\0')
    seeds['seed-xs-hostile'] = seed(0, [], b'\0'.join(
        [b'800x600\nvdispl: forged', b'1 ', b'-1', b'4294967296',
         b'0x10', b'+5', b'\\x41\x7f\xff', b'4095x2047x']) + b'\0')

    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('make-seeds: wrote %d seeds to %s' % (len(seeds), out))


if __name__ == '__main__':
    sys.exit(main())
