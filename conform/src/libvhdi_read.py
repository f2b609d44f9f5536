# libvhdi reader adapter of `vhd-validate conform --impl libvhdi`.
#
# usage: python3 -c "$(cat libvhdi_read.py)" IMAGE OUT [CHUNK]
#
# Opens IMAGE with pyvhdi (python3-libvhdi) and writes its whole media (get_media_size() bytes)
# to OUT as raw bytes, read with read_buffer_at_offset() in aligned pieces of CHUNK bytes
# (default 65536, the order of the reads vhdimount gets through FUSE; libvhdi 20210425 returns
# wrong bytes for a read that crosses a block boundary, which larger pieces would provoke on
# every disk with blocks smaller than CHUNK). A differencing disk's parent is found the way
# libvhdi's own vhdimount finds it: the parent file name stored in the image
# (get_parent_filename()), reduced to its last path component, in the child's directory; then
# set_parent(). Parents are opened
# recursively (at most 64 images, which vhdimount does not limit). Any libvhdi error ends the
# script with a traceback and exit status 1: the runner reads that as "rejected".
import os
import sys

import pyvhdi

MAX_DEPTH = 64
DEFAULT_CHUNK = 1 << 16
OPENED = []  # keeps every file object alive while the child reads through its parents


def open_chain(path, depth):
    f = pyvhdi.file()
    f.open(path)
    OPENED.append(f)
    if f.get_disk_type() == pyvhdi.disk_types.DIFFERENTIAL:
        if depth >= MAX_DEPTH:
            sys.exit("differencing chain longer than %d images" % MAX_DEPTH)
        name = f.get_parent_filename()
        if not name:
            sys.exit("differencing disk without a parent file name")
        base = name.replace("\\", "/").split("/")[-1]
        parent = open_chain(os.path.join(os.path.dirname(path), base), depth + 1)
        f.set_parent(parent)
    return f


def main():
    image, out = sys.argv[1], sys.argv[2]
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_CHUNK
    top = open_chain(image, 1)
    size = top.get_media_size()
    with open(out, "wb") as o:
        off = 0
        while off < size:
            n = min(chunk, size - off)
            b = top.read_buffer_at_offset(n, off)
            if b is None or len(b) != n:
                sys.exit("short read at offset %d" % off)
            o.write(b)
            off += n


main()
