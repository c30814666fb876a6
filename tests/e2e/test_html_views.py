"""The HTML report of real `ferret mem` and `ferret trace --lines` recordings, driven in
headless chromium (html_views.mjs): the memory views switch the flame graph, the timeline
is plotted with the peak marked, the source view shows the peak line's bytes; the trace's
table shows exact call counts and its source view the exact hits per line.

These run on one interpreter only (3.12 when installed, else the newest): the HTML is the
same whatever recorded the profile, the recordings themselves are checked on every
interpreter by test_mem.py and test_trace.py, and six browser runs would cost about a
minute. Screenshots go to build/e2e-screenshots/ (mem-*.png, trace-*.png).
"""
import json
import re
import subprocess

import pytest

from conftest import PYTHONS, TARGETS, python_version
from test_mem import marks, near
from test_reports import E2E, SHOTS, run
import tracekit as tk

MiB = 1 << 20


def one_python():
    found = sorted((python_version(p.values[0]) or (0,), p.values[0]) for p in PYTHONS)
    if not found:
        raise pytest.UsageError("no supported CPython (3.9-3.13) found; set FERRET_PYTHONS")
    for v, exe in found:
        if v[:2] == (3, 12):
            return exe
    return found[-1][1]


@pytest.fixture(scope="module")
def py():
    """(Not `python`: conftest parametrises that one over every interpreter.)"""
    return one_python()


@pytest.fixture(scope="module")
def driver():
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        raise pytest.UsageError("playwright-core missing: run .ci/deps (npm ci in tests/e2e)")

    def drive(*args):
        SHOTS.mkdir(parents=True, exist_ok=True)
        r = run("node", E2E / "html_views.mjs", *args, cwd=E2E)
        return json.loads(r.stdout)
    return drive


def size(text):
    """Bytes from the report's '48.0 MiB'."""
    m = re.fullmatch(r"(-?[\d.]+) (B|KiB|MiB|GiB|TiB)", text)
    assert m, text
    return float(m.group(1)) * 1024 ** ["B", "KiB", "MiB", "GiB", "TiB"].index(m.group(2))


def test_memory_report(ferret, py, tmp_path, driver):
    target = TARGETS / "mem_known.py"
    lines = marks(target)
    truth_file = tmp_path / "truth.json"
    html = tmp_path / "timeline.html"
    # refused before: the timeline view as HTML opens on the plot
    run(ferret, "mem", "--view", "timeline", "-f", "html", "-o", html, "--", py, target,
        truth_file)
    truth = json.loads(truth_file.read_text())
    seen = driver("memory", html, SHOTS / "mem", "mem_known.py", lines["PEAK_BIG"])
    assert seen["errors"] == [] and seen["requests"] == []
    assert seen["scriptInjected"] is False
    assert seen["initialTab"] == "tab-timeline"
    assert "Peak heap" in seen["facts"] and "Mode" in seen["facts"]
    assert "sampled: one allocation per 64.0 KiB" in seen["facts"]
    assert "Ended" in seen["facts"] and "normally" in seen["facts"]

    # the view switch: other frames, other totals
    assert seen["views"] == ["view-peak", "view-leaks", "view-allocated"]
    peak, leaks, alloc = (seen["byView"][v] for v in seen["views"])
    assert [peak["view"], leaks["view"], alloc["view"]] == ["peak", "leaks", "allocated"]
    assert peak["drawn"][0] == "all memory live at the peak"
    assert leaks["drawn"][0] == "all memory still live at exit"
    assert "peak" in peak["drawn"] and "peak" not in leaks["drawn"]
    assert "leak" in leaks["drawn"] and "leak" not in peak["drawn"]
    assert "churn" in alloc["drawn"]
    assert peak["total"] >= truth["peak_big"] + 0.9 * truth["peak_small"]
    assert truth["leak"] * 0.95 <= leaks["total"] < peak["total"]
    assert alloc["total"] > peak["total"] + 40 * 5000 * 100  # the churn was allocated
    assert peak["summary"].startswith("live at the peak: ")
    assert leaks["summary"].startswith("still live at exit: ")

    # the function table (peak view): peak() holds the peak's bytes
    assert seen["headers"][:3] == ["Function", "File", "Self"]
    row = next(r for r in seen["table"] if r[0] == "peak")
    assert size(row[4]) >= 0.95 * (truth["peak_big"] + truth["peak_small"])  # total

    # the source view: the peak line's bytes (48 x 1 MiB) and allocations, per view
    src = seen["source"]
    assert src is not None and "live at the peak" in src["heading"]
    big_bytes, big_count = src["lines"][str(lines["PEAK_BIG"])]
    assert near(size(big_bytes), truth["peak_big"], 0.05), big_bytes
    assert big_count == "48\u00d7"
    small = size(src["lines"][str(lines["PEAK_SMALL"])][0])
    assert near(small, truth["peak_small"], 0.25), small  # sampled: an estimate
    leak_src = seen["leakSource"]
    assert near(size(leak_src["lines"][str(lines["LEAK"])][0]), truth["leak"], 0.05)
    assert str(lines["PEAK_BIG"]) not in leak_src["lines"] or \
        leak_src["lines"][str(lines["PEAK_BIG"])] == ["", ""]

    # the timeline: drawn, with the peak's marker where the meta puts it
    plot = seen["plot"]
    assert plot and plot["L"] <= plot["peakX"] <= plot["L"] + plot["pw"]
    assert plot["T"] <= plot["peakY"] < plot["T"] + plot["ph"] / 2  # the peak is high
    assert seen["plotPixels"]["peak"] == [185, 28, 28, 255]  # the marker's red
    assert seen["plotPixels"]["heapColumns"] > 0.5 * seen["plotPixels"]["columns"]
    assert re.match(r"\d+ points, one every 10\.0ms", seen["plotNote"])
    assert "mem.peak_heap_bytes" in seen["metaText"]


def test_memory_report_opens_on_the_view(ferret, py, tmp_path):
    html = tmp_path / "leaks.html"
    run(ferret, "mem", "--view", "leaks", "-o", html, "--", py, TARGETS / "mem_known.py",
        tmp_path / "truth.json")
    data = re.search(r'<script id="ferret-data" type="application/json">(.*?)</script>',
                     html.read_text(), re.S).group(1)
    report = json.loads(data)
    assert report["kind"] == "memory" and report["tab"] == "flame"
    assert report["views"][report["view"]]["id"] == "leaks"


def test_trace_report(ferret, py, tmp_path, driver):
    target = tk.target("trace_lines.py")
    truth = json.loads(subprocess.run([py, str(target), "--truth"], capture_output=True,
                                      text=True, timeout=60, check=True).stdout)
    html = tmp_path / "trace.html"
    r = tk.run(ferret, ["trace", "--lines", "-o", html, "--", py, target])
    assert r.returncode == 0, r.stderr
    seen = driver("trace", html, SHOTS / "trace", "trace_lines.py", "step")
    assert seen["errors"] == [] and seen["requests"] == []
    assert seen["scriptInjected"] is False
    assert seen["initialTab"] == "tab-flame" and seen["views"] == ["view-wall", "view-cpu"]
    wall = seen["byView"]["view-wall"]
    assert wall["drawn"][0] == "all traced time" and "<module>" in wall["drawn"]
    assert seen["byView"]["view-cpu"]["drawn"][0] == "all traced CPU time"
    assert re.search(r" of wall time in traced functions, [\d,]+ calls$", wall["summary"])

    # the table: exact calls
    head = seen["headers"]
    assert head[:3] == ["Function", "File", "Calls"] and "CPU self" in head
    rows = {r[0]: r for r in seen["table"]}
    assert rows["step"][2] == "100" and rows["work"][2] == "1"
    assert rows["step"][1].endswith("trace_lines.py:11")

    # the source view: the exact hits of every line CPython reported, and a time for each
    src = seen["source"]
    assert src is not None, seen["sourceNote"][:300]
    text = target.read_text().splitlines()
    for fn in ("work", "step"):
        for line, hits in truth[fn].items():
            if python_version(py) < (3, 12) and "for i in range(5)]" in text[int(line) - 1]:
                continue  # before 3.12 the comprehension's own code shares the line
            got = src["lines"][line]
            assert got[0] == str(hits), (fn, line, got, hits)
            assert re.fullmatch(r"[\d.]+(ns|us|ms|s)", got[1]), got
    threads = seen["threads"]
    assert len(threads) == 1 and threads[0][0].startswith("MainThread")
    assert "sys.monitoring" in seen["facts"] or python_version(py) < (3, 12)
