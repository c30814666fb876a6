"""Sixty threads that wait on an event, and a main thread that sleeps, until stdin closes:
a server at rest, for a long attach."""
import sys
import threading

stop = threading.Event()
threads = [threading.Thread(target=stop.wait, name=f"idle-{i}") for i in range(60)]
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.read()
stop.set()
for t in threads:
    t.join()
