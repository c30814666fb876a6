"""A thread that computes and one that sleeps, until stdin closes; prints 'ready' once both
run. The main thread waits on stdin."""
import sys
import threading
import time

stop = threading.Event()


def spin():
    x = 0
    while not stop.is_set():
        x += 1


def nap():
    while not stop.is_set():
        time.sleep(0.05)


threads = [threading.Thread(target=spin, name="spinner"),
           threading.Thread(target=nap, name="napper")]
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.read()
stop.set()
for t in threads:
    t.join()
