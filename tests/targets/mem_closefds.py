"""Closes every descriptor it did not open itself, ferret's included (os.closerange, as
daemons and some servers do), then opens its own files on the freed numbers (all of
3..700, so whatever number ferret used now names one of them) and writes to them. Keeps
8 MiB before (BEFORE line) and 16 MiB after (AFTER line). argv[1]: a directory for the
files; each must hold only what this program wrote. With argv[2], a directory, it also
removes the ferret-mem-* files there (ferret's stream) first, half a second in."""
import errno
import glob
import os
import sys
import time

MiB = 1 << 20
BEFORE = [bytearray(MiB) for _ in range(8)]  # LINE:BEFORE
if len(sys.argv) > 2:
    # a flush with BEFORE in it: the stream grows after this point (not a fixed sleep, which
    # a loaded machine outlasts before the flush)
    streams = glob.glob(os.path.join(sys.argv[2], "ferret-mem-*"))
    sizes = [os.path.getsize(n) for n in streams]
    deadline = time.monotonic() + 20
    while streams and time.monotonic() < deadline and all(
            os.path.getsize(n) <= z for n, z in zip(streams, sizes)):
        time.sleep(0.05)
    time.sleep(0.1)  # (the flush's write may have begun, not ended)
    for name in streams:
        os.unlink(name)
os.closerange(3, 4096)
mine = os.open(os.path.join(sys.argv[1], "mine.txt"), os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
for fd in range(3, 701):
    while fd != mine:
        try:
            os.dup2(mine, fd)
            break
        except OSError as e:  # EBUSY: the kernel's answer while another thread's open()
            if e.errno != errno.EBUSY:  # holds that number (ferret's tracker reopening
                raise  # its stream): try again, as dup2(2) advises
            time.sleep(0.001)
os.write(mine, b"mine\n")
time.sleep(0.7)  # a flush of ferret's stream with the descriptors taken
AFTER = [bytearray(MiB) for _ in range(16)]  # LINE:AFTER
time.sleep(0.7)
os.write(mine, b"mine\n")
