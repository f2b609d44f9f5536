"""A deliberately buggy VHD reader for the explorer's test: it follows a differencing chain
(parent by the header's parent unicode name, beside the child) but ignores sector bitmaps, so
every sector of an allocated block is taken from that block, never from the parent.

Usage: toy_reader_ignores_bitmaps.py IMAGE OUT. Exit 0 read, 1 refused."""
import os
import struct
import sys


def read_level(path, depth=0):
    with open(path, "rb") as f:
        data = f.read()
    if depth > 8 or len(data) < 512:
        raise ValueError("bad image")
    footer = data[-512:]
    if footer[:8] != b"conectix":
        raise ValueError("no footer")
    size = struct.unpack(">Q", footer[48:56])[0]
    kind = struct.unpack(">I", footer[60:64])[0]
    if kind == 2:
        return bytearray(data[:size].ljust(size, b"\0"))
    off = struct.unpack(">Q", footer[16:24])[0]
    hdr = data[off:off + 1024]
    if hdr[:8] != b"cxsparse":
        raise ValueError("no header")
    bat_off = struct.unpack(">Q", hdr[16:24])[0]
    entries = struct.unpack(">I", hdr[28:32])[0]
    block = struct.unpack(">I", hdr[32:36])[0]
    bitmap = ((block // 512 + 7) // 8 + 511) // 512 * 512
    if kind == 4:
        name = hdr[64:576].decode("utf-16-be", "replace").split("\0")[0]
        name = name.replace("\\", "/").split("/")[-1]
        out = read_level(os.path.join(os.path.dirname(path), name), depth + 1)
        out = out[:size].ljust(size, b"\0")
    else:
        out = bytearray(size)
    for i in range(entries):
        e = struct.unpack(">I", data[bat_off + 4 * i:bat_off + 4 * i + 4])[0]
        if e == 0xFFFFFFFF:
            continue
        start = e * 512 + bitmap
        lo = i * block
        n = min(block, size - lo)
        if n > 0:
            out[lo:lo + n] = data[start:start + n].ljust(n, b"\0")
    return out


def main():
    try:
        out = read_level(sys.argv[1])
    except (ValueError, OSError, struct.error) as e:
        print(e, file=sys.stderr)
        return 1
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    return 0


sys.exit(main())
