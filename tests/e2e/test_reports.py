"""End-to-end tests of `ferret report` and `ferret diff` (issue 3): every format read back by
a real reader (go tool pprof, Python's json with a schema, an XML parser, headless chromium
driving the HTML report), the same totals in every format, hostile names, and bad input.

Profiles come from tests/tools/mkprofile (built next to the ferret binary under test), so
these tests do not depend on the sampler; test_recorded_profile_round_trips runs on a real
recording from every interpreter once `ferret run` exists.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import ROOT

E2E = Path(__file__).resolve().parent
SHOTS = ROOT / "build" / "e2e-screenshots"
INTERVAL_NS = 10_000_000  # mkprofile's sampling interval

try:
    import jsonschema
except ImportError:  # .ci/deps installs python3-jsonschema; a clear failure beats a skip
    jsonschema = None

# speedscope's file format (https://www.speedscope.app/file-format-schema.json), the parts a
# sampled profile uses, written from its spec (src/lib/file-format-spec.ts).
SPEEDSCOPE_SCHEMA = {
    "type": "object",
    "required": ["$schema", "shared", "profiles"],
    "properties": {
        "$schema": {"const": "https://www.speedscope.app/file-format-schema.json"},
        "name": {"type": "string"},
        "exporter": {"type": "string"},
        "activeProfileIndex": {"type": "integer", "minimum": 0},
        "shared": {
            "type": "object", "required": ["frames"],
            "properties": {"frames": {"type": "array", "items": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "file": {"type": "string"},
                               "line": {"type": "integer"}, "col": {"type": "integer"}},
                "additionalProperties": False}}}},
        "profiles": {"type": "array", "items": {
            "type": "object",
            "required": ["type", "name", "unit", "startValue", "endValue", "samples", "weights"],
            "properties": {
                "type": {"const": "sampled"},
                "name": {"type": "string"},
                "unit": {"enum": ["none", "nanoseconds", "microseconds", "milliseconds",
                                  "seconds", "bytes"]},
                "startValue": {"type": "number"}, "endValue": {"type": "number"},
                "samples": {"type": "array", "items": {
                    "type": "array", "items": {"type": "integer", "minimum": 0}}},
                "weights": {"type": "array", "items": {"type": "number"}}},
            "additionalProperties": False}},
    },
}

# Chrome's Trace Event Format, JSON object form, for the events ferret writes.
CHROME_SCHEMA = {
    "type": "object", "required": ["traceEvents"],
    "properties": {
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "otherData": {"type": "object", "additionalProperties": {"type": "string"}},
        "traceEvents": {"type": "array", "items": {"oneOf": [
            {"type": "object", "required": ["ph", "name", "pid", "tid", "ts", "dur"],
             "properties": {"ph": {"const": "X"}, "name": {"type": "string"},
                            "cat": {"type": "string"}, "pid": {"type": "integer"},
                            "tid": {"type": "integer"}, "ts": {"type": "number"},
                            "dur": {"type": "number", "minimum": 0},
                            "args": {"type": "object"}}},
            {"type": "object", "required": ["ph", "name", "pid", "args"],
             "properties": {"ph": {"const": "M"},
                            "name": {"enum": ["process_name", "thread_name"]},
                            "pid": {"type": "integer"}, "tid": {"type": "integer"},
                            "args": {"type": "object", "required": ["name"],
                                     "properties": {"name": {"type": "string"}}}}}]}},
    },
}


@pytest.fixture(scope="session")
def mkprofile(ferret):
    exe = Path(ferret).parent / "tools" / "mkprofile"
    if not os.access(exe, os.X_OK):
        raise pytest.UsageError(f"{exe} not found: run `make {exe.relative_to(ROOT)}`")
    return str(exe)


def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} exited {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, mkprofile):
    """5000 samples on 3 threads with hostile names, streamed in five chunks."""
    path = tmp_path_factory.mktemp("hostile") / "app.ferret"
    run(mkprofile, "-o", path, "--samples", 5000, "--stacks", 300, "--threads", 3,
        "--hostile", "--flush", 1000, "--seed", 3)
    return path


def collapsed_totals(text):
    """Per-thread-agnostic totals from collapsed stacks: all, and per root-to-leaf frame."""
    total, by_func = 0, defaultdict(int)
    for line in text.split("\n")[:-1]:  # not splitlines(): names may hold U+2028
        stack, count = line.rsplit(" ", 1)
        total += int(count)
        seen = set()
        for frame in stack.split(";"):
            name = frame.rsplit(" (", 1)[0]
            if name not in seen:
                by_func[name] += int(count)
                seen.add(name)
    return total, by_func


def test_every_format_has_the_same_totals(ferret, hostile, tmp_path):
    out = {}
    for fmt in ("collapsed", "speedscope", "pprof", "chrome", "svg", "text"):
        dest = tmp_path / f"out.{fmt}"
        r = run(ferret, "report", hostile, "-f", fmt, "-o", dest)
        assert f"ferret: wrote {dest}" in r.stderr
        assert not Path(str(dest) + ".tmp").exists()
        out[fmt] = dest

    total, by_func = collapsed_totals(out["collapsed"].read_text())
    assert total == 5000
    assert by_func["<module>"] == 5000

    # pprof: go tool pprof reads it; the raw samples sum to the same count and time
    raw = run("go", "tool", "pprof", "-raw", out["pprof"]).stdout
    assert "samples/count wall/nanoseconds[dflt]" in raw
    pairs = [tuple(map(int, m.groups())) for m in re.finditer(r"^\s+(\d+)\s+(\d+):", raw, re.M)]
    assert sum(c for c, _ in pairs) == 5000
    assert sum(ns for _, ns in pairs) == 5000 * INTERVAL_NS
    top = run("go", "tool", "pprof", "-top", "-sample_index=samples", out["pprof"]).stdout
    hot_line = next(l for l in top.splitlines() if l.rstrip().endswith(" hot"))
    assert int(hot_line.split()[3]) == by_func["hot"]  # cum column of `hot`
    with gzip.open(out["pprof"]) as f:
        assert len(f.read()) > 100

    # speedscope: JSON + schema; weights add up to the samples' time per thread
    ss = json.loads(out["speedscope"].read_text(encoding="utf-8"))
    jsonschema.validate(ss, SPEEDSCOPE_SCHEMA)
    assert len(ss["profiles"]) == 3
    nframes = len(ss["shared"]["frames"])
    weight = 0
    for prof in ss["profiles"]:
        assert len(prof["samples"]) == len(prof["weights"])
        assert prof["unit"] == "nanoseconds"
        assert prof["endValue"] == sum(prof["weights"])
        assert all(i < nframes for s in prof["samples"] for i in s)
        weight += sum(prof["weights"])
    assert weight == 5000 * INTERVAL_NS
    names = {f["name"] for f in ss["shared"]["frames"]}
    assert "<script>alert(1)</script>" in names  # escaped in the file, intact once parsed

    # chrome: JSON + schema; one track per thread; the outermost span of each thread covers
    # its samples (merged: far fewer events than samples)
    tr = json.loads(out["chrome"].read_text(encoding="utf-8"))
    jsonschema.validate(tr, CHROME_SCHEMA)
    spans = [e for e in tr["traceEvents"] if e["ph"] == "X"]
    assert len({e["tid"] for e in spans}) == 3
    assert len(spans) < 5000
    module = [e for e in spans if e["name"] == "<module>"]
    assert len(module) == 3
    assert abs(sum(e["dur"] for e in module) * 1000 - 5000 * INTERVAL_NS) < 0.01 * 5000 * INTERVAL_NS
    thread_names = {e["args"]["name"] for e in tr["traceEvents"] if e["name"] == "thread_name"}
    assert '<th>"&\x07' in thread_names

    # svg: well-formed XML; the root frame is 100%; our one script, no injected elements
    tree = ET.parse(out["svg"])
    ns = {"s": "http://www.w3.org/2000/svg"}
    frames = tree.getroot().findall(".//s:g[@id='frames']/s:g", ns)
    assert len(frames) > 50
    titles = [g.find("s:title", ns).text for g in frames]
    assert any(t.startswith("&lt;module&gt;") is False and t.startswith("<module>") and "100.00%" in t
               for t in titles)
    assert any(t.startswith("<script>alert(1)</script>") for t in titles)
    assert len(tree.getroot().findall(".//s:script", ns)) == 1
    assert not tree.getroot().findall(".//s:svg", ns)

    text = out["text"].read_text(encoding="utf-8")
    assert "5000 samples" in text and "Call tree" in text and "\x1b" not in text


def node_report(report, shot, click, search):
    r = run("node", E2E / "html_report.mjs", report, shot, click, search, cwd=E2E)
    return json.loads(r.stdout)


@pytest.fixture(scope="session")
def browser_ready():
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        raise pytest.UsageError("playwright-core missing: run .ci/deps (npm ci in tests/e2e)")


def test_html_report_in_chromium(ferret, hostile, tmp_path, browser_ready):
    html = tmp_path / "app.html"
    run(ferret, "report", hostile, "-f", "html", "-o", html)
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = node_report(html, SHOTS / "report", "hot", "hot")
    assert seen["errors"] == []
    assert seen["requests"] == []  # nothing fetched: works offline
    assert seen["heading"] == 'python3 <app>.py "&"'  # hostile title shown as text
    assert seen["scriptInjected"] is False
    drawn = set(seen["drawnBefore"])
    assert {"all samples", "<module>", "main", "run", "hot"} <= drawn
    # a click on `hot` zooms: it becomes the full width, its callers stay drawn above it
    assert seen["zoomed"] == "hot"
    assert seen["widthBefore"] < 0.9 * seen["canvasWidth"]
    assert seen["widthAfter"] >= 0.99 * seen["canvasWidth"] - 2
    assert "main" in seen["drawnZoomed"]
    assert seen["zoomedAfterReset"] is None
    # search highlights in the highlight colour and states the matched share
    assert seen["matchedCount"] > 0
    assert seen["highlightPixel"] == [217, 70, 239]
    assert re.match(r"matched \d+\.\d+% of all", seen["matchText"])
    assert seen["tableRows"] > 10
    assert seen["threadRows"] == 3
    # mkprofile gives the GIL to MainThread only: only its timeline has a GIL band
    bands = {label.split(" (")[0]: painted for label, painted in seen["gilBands"]}
    assert bands == {"MainThread": True, '<th>"&\x07': False, "worker-2": False}
    assert "3.12.1" in seen["metaText"]
    assert (SHOTS / "report-zoomed.png").stat().st_size > 5000


def test_diff_finds_the_change_and_not_the_noise(ferret, mkprofile, tmp_path, browser_ready):
    common = ["--samples", 20000, "--stacks", 300, "--seed", 7]
    base, same, new = tmp_path / "base.ferret", tmp_path / "same.ferret", tmp_path / "new.ferret"
    run(mkprofile, "-o", base, *common, "--hot", "0.05")
    run(mkprofile, "-o", same, *common, "--hot", "0.05", "--sample-seed", 101)
    run(mkprofile, "-o", new, *common, "--hot", "0.3", "--sample-seed", 5)

    r = run(ferret, "diff", base, new)
    rows = [l for l in r.stdout.splitlines() if l.rstrip().endswith("(/app/pkg/mod_3.py:31)")]
    assert rows and " + hot " in rows[0]
    base_pct, new_pct = (float(x.rstrip("%")) for x in rows[0].split()[:2])
    assert new_pct > base_pct + 10
    assert "Holm-corrected" in r.stdout

    # same program, other samples: nothing beyond noise. At alpha 0.05 family-wise about one
    # null pair in twenty shows a false change (docs/REPORTS.md measures 2 of 40); this
    # fixed pair is one of the others, so the test is deterministic, not lucky.
    r = run(ferret, "diff", base, same)
    assert "0 functions changed beyond sampling noise" in r.stdout

    svg = tmp_path / "d.svg"
    run(ferret, "diff", base, new, "-f", "svg", "-o", svg)
    root = ET.parse(svg).getroot()
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert any(f.startswith("rgb(255,") for f in fills)  # grew: red
    assert any(f.endswith(",255)") for f in fills)  # shrank: blue

    r = run(ferret, "diff", base, new, "-f", "html")
    html = tmp_path / "new-diff.html"
    assert f"ferret: wrote {html}" in r.stderr
    seen = node_report(html, SHOTS / "diff", "hot", "hot")
    assert seen["errors"] == [] and seen["requests"] == []
    assert seen["zoomed"] == "hot"
    assert seen["firstRow"] == "hot"  # the table sorts by the size of the change


def test_chrome_writes_the_tracers_spans(ferret, mkprofile, tmp_path):
    """A "spans" series (unit ns) is a timeline already: one complete event per span."""
    prof = tmp_path / "spans.ferret"
    run(mkprofile, "-o", prof, "--samples", 200, "--threads", 2, "--spans", 30)
    tr = json.loads(run(ferret, "report", prof, "-f", "chrome", "-o", "-").stdout)
    jsonschema.validate(tr, CHROME_SCHEMA)
    spans = [e for e in tr["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == 90  # 30 calls, each with two nested calls inside
    # mkprofile nests three spans per call: 2 ms, 1 ms, 0.5 ms, each 1/10 later than its parent
    assert sorted({e["dur"] for e in spans}) == [500.0, 1000.0, 2000.0]
    for e in spans:
        if e["dur"] == 1000.0:
            parent = [p for p in spans if p["tid"] == e["tid"] and p["dur"] == 2000.0
                      and p["ts"] <= e["ts"] and e["ts"] + e["dur"] <= p["ts"] + p["dur"]]
            assert len(parent) == 1


def test_pprof_of_a_memory_profile(ferret, mkprofile, tmp_path):
    """go tool pprof reads the views' series, not the timeline's gauges (one heap and RSS
    reading per tick, which pprof would add up like allocations), and no "wall" period."""
    prof, pb = tmp_path / "mem.ferret", tmp_path / "mem.pb.gz"
    run(mkprofile, "-o", prof, "--samples", 300, "--kind", "memory")
    run(ferret, "report", prof, "-f", "pprof", "-o", pb)
    raw = run("go", "tool", "pprof", "-raw", pb).stdout
    types = raw.split("Samples:\n", 1)[1].splitlines()[0].split()
    assert [t.split("/")[0] for t in types] == ["peak_bytes", "peak_count", "leaked_bytes",
                                                "leaked_count", "allocated_bytes",
                                                "allocated_count"], types
    assert "wall" not in raw.split("Samples:", 1)[0]


def test_killed_recording_opens(ferret, mkprofile, tmp_path):
    path = tmp_path / "killed.ferret"
    run(mkprofile, "-o", path, "--samples", 3000, "--flush", 1000, "--killed")
    r = run(ferret, "report", path)
    assert "has no end marker" in r.stderr
    assert "3000 samples" in r.stdout


def test_sigkilled_recorder_leaves_a_file_that_opens(ferret, mkprofile, tmp_path):
    path = tmp_path / "live.ferret"
    proc = subprocess.Popen([mkprofile, "-o", str(path), "--samples", "4000", "--flush", "1000",
                             "--hang"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "flushed 4000"
    finally:
        proc.kill()  # SIGKILL: no close, no end marker, no fsync
        proc.wait(timeout=30)
    assert proc.returncode == -9
    r = run(ferret, "report", path, "-f", "collapsed")
    assert "has no end marker" in r.stderr
    assert collapsed_totals(r.stdout)[0] == 4000


BAD_FILES = {
    "empty": (b"", "the file is empty"),
    "foreign": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "not a ferret profile (it is gzip data"),
    "json": (b'{"traceEvents": []}', "not a ferret profile (it is JSON"),
    "text": (b"main;hot 12\n", "not a ferret profile"),
}


@pytest.mark.parametrize("kind", ["empty", "foreign", "json", "text", "truncated", "corrupted",
                                  "missing", "directory"])
def test_bad_profile_gets_one_line(ferret, mkprofile, tmp_path, kind):
    path = tmp_path / "bad.ferret"
    if kind in BAD_FILES:
        path.write_bytes(BAD_FILES[kind][0])
        expect = BAD_FILES[kind][1]
    elif kind in ("truncated", "corrupted"):
        run(mkprofile, "-o", path, "--samples", 2000, "--flush", 500)
        data = bytearray(path.read_bytes())
        if kind == "truncated":
            data = data[: len(data) // 2]
            expect = "truncated"
        else:
            data[len(data) // 2] ^= 0x20
            expect = "checksum mismatch"
        path.write_bytes(bytes(data))
    elif kind == "missing":
        expect = "cannot open"
    else:
        path.mkdir()
        expect = "is a directory"
    out = tmp_path / "out.html"
    r = run(ferret, "report", path, "-f", "html", "-o", out, check=False)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferret: ") and expect in lines[0], r.stderr
    assert not out.exists() and not Path(str(out) + ".tmp").exists()
    r = run(ferret, "diff", path, path, check=False)
    assert r.returncode == 1 and r.stderr.startswith("ferret: ") and expect in r.stderr


def report_from_pipe(ferret, tmp_path, head, tail_byte=b"\0", limit=64 << 20):
    """`ferret report /dev/stdin -f collapsed` fed head, then tail_byte repeated up to limit
    bytes in all. Returns the result and how many bytes went in before ferret stopped
    reading (its end of the pipe closed)."""
    out, err = tmp_path / "pipe.out", tmp_path / "pipe.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([ferret, "report", "/dev/stdin", "-f", "collapsed"],
                                stdin=subprocess.PIPE, stdout=o, stderr=e)
        sent, block = 0, tail_byte * (64 << 10)
        try:
            proc.stdin.write(head)
            sent = len(head)
            while sent < limit:
                proc.stdin.write(block)
                sent += len(block)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.wait(timeout=120)
    r = subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(), err.read_text())
    return r, sent


def test_endless_input_is_refused_from_its_first_bytes(ferret, mkprofile, tmp_path):
    """Foreign bytes (a /dev/zero, a huge file, a pipe that never ends) are refused from the
    first bytes or the first chunk header that cannot be one, not read to the end."""
    good = tmp_path / "ok.ferret"
    run(mkprofile, "-o", good, "--samples", 300, "--flush", 100)
    data = good.read_bytes()
    for head, expect in ((b"", "not a ferret profile"),
                         (data[:12], "unknown chunk type 0"),
                         (data, "data after the end marker")):
        r, sent = report_from_pipe(ferret, tmp_path, head)
        lines = r.stderr.splitlines()
        assert r.returncode == 1 and len(lines) == 1, r.stderr
        assert lines[0].startswith("ferret: /dev/stdin: ") and expect in lines[0], r.stderr
        assert sent < 8 << 20, f"read {sent} bytes of {expect!r} input"
    # a profile through a pipe or a FIFO opens like the file
    want = run(ferret, "report", good, "-f", "collapsed").stdout
    r, _ = report_from_pipe(ferret, tmp_path, data, limit=0)
    assert r.returncode == 0 and r.stdout == want, r.stderr
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{good}' > '{fifo}'"])
    assert run(ferret, "report", fifo, "-f", "collapsed").stdout == want
    assert writer.wait(timeout=60) == 0


def _uv(v):
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v >> 7 else 0))
        v >>= 7
        if not v:
            return bytes(out)


def _sv(v):
    return _uv(((v << 1) ^ (v >> 63)) & (2**64 - 1))


def _str(b):
    return _uv(len(b)) + b


def crafted_profile(samples, interval_ns=1_000_000):
    """A .ferret file encoded here from docs/FORMAT.md rather than by ferret, so it can hold
    what no recorder writes: one thread, stacks f (1) and f;g (2), samples (stack, weight,
    t_ns) in one stored chunk, then the end marker."""
    def sec(tag, recs):
        body = b"".join(recs)
        return _uv(tag) + _uv(len(recs)) + _uv(len(body)) + body

    def chunk(tag, payload):
        head = tag + len(payload).to_bytes(4, "little") * 2
        return head + zlib.crc32(payload, zlib.crc32(head)).to_bytes(4, "little") + payload

    recs, prev_t, last = [], 0, 0
    for stack, weight, t in samples:
        h, extra = 0, b""
        if stack != last:
            h, extra = h | 0x10, extra + _sv(stack - last)
        if weight != 1:
            h, extra = h | 0x20, extra + _sv(weight)
        dt = (t - prev_t + 2**63) % 2**64 - 2**63  # 64-bit wrap-around
        recs.append(bytes([h]) + extra + _sv(dt))
        prev_t, last = t, stack
    strs = [b"f", b"file.py", b"g", b"python3 x.py", b"MainThread"]
    payload = (sec(1, [_uv(0) + _sv(interval_ns) + _sv(0) + _sv(10**9) + _uv(0)]) +
               sec(3, [_str(x) for x in strs]) +
               sec(4, [_uv(1) + _uv(2) + _sv(10) + _sv(1) + _uv(0),
                       _uv(3) + _uv(2) + _sv(20) + _sv(15) + _uv(0)]) +
               sec(5, [_uv(1) + _uv(0), _uv(1) + _uv(1)]) +
               sec(6, [_uv(0) + _sv(100) + _sv(1) + _uv(4)]) +
               sec(7, [_uv(0) + _uv(0) + _uv(100) + _uv(5)]) +
               sec(8, [_str(b"samples") + _str(b"samples")]) +
               sec(9, recs))
    end = b"".join(_uv(n) for n in (len(strs) + 1, 2, 3, 1, 1, 1, len(samples)))
    return b"\x89FERRET\n\x01\x00\x00\x00" + chunk(b"D", payload) + chunk(b"E", end)


# Files the reader once accepted and the writers could not take (docs/FORMAT.md "Bounds"):
# name -> (samples, interval, what the one-line error says; None: it opens)
CRAFTED = {
    "negative-weight": ([(1, -5, 1000), (2, 3, 2000)], 1_000_000, "negative sample weight -5"),
    "weight-times-interval": ([(1, 2**44, 1000), (2, 2**44, 2000)], 2**40,
                              "implausible weights: series 'samples'"),
    "many-weights": ([(1 + i % 2, 2**44, i) for i in range(1200)], 2**40, "implausible weights"),
    "time-span": ([(1, 1, -2**63), (2, 1, 2**63 - 1)], 1_000_000, "implausible sample time"),
    "within-bounds": ([(1, 2**20, -2**60), (2, 2**20, 2**60)], 2**40, None),
    "no-interval": ([(1, 2**40, -2**60), (2, 2**40, 2**60)], 0, None),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_crafted_profile_in_every_format(ferret, tmp_path, case):
    """Every format (as `report --help` lists them) either renders the file, without a
    sanitizer report, or refuses it the same way with one line and no output."""
    samples, interval, expect = CRAFTED[case]
    path = tmp_path / f"{case}.ferret"
    path.write_bytes(crafted_profile(samples, interval))
    formats = re.search(r"Formats: ([\w, ]+) \(default", run(ferret, "report", "--help").stdout)
    formats = formats.group(1).split(", ")
    assert {"text", "html", "speedscope", "pstats", "pprof", "chrome", "svg"} <= set(formats)
    for fmt in formats:
        out = tmp_path / f"out.{fmt}"
        r = run(ferret, "report", path, "-f", fmt, "-o", out, check=False)
        assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, (fmt, r.stderr)
        if expect is None:
            assert r.returncode == 0 and out.stat().st_size > 0, (fmt, r.stderr)
            continue
        lines = r.stderr.splitlines()
        assert r.returncode == 1 and len(lines) == 1, (fmt, r.stderr)
        assert lines[0].startswith(f"ferret: {path}: corrupted profile") and expect in lines[0]
        assert not out.exists() and not Path(str(out) + ".tmp").exists()
    if expect is not None:
        r = run(ferret, "diff", path, path, check=False)
        assert r.returncode == 1 and expect in r.stderr and "%" not in r.stdout


@pytest.mark.parametrize("args, expect, status", [
    (["-f", "pdf"], "unknown format 'pdf'", 2),
    (["--bogus"], "unknown option '--bogus'", 2),
    # refused before the report is made, as by run and trace
    (["-o", "{tmp}/no/such/dir/out.html", "-f", "html"], "cannot write", 1),
    (["-o", "{profile}/sub.html", "-f", "html"], "cannot write", 1),
    (["-o", "{tmp}", "-f", "html"], "it is a directory", 1),
    (["--series", "nope"], "has no series 'nope'", 2),
    (["-f"], "-f needs a value", 2),
])
def test_bad_arguments_get_one_line(ferret, mkprofile, tmp_path, args, expect, status):
    profile = tmp_path / "ok.ferret"
    run(mkprofile, "-o", profile, "--samples", 100)
    args = [a.format(tmp=tmp_path, profile=profile) for a in args]
    r = run(ferret, "report", profile, *args, check=False)
    assert r.returncode == status
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferret: ") and expect in lines[0], r.stderr
    assert not list(tmp_path.glob("**/*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.ferret"]


def test_diff_usage(ferret, mkprofile, tmp_path):
    r = run(ferret, "diff", "only-one.ferret", check=False)
    assert r.returncode == 2 and "needs two profiles" in r.stderr
    profile = tmp_path / "ok.ferret"
    run(mkprofile, "-o", profile, "--samples", 100)
    r = run(ferret, "diff", profile, profile, "-f", "speedscope", check=False)
    assert r.returncode == 2 and "unknown format 'speedscope' (formats: text, html, svg)" in r.stderr


def test_diff_mode_and_gil_choose_the_samples_again(ferret, mkprofile, tmp_path):
    """`ferret diff --mode cpu` / `--gil` compare the samples `ferret report` counts with the
    same options (diff refused both options before)."""
    a, b = tmp_path / "a.ferret", tmp_path / "b.ferret"
    run(mkprofile, "-o", a, "--samples", 3000, "--threads", 3)
    run(mkprofile, "-o", b, "--samples", 3000, "--threads", 3, "--sample-seed", 9)

    def total(profile, *opts):
        r = run(ferret, "report", profile, "-f", "collapsed", *opts)
        return sum(int(line.rsplit(" ", 1)[1]) for line in r.stdout.splitlines())

    for opts in ([], ["--mode", "cpu"], ["--gil"], ["-m", "cpu", "--gil"]):
        head = run(ferret, "diff", a, b, *opts).stdout.splitlines()[0]
        assert head == (f"ferret diff: base {total(a, *opts)} samples, "
                        f"new {total(b, *opts)} samples"), (opts, head)
    assert total(a, "--gil") < total(a)
    mem = tmp_path / "mem.ferret"
    run(mkprofile, "-o", mem, "--samples", 300, "--kind", "memory")
    r = run(ferret, "diff", mem, mem, "--mode", "cpu", check=False)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.strip() == (f"ferret: --mode: {mem} is not a sampled profile "
                                "(ferret run or attach)")


def test_diff_refuses_profiles_of_different_kinds(ferret, mkprofile, tmp_path):
    """Shares of samples, of bytes and of nanoseconds are not shares of one thing."""
    kinds = {"sampled": "a sampled profile (samples)",
             "memory": "a memory profile (peak_bytes, in bytes)",
             "trace": "a trace (wall_ns, in ns)"}
    paths = {}
    for kind in kinds:
        paths[kind] = tmp_path / f"{kind}.ferret"
        run(mkprofile, "-o", paths[kind], "--samples", 300, "--kind", kind)
    for base in kinds:
        for new in kinds:
            out = tmp_path / f"{base}-{new}.html"
            r = run(ferret, "diff", paths[base], paths[new], "-f", "html", "-o", out, check=False)
            if base == new:
                assert r.returncode == 0, r.stderr
                continue
            lines = r.stderr.splitlines()
            assert r.returncode == 2 and len(lines) == 1, r.stderr
            assert lines[0] == (f"ferret: diff {paths[base]} {paths[new]}: the profiles measure "
                                f"different things: the base is {kinds[base]}, the new one "
                                f"{kinds[new]}; compare two profiles of the same kind")
            assert not out.exists() and r.stdout == ""


def has_run_command(ferret):
    return "run" in run(ferret, "--help").stdout.split()


@pytest.mark.timing
def test_recorded_profile_round_trips(ferret, python, tmp_path):
    """A profile recorded from each interpreter gives the same totals in every format."""
    if not has_run_command(ferret):
        pytest.skip("`ferret run` (the sampler, issue 2) is not in this build yet")
    prof = tmp_path / "rec.ferret"
    run(ferret, "run", "-o", prof, "--", python, ROOT / "examples" / "hotspots.py")
    assert prof.read_bytes().startswith(b"\x89FERRET\n")
    total, by_func = collapsed_totals(run(ferret, "report", prof, "-f", "collapsed").stdout)
    assert total > 100 and by_func["is_prime"] > total // 3  # hotspots.py's hot function

    pprof = tmp_path / "rec.pb.gz"
    run(ferret, "report", prof, "-f", "pprof", "-o", pprof)
    raw = run("go", "tool", "pprof", "-raw", "-sample_index=samples", pprof).stdout
    pairs = [tuple(map(int, m.groups())) for m in re.finditer(r"^\s+(\d+)\s+(\d+):", raw, re.M)]
    # samples with an empty stack (a thread with no Python frame) are in collapsed stacks as
    # '<no Python frame>'; pprof keeps them without a location, which -raw does not list
    framed = total - by_func["<no Python frame>"]
    assert sum(c for c, _ in pairs) == framed
    interval = int(re.search(r"^Period: (\d+)", raw, re.M).group(1))
    assert sum(ns for _, ns in pairs) == framed * interval
    top = run("go", "tool", "pprof", "-top", "-sample_index=samples", pprof).stdout
    assert f"Total samples = {total}" in top, top

    ss = json.loads(run(ferret, "report", prof, "-f", "speedscope", "-o", "-").stdout)
    jsonschema.validate(ss, SPEEDSCOPE_SCHEMA)
    assert sum(w for p in ss["profiles"] for w in p["weights"]) == total * interval
    tr = json.loads(run(ferret, "report", prof, "-f", "chrome", "-o", "-").stdout)
    jsonschema.validate(tr, CHROME_SCHEMA)
    assert any(e["name"] == "is_prime" for e in tr["traceEvents"])
    svg = tmp_path / "rec.svg"
    run(ferret, "report", prof, "-f", "svg", "-o", svg)
    assert any("is_prime" in (t.text or "") for t in ET.parse(svg).getroot().iter(
        "{http://www.w3.org/2000/svg}title"))
    html = tmp_path / "rec.html"  # the source of the hot file is embedded for the source view
    run(ferret, "report", prof, "-f", "html", "-o", html)
    assert '"def is_prime(n):"' in html.read_text(encoding="utf-8")
    copy = tmp_path / "copy.ferret"  # re-encoded: the same collapsed stacks
    run(ferret, "report", prof, "-f", "ferret", "-o", copy)
    assert run(ferret, "report", copy, "-f", "collapsed").stdout == \
        run(ferret, "report", prof, "-f", "collapsed").stdout
    text = run(ferret, "report", prof).stdout
    assert "is_prime" in text.split("Top functions by self time")[1].splitlines()[2]


# Loads a pstats file as snakeviz and gprof2dot do, through the interpreter's own pstats:
# prints the dict's size, the callers that are no key of it, and whether the tables print.
PSTATS_READ = r"""
import io, json, marshal, pstats, sys
with open(sys.argv[1], "rb") as f:
    d = marshal.load(f)
out = io.StringIO()
st = pstats.Stats(sys.argv[1], stream=out)
st.sort_stats("cumulative").print_stats()
st.print_callers()
st.print_callees()
stray = sorted({c for v in d.values() for c in v[4] if c not in d})
print(json.dumps({"funcs": len(d), "stray": stray, "text": out.getvalue()}))
"""


def test_pstats_loads_in_python(ferret, mkprofile, python, tmp_path):
    """The pstats file of a --threads recording, read by the interpreter's pstats module:
    every caller is a function of the file, as in cProfile's (the thread roots were written
    as callers named '<built-in method thread N MainThread>' that the file did not hold).
    A profile without a function is refused with one line: pstats.Stats cannot load it."""
    if not has_run_command(ferret):
        pytest.skip("`ferret run` (the sampler, issue 2) is not in this build yet")
    prof = tmp_path / "rec.ferret"
    run(ferret, "run", "--threads", "-o", prof, "--", python, ROOT / "examples" / "hotspots.py")
    out = tmp_path / "rec.prof"
    run(ferret, "report", prof, "-f", "pstats", "-o", out)
    seen = json.loads(run(python, "-c", PSTATS_READ, out).stdout)
    assert seen["funcs"] > 3 and seen["stray"] == []
    assert "is_prime" in seen["text"] and "MainThread" not in seen["text"]

    empty = tmp_path / "empty.ferret"
    run(mkprofile, "-o", empty, "--samples", 0)
    r = run(ferret, "report", empty, "-f", "pstats", "-o", tmp_path / "empty.prof", check=False)
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0].endswith("the profile holds no function (Python's pstats cannot load an "
                             "empty profile)")
    assert not (tmp_path / "empty.prof").exists()


def test_report_output_name_gives_the_format(ferret, mkprofile, tmp_path):
    """`ferret report X -o out.svg` writes an SVG, as `ferret run -o out.svg` does (it wrote
    the text report into every file whatever its name); a name that says no format is
    refused; -f still wins over the name."""
    looks = {"svg": lambda b: b"<svg" in b[:400],
             "html": lambda b: b.startswith(b"<!DOCTYPE html>"),
             "pb.gz": lambda b: b[:2] == b"\x1f\x8b",
             "prof": lambda b: b[:1] == b"{",  # a marshalled dict, as pstats.Stats reads
             "speedscope.json": lambda b: b"speedscope" in b[:200],
             "collapsed": lambda b: re.match(rb"\S.* \d+\n", b) is not None,
             "txt": lambda b: b.startswith(b"ferret")}
    for kind, json_is in (("sampled", b'"series"'), ("trace", b'"traceEvents"')):
        prof = tmp_path / f"{kind}.ferret"
        # a trace's .json is a Chrome trace, which needs the timeline (the "spans" series)
        spans = ["--spans", 20] if kind == "trace" else []
        run(mkprofile, "-o", prof, "--samples", 300, "--kind", kind, *spans)
        for ext, ok in list(looks.items()) + [("json", lambda b, j=json_is: j in b[:4000])]:
            out = tmp_path / f"{kind}-out.{ext}"
            run(ferret, "report", prof, "-o", out)
            data = out.read_bytes()
            assert ok(data), (kind, ext, data[:80])
        r = run(ferret, "report", prof, "-o", tmp_path / "out.weird", check=False)
        assert r.returncode == 2 and r.stderr.startswith(
            "ferret: cannot tell the format from the name"), r.stderr
        assert not (tmp_path / "out.weird").exists()
        run(ferret, "report", prof, "-f", "text", "-o", tmp_path / "forced.svg")
        assert (tmp_path / "forced.svg").read_bytes().startswith(b"ferret")


REFUSED = {
    ("memory", "chrome"): "a memory profile has no call timeline for a Chrome trace: use -f html "
                          "(its timeline view plots the heap over time), json, speedscope or pprof",
    ("trace", "chrome"): "this trace has no timeline for a Chrome trace: record it with `ferret "
                         "trace --timeline`, or use -f json, speedscope, pprof or html",
    ("memory", "pstats"): "a memory profile holds bytes, not the call times pstats holds: use "
                          "-f html, json, speedscope or pprof",
}


def test_chrome_needs_a_timeline(ferret, mkprofile, tmp_path):
    """A Chrome trace places each call in time. A memory profile and a trace recorded without
    --timeline hold totals only: their spans were all written at one instant, nearly all of
    zero duration, which Perfetto and speedscope show as nothing. They are refused, by -f
    chrome and by a name that means chrome, with one line, exit 2 and no file; a sampled
    profile and a trace with its timeline ("spans") are written, spread over time."""
    for kind, spans in (("sampled", []), ("memory", []), ("trace", []), ("trace", ["--spans", 20])):
        prof = tmp_path / f"{kind}{len(spans)}.ferret"
        run(mkprofile, "-o", prof, "--samples", 300, "--kind", kind, *spans)
        names = ["out.trace.json"] + (["out.json"] if kind == "trace" else [])
        for how in [["-f", "chrome", "-o", "out.chrome"]] + [["-o", n] for n in names]:
            r = run(ferret, "report", prof, *how, check=False, cwd=tmp_path)
            out = tmp_path / how[-1]
            expect = None if spans else REFUSED.get((kind, "chrome"))
            if expect is None:
                assert r.returncode == 0, (kind, how, r.stderr)
                events = [e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
                assert len({e["ts"] for e in events}) > 10 and \
                    sum(e["dur"] == 0 for e in events) < len(events) / 10, (kind, how)
                out.unlink()
                continue
            assert r.returncode == 2 and r.stderr == f"ferret: {expect}\n", (kind, how, r.stderr)
            assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_pstats_refuses_a_memory_profile_in_one_line(ferret, mkprofile, tmp_path):
    """pstats holds call times: a memory profile is refused with one line that says what to do
    instead (it read 'writing pstats report to X: writing pstats: the profile holds no
    times (its first series is in bytes)'), exit 2 (a format the user chose), no file."""
    prof = tmp_path / "mem.ferret"
    run(mkprofile, "-o", prof, "--samples", 300, "--kind", "memory")
    for how in (["-f", "pstats", "-o", "out.pstats"], ["-o", "out.prof"]):
        r = run(ferret, "report", prof, *how, check=False, cwd=tmp_path)
        assert r.returncode == 2 and r.stderr == f"ferret: {REFUSED['memory', 'pstats']}\n", \
            (how, r.stderr)
        assert not (tmp_path / how[-1]).exists() and not list(tmp_path.glob("*.tmp"))


def test_help_lists_each_format_once(ferret):
    """Every command's --help lists its formats once each (trace's listed `ferret` twice, its
    own word before the table that holds it too), only formats the command takes: mem leaves
    out chrome and pstats, which no memory profile can be written as."""
    every = re.search(r"Formats: ([\w, ]+) \(default", run(ferret, "report", "--help").stdout)
    every = every.group(1).split(", ")
    takes = {"mem": set(every) - {"chrome", "pstats"}, "diff": {"text", "html", "svg"}}
    for cmd in ("run", "attach", "mem", "trace", "report", "diff"):
        text = run(ferret, cmd, "--help").stdout
        lists = [m.group(0).split(", ") for m in re.finditer(r"\b[a-z]+(?:, [a-z]+)+", text)]
        lists = [names for names in lists if {"text", "html"} <= set(names)]
        assert len(lists) == 1, (cmd, text)
        assert len(lists[0]) == len(set(lists[0])), (cmd, lists[0])
        assert set(lists[0]) == takes.get(cmd, set(every)), (cmd, lists[0])
    r = run(ferret, "trace", "-f", "pdf", "--", "python3", check=False)
    names = re.search(r"\(formats: ([\w, ]+)\)", r.stderr).group(1).split(", ")
    assert r.returncode == 2 and sorted(names) == sorted(every), r.stderr


def test_report_mode_and_gil_choose_the_samples_again(ferret, mkprofile, tmp_path):
    """Every sample keeps its on-CPU and GIL flags, so `ferret report --mode cpu` or `--gil`
    shows what `ferret run --mode cpu`/`--gil` would have (docs/SAMPLING.md); before, report
    refused both options."""
    profile = tmp_path / "p.ferret"
    run(mkprofile, "-o", profile, "--samples", 3000, "--threads", 3)

    def total(*opts):
        r = run(ferret, "report", profile, "-f", "collapsed", *opts)
        return sum(int(line.rsplit(" ", 1)[1]) for line in r.stdout.splitlines())

    wall, cpu, gil, both = total(), total("--mode", "cpu"), total("--gil"), total("-m", "cpu",
                                                                                 "--gil")
    assert wall == 3000 and total("--mode", "wall") == wall
    assert 0 < gil < cpu < wall and both == gil  # mkprofile: the GIL holder is on a CPU
    head = run(ferret, "report", profile, "--mode", "cpu", "--gil").stdout.splitlines()[0]
    assert "cpu mode, GIL holder only" in head
    again = tmp_path / "cpu.ferret"  # re-encoded, the new default view goes with it
    run(ferret, "report", profile, "--mode", "cpu", "-f", "ferret", "-o", again)
    r = run(ferret, "report", again, "-f", "collapsed")
    assert sum(int(line.rsplit(" ", 1)[1]) for line in r.stdout.splitlines()) == cpu
    for args, expect in [(["--mode", "idle"], "--mode: expected wall or cpu, not 'idle'"),
                         (["--mode"], "--mode needs a value")]:
        r = run(ferret, "report", profile, *args, check=False)
        assert r.returncode == 2 and r.stderr.strip() == f"ferret: {expect}", r.stderr
    mem = tmp_path / "mem.ferret"
    run(mkprofile, "-o", mem, "--samples", 300, "--kind", "memory")
    r = run(ferret, "report", mem, "--gil", check=False)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.strip() == (f"ferret: --gil: {mem} is not a sampled profile "
                                "(ferret run or attach)")


def test_report_takes_double_dash_and_option_equals_value(ferret, mkprofile, tmp_path):
    """`ferret report -- -x.ferret` reads a profile whose name starts with '-', and
    `--format=text`, `--top=3`, `--output=FILE` work as `--format text` does (both were
    'unknown option' before)."""
    profile = tmp_path / "-lead.ferret"
    run(mkprofile, "-o", profile, "--samples", 100)
    r = run(ferret, "report", "-f", "text", "--", profile.name, cwd=tmp_path, check=False)
    assert r.returncode == 0 and "Top functions" in r.stdout, r.stderr
    out = tmp_path / "out.txt"
    r = run(ferret, "report", "--format=text", "--top=3", f"--output={out}", "--",
            profile.name, cwd=tmp_path, check=False)
    assert r.returncode == 0 and "Top functions" in out.read_text(), r.stderr
    r = run(ferret, "report", "--gil=1", profile, check=False)
    assert r.returncode == 2 and r.stderr.startswith("ferret: --gil takes no value"), r.stderr
    r = run(ferret, "report", "--bogus=1", profile, check=False)
    assert r.returncode == 2 and "unknown option '--bogus=1'" in r.stderr, r.stderr
    r = run(ferret, "diff", "--format=text", "--", profile, profile, check=False)
    assert r.returncode == 0, r.stderr
