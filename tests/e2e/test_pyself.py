"""The in-process reader (src/sampler/pyself.h) on every interpreter: a probe library
loaded with ctypes reads its caller's stack, which must match the interpreter's own view."""
import subprocess

from conftest import ROOT

PROGRAM = r"""import ctypes, sys, threading
lib = ctypes.PyDLL(sys.argv[1])
lib.probe.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
def capture():
    buf = ctypes.create_string_buffer(8192)
    n = lib.probe(buf, len(buf))
    return n, buf.value.decode()
class Holder:
    def method(self, depth):
        if depth:
            return self.method(depth - 1)
        return capture()
result = {}
def in_thread():
    result["thread"] = Holder().method(3)
t = threading.Thread(target=in_thread)
t.start(); t.join()
main = Holder().method(2)
for label, (n, text) in (("main", main), ("thread", result["thread"])):
    print(label, n, text)
"""


def test_pyself_reads_own_stack(python, tmp_path):
    probe = ROOT / "build" / "pyself_probe.so"
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    out = subprocess.run([python, str(script), str(probe)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    minor = int(subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                               capture_output=True, text=True).stdout)
    meth = "Holder.method" if minor >= 11 else "method"
    n, text = lines["main"].split(" ", 1)
    frames = text.split(";")
    assert int(n) == len(frames)
    names = [f.rsplit(":", 1)[0] for f in frames]
    # innermost first: capture, then method three times (depth 2..0), then <module>
    assert names == ["capture", meth, meth, meth, "<module>"], frames
    assert frames[0] == "capture:6", frames  # the line calling lib.probe
    assert frames[1] == f"{meth}:12" and frames[2] == f"{meth}:11", frames
    assert frames[-1] == "<module>:18", frames
    n, text = lines["thread"].split(" ", 1)
    tnames = [f.rsplit(":", 1)[0] for f in text.split(";")]
    assert tnames[:6] == ["capture", meth, meth, meth, meth, "in_thread"], text
