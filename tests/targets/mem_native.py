"""Native allocations `ferret mem` must see: a block from libc's malloc through ctypes
(NATIVE_MALLOC), an anonymous mapping through the mmap module (NATIVE_MMAP), a zlib
stream's internal state (ZLIB) and an array buffer (ARRAY), all alive at the peak."""
import array
import ctypes
import mmap
import sys
import zlib

MiB = 1 << 20
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


def hold():
    p = libc.malloc(32 * MiB)  # LINE:NATIVE_MALLOC
    ctypes.memset(p, 1, 32 * MiB)
    m = mmap.mmap(-1, 16 * MiB)  # LINE:NATIVE_MMAP
    m.write(b"x" * MiB)
    z = [zlib.compressobj(9, zlib.DEFLATED, 15, 9) for _ in range(8)]  # LINE:ZLIB
    a = array.array("d", bytes(8 * MiB))  # LINE:ARRAY
    n = len(z) + len(a)
    libc.free(p)
    m.close()
    return n


hold()
