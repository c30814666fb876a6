"""Four threads allocate at once, each in its own function and line, and keep what they
allocated in a module-level dict until exit; plus churn in every thread. Sizes are known:
thread k keeps (k + 1) * 8 blocks of 256 KiB."""
import sys
import threading

KiB = 1 << 10
KEPT = {}


def worker(k):
    mine = []
    for i in range((k + 1) * 8):
        mine.append(bytearray(256 * KiB))  # LINE:THREAD_KEEP
        junk = [str(j) for j in range(2000)]  # LINE:THREAD_CHURN
        del junk
    KEPT[k] = mine


threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("kept", sum(len(b) for v in KEPT.values() for b in v))
