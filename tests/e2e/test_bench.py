"""End-to-end tests of `ferret bench`, `ferret compare` and `ferret history`.

Python-statement tests run on every interpreter (the `python` fixture) with small budgets:
six processes of five short values each, enough for the statistics to decide. Assertions
are on what a user reads: ratios against the work each statement does, significance, exit
statuses, the one `ferret:` line, and what the history holds afterwards.
"""
import base64
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT, TARGETS

FAST = ["-q", "-p", "6", "--values", "5", "--min-time", "5ms"]
FAULTFS = ROOT / "build" / "faults" / "libfaultfs.so"


def bench(ferret, *args, cwd, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("FERRET_DB", None)
    e.update(env or {})
    return subprocess.run([ferret, "bench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=e)


def run(ferret, *args, cwd, env=None):
    e = dict(os.environ)
    e.pop("FERRET_DB", None)
    e.update(env or {})
    return subprocess.run([ferret, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env=e)


def ferret_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("ferret: ") and "warning:" not in l]


def rows(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM result").fetchone()[0]


def by_name(doc):
    return {b["name"]: b for b in doc["benchmarks"]}


@pytest.mark.timing
def test_ratio_near_two(ferret, python, tmp_path):
    # twice the work, interleaved in one call. The comparison's ratio (Hodges-Lehmann over
    # per-process medians) is the "median ratio" ferret reports. The ratio of the two pooled
    # medians is not tested tightly: on this VM whole processes run in a slow mode (every
    # value of a process ~1.85x slower, seen on 3.12 as 127 vs 235 us for
    # sum(range(10000))), so 6 processes of each can put the pooled medians anywhere from
    # 1.1x to 3.7x apart while the per-process comparison stays near 2 (measured: 3.68 and
    # 3.17 pooled beside 2.11 and 2.09 compared). Up to three attempts, each of which must be
    # significant and near 2 (slow-mode processes of the smaller statement can overlap the
    # others, so one attempt was once not significant in CI): a broken ratio fails them all.
    for attempt in range(3):
        r = bench(ferret, *FAST, "--python", python, "--json", "r.json",
                  "sum(range(10000))", "sum(range(20000))", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        doc = json.loads((tmp_path / "r.json").read_text())
        b = by_name(doc)
        ratio = b["sum(range(20000))"]["median"] / b["sum(range(10000))"]["median"]
        c = doc["comparisons"][0]
        if c["significant"] and 1.6 < c["ratio"] < 2.5:
            break
    assert ratio > 1.0, ratio
    cmp = doc["comparisons"][0]
    assert cmp["significant"] and 1.6 < cmp["ratio"] < 2.5
    assert cmp["ratio_ci95"][0] <= cmp["ratio"] <= cmp["ratio_ci95"][1]
    # the values are per iteration and come from 6 processes of 5 values
    for x in b.values():
        assert len(x["values"]) == 30 and len(x["runs"]) == 6
        assert all(len(v) == 5 for v in x["runs"])
        assert x["python_version"].split()[0] in subprocess.run(
            [python, "-c", "import sys; print(sys.version)"], capture_output=True,
            text=True).stdout
        assert x["median_ci95"][0] <= x["median"] * 1.05
    assert "% slower than 'sum(range(10000))'" in r.stdout


@pytest.mark.timing
def test_same_statement_not_significant(ferret, python, tmp_path):
    # A true null: each attempt wrongly says "significant" with probability 5%, so three
    # independent attempts all doing so (0.0125%) means the test itself is broken.
    verdicts = []
    for attempt in range(3):
        r = bench(ferret, *FAST, "--python", python, "--json", "s.json", "-n", "a", "-n", "b",
                  "sorted(range(3000))", "sorted(range(3000))", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        cmp = json.loads((tmp_path / "s.json").read_text())["comparisons"][0]
        verdicts.append(cmp["significant"])
        if not cmp["significant"]:
            assert cmp["ratio_ci95"][0] <= 1 <= cmp["ratio_ci95"][1]
            break
    assert not all(verdicts), verdicts


@pytest.mark.timing
def test_thirty_percent_slower_is_significant(ferret, python, tmp_path):
    # measured interleaved in one call, as a user comparing two versions would: on a shared
    # machine, separate calls minutes apart can differ by more than 30% on their own
    # (load 5 on 2 cores while this was written). Twenty processes each give the test its
    # power: whole processes can run ~1.85x slower on this VM (see test_ratio_near_two),
    # which widens the per-process medians the test compares, and with twelve one clean-
    # clone CI run missed it three times (ratio 1.29, p = 0.068). Up to two more attempts
    # cover the rare run where contention still hides it (a broken test never finds it).
    for attempt in range(3):
        r = bench(ferret, "-q", "-p", "20", "--values", "5", "--min-time", "5ms", "--python",
                  python, "--json", "both.json", "-n", "work", "-n", "work30",
                  "sum(range(10000))", "sum(range(13000))", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        doc = json.loads((tmp_path / "both.json").read_text())
        if doc["comparisons"][0]["significant"]:
            break
    assert doc["comparisons"][0]["significant"], doc["comparisons"]
    assert 1.1 < doc["comparisons"][0]["ratio"] < 1.6
    # the same results as two result files of one benchmark "work", for compare
    for name, out in (("work", "a.json"), ("work30", "b.json")):
        one = dict(doc, benchmarks=[dict(by_name(doc)[name], name="work")], comparisons=[])
        (tmp_path / out).write_text(json.dumps(one))
    c = run(ferret, "compare", "a.json", "b.json", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert "% slower" in c.stdout and "significant: p =" in c.stdout
    assert "not significant" not in c.stdout
    # the CI gate: fails past 5%, passes at 80%
    g = run(ferret, "compare", "--fail-slower", "5", "a.json", "b.json", cwd=tmp_path)
    assert g.returncode == 1
    assert "significantly slower" in ferret_lines(g.stderr)[0]
    g = run(ferret, "compare", "--fail-slower", "80", "a.json", "b.json", cwd=tmp_path)
    assert g.returncode == 0, g.stderr
    # the same comparison from the history, by name
    h = run(ferret, "compare", "work", "work30", cwd=tmp_path)
    assert h.returncode == 0, h.stderr
    assert "'work30' is " in h.stdout and "% slower than 'work'" in h.stdout


def result_file(path, benches):
    """Writes a result file with the given {name: [[values of a process], ...]}."""
    path.write_text(json.dumps({"benchmarks": [{"name": n, "runs": r}
                                               for n, r in benches.items()]}))


def test_compare_few_processes(ferret, tmp_path):
    # 3 processes a side, B 10% slower in every one: the range of the 9 pairwise ratios
    # excludes 1, but covers the true ratio only 90% of the time, and 3 vs 3 cannot give
    # p < 0.05 (at best 0.1). Before, it was called a "95% CI" beside "not significant".
    result_file(tmp_path / "a.json", {"x": [[1.00e-3, 1.00e-3], [1.01e-3] * 2, [1.02e-3] * 2]})
    result_file(tmp_path / "b.json", {"x": [[1.10e-3, 1.10e-3], [1.11e-3] * 2, [1.12e-3] * 2]})
    c = run(ferret, "compare", "a.json", "b.json", "--markdown", "c.md", "--fail-slower", "1",
            cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    line = [l for l in c.stdout.splitlines() if "slower than" in l][0]
    assert "95% CI" not in line and "90% interval 1.078x to 1.120x" in line, line
    assert "too few processes for a 95% interval" in line
    assert "not significant: p = 0.1" in line and "can never give p < 0.05" in line, line
    md = (tmp_path / "c.md").read_text()
    assert "1.078x – 1.120x (90% interval)" in md, md
    # with 4 a side the interval is a real 95% one (97.1%) and agrees with the test
    result_file(tmp_path / "a.json", {"x": [[v] * 2 for v in (1.00e-3, 1.01e-3, 1.02e-3, 1.03e-3)]})
    result_file(tmp_path / "b.json", {"x": [[v] * 2 for v in (1.10e-3, 1.11e-3, 1.12e-3, 1.13e-3)]})
    c = run(ferret, "compare", "a.json", "b.json", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert "95% CI" in c.stdout and "significant: p = 0.029" in c.stdout, c.stdout
    assert "too few" not in c.stdout


def test_compare_shows_the_medians_the_ratio_is_about(ferret, tmp_path):
    """The ratio is over process medians; the side lines showed only the median of all
    values, which can point the other way ("B is 10% faster" beside a lower median for A).
    They add the median of the process medians."""
    result_file(tmp_path / "a.json", {"x": [[1e-3] * 9, [2e-3] * 3, [2e-3] * 3, [2e-3] * 3]})
    result_file(tmp_path / "b.json", {"x": [[1.8e-3] * 3] * 4})
    c = run(ferret, "compare", "a.json", "b.json", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    lines = c.stdout.splitlines()
    assert lines[1] == ("  A a.json: median 1.500 ms (18 values in 4 processes, whose medians' "
                        "median is 2.000 ms)"), c.stdout
    assert lines[2] == ("  B b.json: median 1.800 ms (12 values in 4 processes, whose medians' "
                        "median is 1.800 ms)"), c.stdout
    assert "'b.json' is 1.111x faster than 'a.json' (10.0% less time" in lines[3], c.stdout


def test_compare_names_with_tilde(ferret, tmp_path):
    # NAME~K is the run K back, but "a~1" can also be a benchmark's own name: an exact name
    # wins (before, it silently compared the run of "a" one back instead)
    db = str(tmp_path / "h.db")
    for name, cmd in (("a", "true"), ("a", "true"), ("a~1", "sleep 0.05")):
        r = bench(ferret, "-q", "-p", "3", "--db", db, "-n", name, "--cmd", cmd, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    c = run(ferret, "compare", "--db", db, "a", "a~1", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    b_median = [l for l in c.stdout.splitlines() if l.startswith("  B a~1: median")][0]
    assert " ms " in b_median and float(b_median.split()[3]) >= 50, c.stdout
    # ~K after the exact name goes back from it; the other name's runs are still reachable
    c = run(ferret, "compare", "--db", db, "a~1~1", "a", cwd=tmp_path)
    assert c.returncode == 2 and "'a~1' has only 1 run" in ferret_lines(c.stderr)[-1], c.stderr
    c = run(ferret, "compare", "--db", db, "a~2", "a~1~0", cwd=tmp_path)
    assert c.returncode == 2 and "'a' has only 2 runs" in ferret_lines(c.stderr)[-1], c.stderr


def md_cells(line):
    """The cells of a Markdown table row as GFM splits them (a backslash escapes the next
    character, so an escaped pipe stays in its cell)."""
    cells, cur, esc = [], "", False
    for ch in line.strip()[1:-1]:
        if esc:
            cur, esc = cur + ch, False
        elif ch == "\\":
            cur, esc = cur + ch, True
        elif ch == "|":
            cells, cur = cells + [cur.strip()], ""
        else:
            cur += ch
    return cells + [cur.strip()]


def test_markdown_and_csv_escape_names(ferret, tmp_path):
    # a name with a pipe or a newline broke compare's Markdown table (it was not escaped)
    names = ["p|q\nr", "a\\|b", "*not bold*", 'quote" and, comma']
    runs = [[1.0e-3, 1.1e-3], [1.2e-3, 1.0e-3], [1.1e-3, 1.2e-3]]
    result_file(tmp_path / "a.json", {n: runs for n in names})
    result_file(tmp_path / "b.json", {n: runs for n in names})
    c = run(ferret, "compare", "a.json", "b.json", "--markdown", "c.md", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    rows = (tmp_path / "c.md").read_text().splitlines()
    assert len(rows) == 2 + len(names), rows
    assert all(len(md_cells(r)) == 7 for r in rows), rows
    assert [md_cells(r)[0] for r in rows[2:]] == [
        "p\\|q r", "a\\\\\\|b", "\\*not bold\\*", "quote&quot; and, comma"]
    # bench's CSV quotes them (RFC 4180), newline and all
    import csv
    r = bench(ferret, "-q", "-p", "3", "--no-history", "--csv", "b.csv", "-n", names[0], "-n",
              names[3], "--cmd", "true", "--cmd", "true", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "b.csv", newline="") as f:
        got = [row["name"] for row in csv.DictReader(f)]
    assert got == [names[0], names[3]]


def test_compare_benchmarks_on_one_side(ferret, tmp_path):
    # a benchmark present in only one file was dropped without a word, so a CI gate passed
    # when a benchmark was deleted or renamed in B
    runs = [[1.0e-3, 1.1e-3], [1.2e-3, 1.0e-3], [1.1e-3, 1.2e-3]]
    result_file(tmp_path / "a.json", {"kept": runs, "gone": runs, "gone2": runs})
    result_file(tmp_path / "b.json", {"kept": runs, "new": runs})
    c = run(ferret, "compare", "a.json", "b.json", "--markdown", "c.md", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert "only in A (a.json), not compared: 'gone', 'gone2'" in c.stdout, c.stdout
    assert "only in B (b.json), not compared: 'new'" in c.stdout, c.stdout
    assert "warning: 'gone' (and 1 more) is in A but missing from B" in c.stderr, c.stderr
    md = (tmp_path / "c.md").read_text()
    assert "| gone | 1.100 ms | – | | | | only in A |" in md and "only in B |" in md, md
    # the gate fails on a benchmark it cannot check; one only in B (new) is fine
    g = run(ferret, "compare", "--fail-slower", "5", "a.json", "b.json", cwd=tmp_path)
    assert g.returncode == 1
    assert "missing from B: --fail-slower cannot check it" in ferret_lines(g.stderr)[-1]
    g = run(ferret, "compare", "--fail-slower", "5", "b.json", "b.json", cwd=tmp_path)
    assert g.returncode == 0 and g.stderr == "", g.stderr
    result_file(tmp_path / "a.json", {"kept": runs})
    g = run(ferret, "compare", "--fail-slower", "5", "a.json", "b.json", cwd=tmp_path)
    assert g.returncode == 0 and "only in B (b.json), not compared: 'new'" in g.stdout, g


def test_names_are_escaped_on_the_terminal(ferret, tmp_path):
    # names went raw into warnings, compare's first line and errors: an escape sequence in a
    # name reached the terminal and a newline split the one-line message
    evil = "x\x1b[31m\ny"
    shown = "x\\x1b[31m\\x0ay"
    r = bench(ferret, "-q", "-p", "3", "--no-history", "--json", "e.json", "-n", evil, "--cmd",
              "true", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warn = [l for l in r.stderr.splitlines() if "too few processes" in l]
    assert warn and warn[0].startswith("ferret: warning: '%s': too few" % shown), r.stderr
    runs = [[1.0e-3, 1.0e-3], [1.01e-3] * 2, [1.02e-3] * 2]
    result_file(tmp_path / "a.json", {evil: runs, evil + "2": runs})
    result_file(tmp_path / "b.json", {evil: [[v * 2 for v in p] for p in runs]})
    c = run(ferret, "compare", "a.json", "b.json", "--fail-slower", "5", cwd=tmp_path)
    for out in (c.stdout, c.stderr):
        assert "\x1b" not in out
    assert c.stdout.splitlines()[0] == shown, c.stdout
    assert "ferret: '%s2' is in A but missing from B" % shown in c.stderr, c.stderr
    (tmp_path / "bad.json").write_text(json.dumps(
        {"benchmarks": [{"name": evil, "values": [1, -1]}]}))
    c = run(ferret, "compare", "bad.json", "bad.json", cwd=tmp_path)
    assert c.returncode == 1
    assert ferret_lines(c.stderr) == [
        "ferret: bad.json: benchmark '%s': value 2 is not a positive time" % shown], c.stderr


def test_python_errors(ferret, python, tmp_path):
    r = bench(ferret, *FAST, "--python", python, "foo(", cwd=tmp_path)
    assert r.returncode == 2
    assert len(ferret_lines(r.stderr)) == 1  # exactly one error line (warnings aside)
    assert "not valid Python: SyntaxError" in ferret_lines(r.stderr)[-1]
    r = bench(ferret, *FAST, "--python", python, "-s", "d = {}", "d['missing']", cwd=tmp_path)
    assert r.returncode == 1
    assert "the statement raised KeyError: 'missing'" in ferret_lines(r.stderr)[-1]
    assert "<statement>\", line 1" in r.stderr and "d['missing']" in r.stderr
    r = bench(ferret, *FAST, "--python", python, "-s", "import no_such_module_x", "pass",
              cwd=tmp_path)
    assert r.returncode == 1
    assert "the setup raised ModuleNotFoundError" in ferret_lines(r.stderr)[-1]
    # nothing was recorded by the failed runs
    db = tmp_path / ".ferret" / "history.db"
    assert not db.exists() or rows(db) == 0


def test_bench_file_functions(ferret, python, tmp_path):
    r = bench(ferret, *FAST, "--python", python, "--json", "f.json",
              str(TARGETS / "bench_funcs.py"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = [b["name"] for b in json.loads((tmp_path / "f.json").read_text())["benchmarks"]]
    assert [n.split("::")[1] for n in names] == ["bench_sum", "bench_sorted"]
    bad = tmp_path / "bad.py"
    bad.write_text("def bench_x(:\n    pass\n")
    r = bench(ferret, *FAST, "--python", python, str(bad), cwd=tmp_path)
    assert r.returncode == 1 and "importing" in ferret_lines(r.stderr)[-1]
    assert "SyntaxError" in r.stderr
    none = tmp_path / "none.py"
    none.write_text("x = 1\n")
    r = bench(ferret, *FAST, "--python", python, str(none), cwd=tmp_path)
    assert r.returncode == 2 and "no bench_* functions" in ferret_lines(r.stderr)[-1]


ONCE = ["-q", "-p", "1", "--values", "1", "--min-time", "1ms", "--no-history"]


def test_code_is_used_as_written(ferret, python, tmp_path):
    # the setup and statement were re-indented line by line to fit the timing function,
    # the lines inside triple-quoted strings too, so the statement saw other data
    r = bench(ferret, *ONCE, "--python", python, "-s", 'x = """a\n  b"""', "-s", "import os",
              'y = """c\n d"""\nassert (x, y) == ("a\\n  b", "c\\n d"), (x, y)', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # and an error still points at the user's own line
    r = bench(ferret, *ONCE, "--python", python, 's = """\n  x"""\nboom', cwd=tmp_path)
    assert r.returncode == 1
    assert "the statement raised NameError" in ferret_lines(r.stderr)[-1]
    assert '"<statement>", line 3' in r.stderr and "boom" in r.stderr
    # lines end as Python ends them: \r alone too
    r = bench(ferret, *ONCE, "--python", python, "-s", "a = 1\rb = 2", "c = 3\rboom",
              cwd=tmp_path)
    assert r.returncode == 1
    assert '"<statement>", line 2' in r.stderr and "boom" in r.stderr
    # valid code on its own that the template turned into an IndentationError or a
    # SyntaxError blamed on the statement: a comment-only statement is an empty one, and
    # "from m import *" or a __future__ import in the setup work as at module level
    for args in (["# nothing"], ["-s", "import os", "# a comment\n"],
                 ["-s", "from math import *", "sqrt(2)"],
                 ["-s", "from __future__ import annotations\ndef f(x: Undefined): pass",
                  "f(1)"]):
        r = bench(ferret, *ONCE, "--python", python, *args, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr)
    r = bench(ferret, *ONCE, "--python", python, "-s", "from no_such_module_x import *", "pass",
              cwd=tmp_path)
    assert r.returncode == 1
    assert "the setup raised ModuleNotFoundError" in ferret_lines(r.stderr)[-1]
    # valid on its own but not in one function with the setup: blamed on the line, which
    # is shown as the user's
    r = bench(ferret, *ONCE, "--python", python, "-s", "x = 1", "global x", cwd=tmp_path)
    assert r.returncode == 2
    assert "the statement is not valid Python" in ferret_lines(r.stderr)[-1]
    assert '"<statement>", line 1' in r.stderr and "ferret-bench" not in r.stderr


def test_async_and_generator_functions(ferret, python, tmp_path):
    # an async def function was called without being awaited: only creating the coroutine
    # was timed. It is awaited now, on one event loop per process
    f = tmp_path / "aio.py"
    f.write_text("import asyncio\n"
                 "async def bench_sleep():\n"
                 "    await asyncio.sleep(0.02)\n"
                 "    assert asyncio.get_running_loop() is asyncio.get_event_loop()\n")
    r = bench(ferret, *ONCE, "--python", python, "--json", "a.json", str(f), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "a.json").read_text())["benchmarks"][0]["median"] >= 0.02
    # its exception shows the user's frames, not the event loop's
    f.write_text("async def bench_raise():\n    raise KeyError('k')\n")
    r = bench(ferret, *ONCE, "--python", python, str(f), cwd=tmp_path)
    assert r.returncode == 1
    assert "bench_raise() raised KeyError: 'k'" in ferret_lines(r.stderr)[-1]
    assert "line 2, in bench_raise" in r.stderr and "asyncio" not in r.stderr
    # a generator function's call runs none of its body: refused, not timed
    for body in ("def bench_gen():\n    yield 1\n", "async def bench_gen():\n    yield 1\n"):
        f.write_text(body)
        r = bench(ferret, *ONCE, "--python", python, str(f), cwd=tmp_path)
        assert r.returncode == 2
        assert "bench_gen is a generator function" in ferret_lines(r.stderr)[-1]


def test_code_closing_descriptors(ferret, python, tmp_path):
    # the driver talked to ferret on descriptors 3 and 4: a statement closing 3 cut it off
    # and ferret showed the driver's own traceback. It moves them out of the way, so 3 is
    # free for the statement, as in any fresh Python
    r = bench(ferret, *ONCE, "--python", python, "-s", "import os", "os.close(3)", cwd=tmp_path)
    assert r.returncode == 1
    assert "the statement raised OSError: [Errno 9]" in ferret_lines(r.stderr)[-1]
    assert "_ferret_driver" not in r.stderr and "<string>" not in r.stderr
    r = bench(ferret, *ONCE, "--python", python, "-s", "import os",
              "fd = os.open(os.devnull, os.O_RDONLY)\nos.close(fd)\nassert fd == 3, fd",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # code that closes every descriptor: one clear line of why, no traceback
    r = bench(ferret, *ONCE, "--python", python, "-s", "import os", "os.closerange(3, 1 << 20)",
              cwd=tmp_path)
    assert r.returncode == 1 and len(ferret_lines(r.stderr)) == 1
    assert "the benchmarked code closed descriptor" in r.stderr
    assert "Traceback" not in r.stderr


def test_bench_file_not_regular(ferret, tmp_path):
    # a FIFO named FILE.py "timed out" after --timeout; each process imports the file, so
    # only a regular file will do
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "dir.py").mkdir()
    for name, why in (("fifo.py", "is not a regular file"), ("dir.py", "is a directory")):
        r = bench(ferret, *ONCE, "--timeout", "20s", name, cwd=tmp_path, timeout=60)
        assert r.returncode == 2 and "%s %s" % (name, why) in ferret_lines(r.stderr)[-1], r


def test_code_not_utf8(ferret, tmp_path):
    # a statement that is not UTF-8 was blamed on the setup (a UnicodeEncodeError in the
    # driver); both are checked before any Python starts
    r = bench(ferret, *ONCE, b"x = b'\xff'", cwd=tmp_path)
    assert r.returncode == 2
    assert "the statement 'x = b'\\xff'' is not valid UTF-8" in ferret_lines(r.stderr)[-1]
    r = bench(ferret, *ONCE, "-s", b"# \xc3", "pass", cwd=tmp_path)
    assert r.returncode == 2
    assert "the setup '# \\xc3' is not valid UTF-8" in ferret_lines(r.stderr)[-1]


@pytest.mark.timing
def test_commands(ferret, tmp_path):
    r = bench(ferret, "-q", "-p", "10", "--json", "c.json", "--csv", "c.csv", "--markdown",
              "c.md", "--cmd", "sleep 0.002", "--cmd", "sleep 0.03", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "c.json").read_text())
    b = by_name(doc)
    assert 0.002 <= b["sleep 0.002"]["median"] < 0.03
    assert 0.03 <= b["sleep 0.03"]["median"] < 0.1
    assert doc["comparisons"][0]["significant"]
    assert len(b["sleep 0.03"]["values"]) == 10
    csv = (tmp_path / "c.csv").read_text().splitlines()
    assert csv[0].startswith("name,kind,n,") and len(csv) == 3
    r = bench(ferret, "-q", "-p", "10", "--no-history", "--json", "-", "--cmd", "true",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["benchmarks"][0]["name"] == "true"  # nothing but the JSON
    md = (tmp_path / "c.md").read_text()
    assert md.startswith("| benchmark |") and "**" in md
    r = bench(ferret, "-q", "-p", "3", "--cmd", "echo boom >&2; exit 3", cwd=tmp_path)
    assert r.returncode == 1
    assert "exited with status 3" in ferret_lines(r.stderr)[-1]
    assert "boom" in r.stderr
    r = bench(ferret, "-q", "-p", "3", "-N", "--cmd", "/nonexistent/prog", cwd=tmp_path)
    assert r.returncode == 2 and "command not found" in ferret_lines(r.stderr)[-1]


def test_commands_start_without_copying_ferret(ferret, tmp_path):
    # each run was started with fork: the exec threw the copy of ferret away, but the copy was
    # timed, and ferret itself then took a copy-on-write fault on every page it wrote (7 per
    # run in the release build, 20 in the sanitizer build). The command's shell reads ferret's
    # own minor faults (stat field 10) and, with builtins before it forks (while it waits for a
    # child, sh blocks signals), the state it was given: no signal blocked, and SIGPIPE (which
    # ferret ignores) not ignored
    probe = ("while read -r k v; do case $k in SigBlk:|SigIgn:) echo $k $v >> state;; esac; "
             "done < /proc/$$/status; cut -d' ' -f10 /proc/$PPID/stat >> faults")
    r = bench(ferret, "-q", "--no-history", "-p", "40", "-w", "0", "--cmd", probe, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    faults = [int(x) for x in (tmp_path / "faults").read_text().split()]
    assert len(faults) == 40
    per_run = (faults[-1] - faults[9]) / 30
    assert per_run < 3, faults
    state = (tmp_path / "state").read_text().split()
    assert state.count("SigBlk:") == 40 and state.count("SigIgn:") == 40
    for name, mask in zip(state[::2], state[1::2]):
        if name == "SigBlk:":
            assert int(mask, 16) == 0, state
        else:
            assert not int(mask, 16) & 1 << (signal.SIGPIPE - 1), state


def test_bad_arguments(ferret, tmp_path):
    r = bench(ferret, "missing_file.py", cwd=tmp_path)
    assert r.returncode == 1 and "cannot open missing_file.py" in ferret_lines(r.stderr)[-1]
    r = bench(ferret, cwd=tmp_path)
    assert r.returncode == 2 and "nothing to measure" in r.stderr
    r = bench(ferret, "--budget", "fast", "pass", cwd=tmp_path)
    assert r.returncode == 2 and "--budget" in r.stderr
    # a name beyond the benchmarks was ignored; now refused before anything runs
    r = bench(ferret, "-n", "a", "-n", "b", "-n", "c", "pass", "--cmd", "true", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert ferret_lines(r.stderr) == [
        "ferret: --name: 3 names for 2 benchmarks (one per benchmark, in order)"]
    assert r.stdout == ""
    c = run(ferret, "compare", "nope.json", "x.json", cwd=tmp_path)
    assert c.returncode == 1 and "cannot open nope.json" in c.stderr
    (tmp_path / "bad.json").write_text('{"benchmarks": [{"name": "x", "values": [1, -2]}]}')
    c = run(ferret, "compare", "bad.json", "bad.json", cwd=tmp_path)
    assert c.returncode == 1 and "not a positive time" in c.stderr
    (tmp_path / "trunc.json").write_text('{"benchmarks": [')
    c = run(ferret, "compare", "trunc.json", "trunc.json", cwd=tmp_path)
    assert c.returncode == 1 and "invalid JSON" in c.stderr
    c = run(ferret, "compare", "nosuchname", "other", cwd=tmp_path)
    assert c.returncode != 0 and "no such database" in c.stderr
    assert not (tmp_path / ".ferret").exists()  # failed runs did not create a history


def test_compare_extreme_values(ferret, tmp_path):
    # 1e300 against 1e-300 printed "infx", "inf% slower" and medians of 300 digits; 5e-324
    # gave ratios of 25 digits. Times beyond 1e-12 s to 1e9 s are refused as implausible,
    # and the extremes in between print in a few characters
    for name, values in (("big", [1e300, 2e300, 3e300]), ("tiny", [1e-300, 2e-300, 3e-300]),
                         ("sub", [5e-324, 1e-323, 1.5e-323]), ("zero", [1e-3, 0, 2e-3])):
        (tmp_path / (name + ".json")).write_text(json.dumps(
            {"benchmarks": [{"name": "x", "values": values}]}))
    for a, b in (("tiny.json", "big.json"), ("big.json", "tiny.json"), ("sub.json", "big.json")):
        c = run(ferret, "compare", a, b, cwd=tmp_path)
        assert c.returncode == 1 and "is not a plausible time" in ferret_lines(c.stderr)[-1], c
        assert "(ferret reads 1e-12 s to 1e+09 s)" in c.stderr and c.stdout == ""
    c = run(ferret, "compare", "zero.json", "zero.json", cwd=tmp_path)
    assert c.returncode == 1 and "value 2 is not a positive time" in c.stderr, c
    result_file(tmp_path / "lo.json", {"x": [[1e-12, 2e-12, 3e-12]]})
    result_file(tmp_path / "hi.json", {"x": [[1e9, 9e8, 8e8]]})
    for a, b in (("lo.json", "hi.json"), ("hi.json", "lo.json")):
        c = run(ferret, "compare", a, b, "--markdown", "-", cwd=tmp_path)
        assert c.returncode == 0, c.stderr
        assert "inf" not in c.stdout and "nan" not in c.stdout, c.stdout
        assert not re.search(r"[0-9]{8}", c.stdout), c.stdout
    assert "4.5e+20x" in c.stdout and "9e+08 s" in c.stdout, c.stdout


@pytest.mark.timing
def test_history_keeps_rows_and_plots(ferret, tmp_path):
    db = tmp_path / "h.db"
    for stmt in ["sum(range(3000))", "sum(range(3000))", "sum(range(3000))", "sum(range(15000))"]:
        r = bench(ferret, *FAST, "--db", str(db), "-n", "s", stmt, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert rows(db) == 4
    # separate runs on a shared machine can differ by tens of percent, and on this VM whole
    # processes run ~1.85x slower at times (see test_ratio_near_two): only a big step (here
    # 5x) must be called a change point, and identical runs must not, so the bar is 2x
    h = run(ferret, "history", "--db", str(db), "s", "--threshold", "100", "--svg", "p.svg",
            "--html", "p.html", cwd=tmp_path)
    assert h.returncode == 0, h.stderr
    lines = [l for l in h.stdout.splitlines() if l.strip()[:1].isdigit()]
    assert len(lines) == 4
    assert "change point" in lines[3] and "change point" not in lines[1]
    svg = ET.parse(tmp_path / "p.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}circle")) == 4
    assert "<svg" in (tmp_path / "p.html").read_text()
    h = run(ferret, "history", cwd=tmp_path, env={"FERRET_DB": str(db)})
    assert h.returncode == 0 and "s " in h.stdout
    # the list's columns line up by characters: a name such as 'zäh' and a time in µs are
    # longer in bytes than on the screen (they were printed one column short)
    r = bench(ferret, *FAST, "--db", str(db), "-n", "zäh", "sum(range(3))", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    h = run(ferret, "history", "--db", str(db), cwd=tmp_path)
    table = h.stdout.splitlines()
    assert any("µs" in l for l in table) and any("zäh" in l for l in table), h.stdout
    assert len({len(l) for l in table[1:]}) == 1 and len(table[0]) == len(table[1]) - 8, h.stdout
    # and a benchmark's runs: one in ns and one in µs end their columns at the same character
    r = bench(ferret, *FAST, "--db", str(db), "-n", "zäh", "sum(range(3000))", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    h = run(ferret, "history", "--db", str(db), "zäh", cwd=tmp_path)
    runs = [l for l in h.stdout.splitlines() if l.strip()[:1].isdigit()]
    assert len(runs) == 2 and "ns" in runs[0] and "µs" in runs[1], h.stdout
    assert len({l.index(" - ") for l in runs}) == 1, h.stdout
    h = run(ferret, "history", "--db", str(db), "nope", cwd=tmp_path)
    assert h.returncode == 2 and "no benchmark named 'nope'" in h.stderr


def test_history_escapes_what_the_database_holds(ferret, tmp_path):
    # a commit label from the database went raw to the terminal: an odd or crafted history
    # could move the cursor, recolour it or split a row
    db = tmp_path / "h.db"
    r = bench(ferret, "-q", "-p", "3", "--db", str(db), "-n", "s", "--cmd", "true",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(db) as c:
        c.execute("UPDATE run SET git_commit = ?, git_dirty = 1", ("ab\x1b[2J\nä\x9bcdefghij",))
    h = run(ferret, "history", "--db", str(db), "s", "--svg", "p.svg", "--html", "p.html",
            cwd=tmp_path)
    assert h.returncode == 0, h.stderr
    assert "\x1b" not in h.stdout and "\x9b" not in h.stdout, h.stdout
    # the first 10 characters, each control as \xNN, and the row stays one row
    table = h.stdout.splitlines()
    assert len(table) == 4 and "ab\\x1b[2J\\x0aä\\x9bc+ " in table[1], h.stdout
    assert "\x1b" not in (tmp_path / "p.html").read_text()
    ET.parse(tmp_path / "p.svg")
    # a time no calendar holds showed as a garbage date (an undefined cast, then an unset tm)
    for t in (1e300, -1e300, 1e15):
        with sqlite3.connect(db) as c:
            c.execute("UPDATE run SET started_unix = ?", (t,))
        for args in ([], ["s"]):
            h = run(ferret, "history", "--db", str(db), *args, cwd=tmp_path)
            assert h.returncode == 0, h.stderr
            assert re.search(r"(  |\+ )\?( |$)", h.stdout.splitlines()[1]), (t, h.stdout)


def test_killed_and_interrupted_runs_keep_history(ferret, tmp_path):
    db = tmp_path / "h.db"
    r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for sig in (signal.SIGKILL, signal.SIGINT):
        p = subprocess.Popen([ferret, "bench", "-q", "--db", str(db), "-b", "30s", "pass"],
                             cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        if sig == signal.SIGINT:
            assert p.returncode == 130
            assert "interrupted; nothing was recorded" in err
        else:
            assert p.returncode == -signal.SIGKILL
        with sqlite3.connect(db) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert rows(db) == 1
    r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert rows(db) == 2


def test_a_history_that_is_a_directory_says_so(ferret, tmp_path):
    """--db or FERRET_DB naming a directory said 'opening: I/O error (disk I/O error, code
    266)'; now one line says it is a directory, for bench, history and compare."""
    d = tmp_path / "dbdir"
    d.mkdir()
    for r in (bench(ferret, *FAST, "pass", cwd=tmp_path, env={"FERRET_DB": str(d)}),
              bench(ferret, *FAST, "--db", str(d), "pass", cwd=tmp_path),
              run(ferret, "history", "--db", str(d), cwd=tmp_path)):
        lines = ferret_lines(r.stderr)
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert lines[0] == f"ferret: history {d}: is a directory (give the database's file, " \
                           f"e.g. {d}/history.db)", r.stderr
    assert list(d.iterdir()) == []


def test_an_unwritable_output_fails_before_benchmarking(ferret, tmp_path):
    """--json/--csv/--markdown naming a directory or a file in a missing directory failed
    only after the whole benchmark ('renaming ro.tmp to ro: Is a directory'); now one line,
    before anything runs and before anything is stored."""
    d = tmp_path / "adir"
    d.mkdir()
    db = tmp_path / "h.db"
    for opt in ("--json", "--csv", "--markdown"):
        for out, expect in ((d, "it is a directory"),
                            (tmp_path / "no" / "x.out", "No such file or directory")):
            r = bench(ferret, *FAST, "--db", str(db), opt, str(out), "pass", cwd=tmp_path)
            lines = ferret_lines(r.stderr)
            assert r.returncode == 1 and len(lines) == 1, r.stderr
            assert lines[0] == f"ferret: cannot write {out}: {expect}", r.stderr
            assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"] and not list(d.iterdir())


def test_the_default_history_in_a_removed_directory_says_so(ferret, tmp_path):
    """In a current directory that was removed, the default history (.ferret/history.db) was
    refused with 'creating .ferret: No such file or directory'; now the line says why."""
    gone = tmp_path / "gone"
    gone.mkdir()
    e = dict(os.environ)
    e.pop("FERRET_DB", None)
    r = subprocess.run(f"cd {gone} && rmdir {gone} && exec {ferret} bench {' '.join(FAST)} "
                       f"--python /usr/bin/python3 pass", shell=True, capture_output=True,
                       text=True, timeout=120, env=e)
    lines = ferret_lines(r.stderr)
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0] == "ferret: history .ferret/history.db: the current directory was removed " \
                       "(cd to another, or give --db)", r.stderr
    # with --db elsewhere it runs, and the environment's git lookup prints nothing (the
    # shell said "sh: 0: getcwd() failed: No such file or directory")
    gone.mkdir()
    r = subprocess.run(f"cd {gone} && rmdir {gone} && exec {ferret} bench {' '.join(FAST)} "
                       f"--db {tmp_path / 'h.db'} --python /usr/bin/python3 pass", shell=True,
                       capture_output=True, text=True, timeout=120, env=e)
    assert r.returncode == 0, r.stderr
    assert "getcwd" not in r.stderr, r.stderr


def test_database_problems(ferret, tmp_path):
    db = tmp_path / "h.db"
    r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path)
    assert r.returncode == 0
    # corrupted
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    r = bench(ferret, *FAST, "--db", str(bad), "pass", cwd=tmp_path)
    assert r.returncode == 1 and "not an SQLite database" in ferret_lines(r.stderr)[-1]
    # some other program's database
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    r = bench(ferret, *FAST, "--db", str(other), "pass", cwd=tmp_path)
    assert r.returncode == 1 and "not a ferret history" in ferret_lines(r.stderr)[-1]
    # locked by another writer: fails before benchmarking, after the busy timeout
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path)
        assert r.returncode == 1 and "locked by another process" in ferret_lines(r.stderr)[-1]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rows(db) == 1
    # an output that is the database itself is refused before anything runs (before, it
    # replaced the whole history), also through another spelling of the path
    for args in (["bench", *FAST, "--db", str(db), "--json", str(db), "pass"],
                 ["bench", *FAST, "--db", str(db), "--csv", "./h.db", "pass"],
                 ["history", "--db", str(db), "pass", "--svg", str(db)],
                 ["history", "--db", "h.db", "pass", "--html", str(db)],
                 ["compare", "--db", str(db), "pass", "pass", "--markdown",
                  "../%s/h.db" % tmp_path.name]):
        r = run(ferret, *args, cwd=tmp_path)
        assert r.returncode == 2 and "is the history database" in ferret_lines(r.stderr)[-1], r
        assert "median" not in r.stdout
    assert rows(db) == 1
    # an empty --db (SQLite's temporary database, thrown away at exit) is refused
    for args in (["bench", *FAST, "--db", "", "pass"], ["history", "--db", ""],
                 ["compare", "--db", "", "a", "b"]):
        r = run(ferret, *args, cwd=tmp_path)
        assert r.returncode == 2 and "--db: empty path" in ferret_lines(r.stderr)[-1], r


def test_readers_never_write(ferret, tmp_path):
    # history and compare only read: an empty file given as --db was made into a history
    # (tables written into it), and another program's database was opened for writing
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for args in (["history", "--db", "empty.db"], ["history", "--db", "empty.db", "x"],
                 ["compare", "--db", "empty.db", "x", "y"]):
        r = run(ferret, *args, cwd=tmp_path)
        assert r.returncode == 2, r
        assert "no history in empty.db (it is empty" in ferret_lines(r.stderr)[-1], r.stderr
        assert empty.read_bytes() == b""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    for args in (["history", "--db", "other.db"], ["compare", "--db", "other.db", "x", "y"]):
        r = run(ferret, *args, cwd=tmp_path)
        assert r.returncode == 1 and "not a ferret history" in ferret_lines(r.stderr)[-1], r
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "other.db"]
    # a run interrupted while being stored leaves a hot journal: reading rolls it back (the
    # one write a reader makes) and shows the history as it was
    db = tmp_path / "h.db"
    r = bench(ferret, "-q", "-p", "3", "--db", str(db), "-n", "s", "--cmd", "true", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    subprocess.run(["/usr/bin/python3", "-c", """if 1:
        import os, sqlite3, sys
        c = sqlite3.connect(sys.argv[1], isolation_level=None)
        c.execute("PRAGMA cache_size = 1")
        c.execute("BEGIN")
        for i in range(3000):
            c.execute("INSERT INTO run (started_unix, argv) VALUES (?, ?)", (i, "x" * 500))
        os._exit(0)""", str(db)], check=True)
    assert (tmp_path / "h.db-journal").stat().st_size > 0
    h = run(ferret, "history", "--db", str(db), cwd=tmp_path)
    assert h.returncode == 0, h.stderr
    assert h.stdout.splitlines()[1].split()[:2] == ["s", "1"]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM run").fetchone()[0] == 1


@pytest.fixture
def faults():
    if not FAULTFS.exists():
        raise pytest.UsageError(f"{FAULTFS} missing: run `make e2e`")
    return {"LD_PRELOAD": str(FAULTFS), "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0"}


def test_full_disk_and_read_only(ferret, tmp_path, faults):
    db = tmp_path / "h.db"
    r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path)
    assert r.returncode == 0
    for errno_name in ("ENOSPC", "EIO"):
        env = dict(faults, FAULTFS_PATH="h.db", FAULTFS_ERRNO=errno_name)
        r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path, env=env)
        assert r.returncode == 1
        assert "were not stored" in ferret_lines(r.stderr)[-1]
        assert "pass" in r.stdout  # the results were still shown
        with sqlite3.connect(db) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert rows(db) == 1
    # output files: nothing partial is left behind
    env = dict(faults, FAULTFS_PATH="out.json")
    r = bench(ferret, *FAST, "--no-history", "--json", "out.json", "pass", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "No space left on device" in ferret_lines(r.stderr)[-1]
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out.json.tmp").exists()
    # read-only database: refused before the run
    env = dict(faults, FAULTFS_PATH="h.db", FAULTFS_OPEN="EROFS")
    r = bench(ferret, *FAST, "--db", str(db), "pass", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "read-only" in ferret_lines(r.stderr)[-1]
    assert r.stdout == ""
    assert rows(db) == 1


def test_history_in_a_directory_that_may_not_be_written(ferret):
    """SQLite says only "unable to open database file" when a new history cannot be created;
    the system's reason is what tells the user why. Run as another user: root writes
    anywhere."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run ferret as another user")
    import shutil
    import tempfile
    shared = tempfile.mkdtemp(prefix="ferret-rodb-")
    try:
        os.chmod(shared, 0o555)
        db = os.path.join(shared, "h.db")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            ferret, "bench", *FAST, "--python", "/usr/bin/python3", "--db", db,
                            "print('ran')"], capture_output=True, text=True, timeout=60)
        lines = ferret_lines(r.stderr)
        assert r.returncode == 1 and len(lines) == 1, r.stderr
        assert lines[0] == ("ferret: history %s: cannot create the database: Permission denied "
                            "(use --db elsewhere or --no-history)" % db), r.stderr
        assert r.stdout == "" and os.listdir(shared) == []  # refused before the benchmark ran
    finally:
        shutil.rmtree(shared)


def test_dying_and_hanging_python(ferret, tmp_path):
    r = bench(ferret, *FAST, "import os; os.kill(os.getpid(), 9)", cwd=tmp_path)
    assert r.returncode == 1
    assert "the Python process was killed by signal 9" in ferret_lines(r.stderr)[-1]
    t0 = time.monotonic()
    r = bench(ferret, *FAST, "--timeout", "1", "while True: pass", cwd=tmp_path)
    assert time.monotonic() - t0 < 20
    assert r.returncode == 1 and "within 1 s (--timeout)" in ferret_lines(r.stderr)[-1]
    r = bench(ferret, *FAST, "--python", "/nonexistent/python3", "pass", cwd=tmp_path)
    assert r.returncode == 2 and "command not found" in ferret_lines(r.stderr)[-1]
    # a statement that writes to stdout and stderr does not disturb the protocol
    r = bench(ferret, *FAST, "--json", "o.json", "print('noise'); import sys; sys.stderr.write('x')",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "noise" not in r.stdout.splitlines()
    assert json.loads((tmp_path / "o.json").read_text())["benchmarks"][0]["n"] == 30


def slow_part_share(compare_out):
    """The share of the difference compare's explanation gives slow_part: itself and its
    generator expression (named "<genexpr>" before 3.11, "slow_part.<locals>.<genexpr>"
    after). None when there is no explanation."""
    lines = compare_out.splitlines()
    at = [i for i, l in enumerate(lines) if "where the difference comes from" in l]
    if not at:
        return None
    share = 0.0
    for l in lines[at[0] + 1:]:
        if not l.startswith("    "):
            break
        if "slow_part" in l or "<genexpr>" in l:
            share += float(l.split("%")[0].split()[-1])
    return share


@pytest.mark.timing
def test_profile_explains_difference(ferret, python, tmp_path):
    db = tmp_path / "h.db"
    for n, out in (("1000", "a.json"), ("5000", "b.json")):
        r = bench(ferret, "-q", "-p", "6", "--values", "5", "--min-time", "20ms", "--profile",
                  "--python", python, "--db", str(db), "-n", "work",
                  "--json", out, str(TARGETS / "bench_profiled.py"), cwd=tmp_path,
                  env={"SLOW_N": n})
        assert r.returncode == 0, r.stderr
        b = json.loads((tmp_path / out).read_text())["benchmarks"][0]
        # the stored profile is a .ferret file the report command reads
        prof = tmp_path / (out + ".ferret")
        prof.write_bytes(base64.b64decode(b["profile_ferret"]))
        rep = run(ferret, "report", str(prof), "-f", "collapsed", "-o", "-", cwd=tmp_path)
        assert rep.returncode == 0, rep.stderr
        assert "slow_part" in rep.stdout and "steady_part" in rep.stdout
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM result WHERE profile IS NOT NULL").fetchone()[0] == 2
    for args in (["a.json", "b.json"], ["--db", str(db), "work~1", "work"]):
        c = run(ferret, "compare", *args, cwd=tmp_path)
        assert c.returncode == 0, c.stderr
        assert (slow_part_share(c.stdout) or 0) > 50, c.stdout


def test_compare_with_corrupted_profiles(ferret, tmp_path):
    # a stored profile that cannot be read made compare exit 1 with only that error: the
    # verdict was lost. Now the verdict, then one warning line; the exit status is the
    # verdict's
    runs_a = [[1.00e-3 + i * 1e-5] * 2 for i in range(6)]
    runs_b = [[2.00e-3 + i * 1e-5] * 2 for i in range(6)]
    garbage = base64.b64encode(b"FERRET\n" + b"\xff" * 64).decode()
    for profile_b, why in ((garbage, "profile of A: "), ("!!not base64!!", "profile of B: base64")):
        for name, runs, prof in (("a.json", runs_a, garbage), ("b.json", runs_b, profile_b)):
            (tmp_path / name).write_text(json.dumps({"benchmarks": [
                {"name": "x", "runs": runs, "profile_ferret": prof}]}))
        c = run(ferret, "compare", "a.json", "b.json", cwd=tmp_path)
        assert c.returncode == 0, c.stderr
        assert "'b.json' is 97.6% slower" in c.stdout and "significant: p = 0.0022" in c.stdout, c.stdout
        assert c.stderr.startswith("ferret: warning: 'x': the difference is not explained: " + why)
        assert len(c.stderr.splitlines()) == 1, c.stderr
        g = run(ferret, "compare", "--fail-slower", "5", "a.json", "b.json", cwd=tmp_path)
        assert g.returncode == 1 and "significantly slower" in ferret_lines(g.stderr)[-1], g


@pytest.mark.timing
def test_profile_of_commands(ferret, python, tmp_path):
    # each run of a command is sampled once Python runs in it: through the shell (a child
    # of sh, or sh exec'd) and without it; the runs share one profile that compare explains
    prog = str(TARGETS / "cmd_profiled.py")
    for n, out, shell in (("20000", "a.json", []), ("100000", "b.json", ["-N"])):
        r = bench(ferret, "-q", "-p", "6", "--profile", *shell, "--json", out, "--no-history",
                  "--cmd", "%s %s" % (python, prog), cwd=tmp_path, env={"SLOW_N": n})
        assert r.returncode == 0, r.stderr
        assert "--profile" not in r.stderr, r.stderr
        b = json.loads((tmp_path / out).read_text())["benchmarks"][0]
        prof = tmp_path / (out + ".ferret")
        prof.write_bytes(base64.b64decode(b["profile_ferret"]))
        rep = run(ferret, "report", str(prof), "-f", "collapsed", "-o", "-", cwd=tmp_path)
        assert rep.returncode == 0, rep.stderr
        assert "slow_part" in rep.stdout and "<module> (%s" % prog in rep.stdout, rep.stdout[:2000]
        assert "process " not in rep.stdout  # no per-run process roots
    c = run(ferret, "compare", "a.json", "b.json", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert (slow_part_share(c.stdout) or 0) > 50, c.stdout
    # a command that runs no Python: timed, with a warning and no profile
    r = bench(ferret, "-q", "-p", "3", "--profile", "--json", "c.json", "--no-history",
              "--cmd", "sleep 0.02", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "warning: --profile: no Python ran in 'sleep 0.02'" in r.stderr, r.stderr
    b = json.loads((tmp_path / "c.json").read_text())["benchmarks"][0]
    assert b["n"] == 3 and not b.get("profile_ferret")


def test_every_option_docs_bench_names_is_in_the_help(ferret):
    """docs/BENCH.md told to use `--runs N` for commands, which ferret accepts, but no
    --help text listed it: each option the page names is in bench's, compare's or
    history's --help."""
    doc = (ROOT / "docs" / "BENCH.md").read_text()
    helps = "".join(subprocess.run([ferret, cmd, "--help"], capture_output=True, text=True,
                                   check=True).stdout for cmd in ("bench", "compare", "history"))
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", doc))
    assert named and sorted(o for o in named if not re.search(re.escape(o) + r"\b", helps)) == []


def test_report_on_a_bench_result_says_what_it_is(ferret, tmp_path):
    """`ferret report` on `ferret bench --json` output guessed 'a speedscope or Chrome trace
    file?'; it now names a bench result and where its profiles are."""
    out = tmp_path / "r.json"
    r = bench(ferret, *FAST, "--no-history", "--json", str(out), "pass", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run(ferret, "report", str(out), cwd=tmp_path)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"ferret: {out}: not a ferret profile (it is a ferret bench "
                               "result: `ferret compare` reads it;"), r.stderr
