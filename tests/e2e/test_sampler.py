"""ferret run / attach / dump on every interpreter: attribution against each workload's own
truth, wall and cpu modes, the GIL, threads, subprocesses, deep and non-ASCII stacks, how the
target ends, exec, signals, and every bad input of issue 2."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, TARGETS, WORKLOADS, python_version
import tracekit



def ferret_run(ferret, *args, timeout=120, **kw):
    return subprocess.run([ferret, *args], capture_output=True, text=True, timeout=timeout, **kw)


def collapsed(path):
    """[(frames root-first, weight)] from a collapsed-stacks file."""
    out = []
    for line in open(path, encoding="utf-8"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        out.append((stack.split(";"), int(count)))
    return out


def collapsed_of(ferret, path):
    """[(frames root-first, weight)] of a .ferret file, through ferret report."""
    r = ferret_run(ferret, "report", "-f", "collapsed", str(path))
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        out.append((stack.split(";"), int(count)))
    return out


def weight(stacks, pred):
    return sum(c for frames, c in stacks if pred(frames))


def has(name, file=None):
    """A predicate: some frame of the stack is function `name` (of a file ending in `file`).
    Give the file where the name is common: `site` has a main() too."""
    return lambda frames: any(f.startswith(name + " (") and (file is None or f"{file}:" in f)
                              for f in frames)


def leaf(name):
    return lambda frames: frames[-1].startswith(name + " (")


def record(ferret, tmp_path, *cmd, opts=(), name="out.txt"):
    out = tmp_path / name
    r = ferret_run(ferret, "run", "-q", "-f", "collapsed", "-o", str(out), *opts, "--", *cmd)
    return r, (collapsed(out) if out.exists() else [])


def truth_of(stdout, *keys):
    line = next(l for l in stdout.splitlines() if l.startswith("TRUTH"))
    return [float(re.search(k + r"=([0-9.]+)%", line).group(1)) for k in keys]


# ---- accuracy against the workloads' own truth -------------------------------------------

@pytest.mark.timing
def test_split_attribution(python, ferret, tmp_path):
    r, st = record(ferret, tmp_path, python, str(WORKLOADS / "split.py"), "--truth")
    assert r.returncode == 0, r.stderr
    hot_t, warm_t = truth_of(r.stdout, "hot", "warm")
    main = weight(st, has("main", "split.py"))
    hot = 100 * weight(st, has("hot")) / main
    warm = 100 * weight(st, has("warm")) / main
    assert abs(hot - hot_t) <= 3, (hot, hot_t)
    assert abs(warm - warm_t) <= 3, (warm, warm_t)


@pytest.mark.timing
def test_native_time_goes_to_the_calling_line(python, ferret, tmp_path):
    r, st = record(ferret, tmp_path, python, str(WORKLOADS / "native.py"), "--truth")
    assert r.returncode == 0, r.stderr
    c_t, py_t = truth_of(r.stdout, "c_part", "py_part")
    main = weight(st, has("main", "native.py"))
    # The truth times the whole `check += c_part(...)` line, which includes freeing c_part's
    # big locals after its frame is gone (about 1% of the run): those samples are main's, at
    # that line, with no callee, and they count with the part.
    src = open(WORKLOADS / "native.py").read().splitlines()
    def call_line(fn):
        n = next(i + 1 for i, l in enumerate(src) if f"check += {fn}(" in l)
        return lambda frames: frames[-1].startswith("main (") and \
            frames[-1].endswith(f"native.py:{n})")
    def part(fn):
        return lambda frames: has(fn)(frames) or call_line(fn)(frames)
    c = 100 * weight(st, part("c_part")) / main
    py = 100 * weight(st, part("py_part")) / main
    assert abs(c - c_t) <= 2, (c, c_t)
    assert abs(py - py_t) <= 2, (py, py_t)
    # time inside sorted() is charged to the line of c_part that calls it
    sort_line = next(i + 1 for i, l in enumerate(src) if "sorted(ints[:SORT_N])" in l)
    assert weight(st, lambda f: f[-1].endswith(f"native.py:{sort_line})")) > 0


# ---- modes, GIL, threads -----------------------------------------------------------------

@pytest.mark.timing
def test_wall_and_cpu_modes(python, ferret, tmp_path):
    prog = str(TARGETS / "halfsleep.py")
    r, wall = record(ferret, tmp_path, python, prog, name="wall.txt")
    assert r.returncode == 0, r.stderr
    r, cpu = record(ferret, tmp_path, python, prog, opts=("--mode", "cpu"), name="cpu.txt")
    assert r.returncode == 0, r.stderr
    busy_w, nap_w = weight(wall, has("busy")), weight(wall, has("nap"))
    busy_c, nap_c = weight(cpu, has("busy")), weight(cpu, has("nap"))
    # wall: the two halves about equal; cpu: the sleeping half is gone
    assert 0.7 < busy_w / nap_w < 1.4, (busy_w, nap_w)
    assert nap_c < 0.1 * busy_c, (busy_c, nap_c)
    assert busy_c > 0.6 * busy_w, (busy_c, busy_w)


def by_thread(st, name_re, pred):
    """Per thread whose --threads root name matches name_re: (its samples, those where pred
    holds)."""
    total, match = {}, {}
    for frames, c in st:
        m = re.match(r"thread \d+ (" + name_re + r")$", frames[0])
        if m:
            total[m.group(1)] = total.get(m.group(1), 0) + c
            if pred(frames):
                match[m.group(1)] = match.get(m.group(1), 0) + c
    return total, match


@pytest.mark.timing
def test_threads_falling_asleep_are_seen_where_they_sleep(python, ferret, tmp_path):
    # the stack is read before the kernel's thread state; a thread that runs on between the
    # two and then sleeps must not keep the older stack for its whole sleep
    r, st = record(ferret, tmp_path, python, str(TARGETS / "nappers.py"), opts=("--threads",))
    assert r.returncode == 0, r.stderr
    total, napping = by_thread(st, r"napper-\d+", leaf("nap"))
    assert len(total) == 30, sorted(total)
    bad = {k: (napping.get(k, 0), v) for k, v in total.items() if napping.get(k, 0) < 0.8 * v}
    assert not bad, bad


@pytest.mark.timing
def test_every_nap_is_seen_where_it_sleeps(python, ferret, tmp_path):
    # 60 threads x 8 naps of 0.2 s at 2 kHz: a nap seen in an earlier stack (the wait for the
    # GIL, or warm) puts ~400 samples outside nap; waiting for the GIL inside warm, a few dozen
    r, st = record(ferret, tmp_path, python, str(TARGETS / "nap_cycles.py"),
                   opts=("--threads", "-r", "2000"))
    assert r.returncode == 0, r.stderr
    total, napping = by_thread(st, r"w-\d+", leaf("nap"))
    elsewhere = {k: v - napping.get(k, 0) for k, v in total.items()}
    assert len(total) == 60, sorted(total)
    bad = {k: (v, total[k]) for k, v in elsewhere.items() if v > 200}
    assert not bad, bad


@pytest.mark.timing
def test_a_thread_in_a_subinterpreter_is_one_stack(python, ferret, tmp_path):
    # the thread has a state in each interpreter; sampled as two threads, it counted twice
    # (two samples a moment) and the subinterpreter's frames had no caller
    r, st = record(ferret, tmp_path, python, str(TARGETS / "subinterp.py"),
                   opts=("--threads",))
    assert r.returncode == 0, r.stderr
    main = by_thread(st, "MainThread", lambda f: True)[0]
    total, spin = by_thread(st, "subinterp", has("sub_spin"))
    assert spin.get("subinterp", 0) > 800, (total, spin)  # 1 s at 1 kHz
    in_caller = lambda f: has("sub_spin")(f) and any(
        x.startswith("in_subinterpreter (") for x in f)
    assert by_thread(st, "subinterp", in_caller)[1] == spin
    # the thread lives no longer than the main thread, which waits for it
    assert total["subinterp"] < 1.2 * main["MainThread"], (total, main)


@pytest.mark.timing
def test_threads_root_is_one_name_per_thread(python, ferret, tmp_path):
    # a new thread is sampled before threading has registered its name; with --threads its
    # first stacks must not get a root of their own (the kernel's name) beside the later ones
    r, st = record(ferret, tmp_path, python, str(TARGETS / "late_threads.py"),
                   opts=("--threads", "-r", "2000"))
    assert r.returncode == 0, r.stderr
    roots = {}
    for frames, c in st:
        m = re.match(r"thread (\d+) (.*)$", frames[0])
        assert m, frames[0]
        roots.setdefault(m.group(1), set()).add(m.group(2))
    split = {tid: names for tid, names in roots.items() if len(names) > 1}
    assert not split, split
    names = sorted(n for ns in roots.values() for n in ns)
    assert sum(n.startswith("worker-") for n in names) >= 20, names
    assert "cruncher" in names and "MainThread" in names, names


def maxrss_kb(cmd):
    """Runs cmd and returns (its exit status, its own peak resident memory in KiB)."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss


@pytest.mark.timing
def test_long_attach_to_idle_threads_keeps_memory_flat(python, ferret, tmp_path):
    # a thread that stays in one stack gives identical samples, which merge: attaching 4 s
    # instead of 1 s to 60 idle threads at 2 kHz (another 366,000 samples, about 9.5 MB as
    # separate records) must cost ferret little more memory
    p = subprocess.Popen([python, str(TARGETS / "idle_threads.py")], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        peak = {}
        for d in (1, 4):
            out = tmp_path / f"idle{d}.txt"
            rc, peak[d] = maxrss_kb([ferret, "attach", "-q", "-r", "2000", "--duration", str(d),
                                     "-f", "collapsed", "-o", str(out), str(p.pid)])
            assert rc == 0
            st = collapsed(out)
            # nothing lost: the weights still add up to every thread at every moment
            assert weight(st, lambda f: True) > 0.9 * 61 * 2000 * d, weight(st, lambda f: True)
        assert peak[4] - peak[1] < 3000, peak
    finally:
        p.stdin.close()
        p.wait(timeout=30)


@pytest.mark.timing
def test_gil_mode_shows_only_the_holder(python, ferret, tmp_path):
    prog = str(TARGETS / "gil_threads.py")
    r, st = record(ferret, tmp_path, python, prog, opts=("--gil", "--threads"))
    assert r.returncode == 0, r.stderr
    compute, sleeper = weight(st, has("compute")), weight(st, has("sleeper"))
    assert compute > 200, st[:5]
    assert sleeper <= 0.05 * compute, (compute, sleeper)
    # --threads: every stack starts with its thread, named as the program named it
    assert all(frames[0].startswith("thread ") for frames, _ in st)
    assert any(frames[0].endswith(" númber-cruncher") for frames, _ in st if has("compute")(frames))
    # without --gil the sleeping thread is there too
    r, allst = record(ferret, tmp_path, python, prog, name="all.txt")
    assert weight(allst, has("sleeper")) > 0.5 * weight(allst, has("compute"))


@pytest.mark.timing
def test_text_report_thread_summary(python, ferret, tmp_path):
    r = ferret_run(ferret, "run", "-q", "-f", "text", "--", python, str(TARGETS / "gil_threads.py"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Top functions by self time" in out and "Top lines by self time" in out
    assert "compute (" in out
    threads = out[out.index("Threads"):]
    rows = [l for l in threads.splitlines()[2:] if "tid " in l]
    assert len(rows) >= 3  # main, compute, sleeper
    gil = [float(l.split()[3].rstrip("%")) for l in rows]
    idle = [float(l.split()[2].rstrip("%")) for l in rows]
    assert max(gil) > 80  # the computing thread held the GIL
    assert max(idle) > 90  # the sleeper was idle
    names = {l.split()[-1] for l in rows}
    assert {"MainThread", "númber-cruncher", "napper"} <= names, names


@pytest.mark.timing
def test_subprocesses(python, ferret, tmp_path):
    r, st = record(ferret, tmp_path, python, str(TARGETS / "pool.py"), opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    assert all(frames[0].startswith("process ") for frames, _ in st)
    procs = {frames[0].split()[1] for frames, c in st if has("work")(frames)}
    assert len(procs) >= 2, procs  # the pool's workers, each tagged with its process
    parent = {frames[0].split()[1] for frames, _ in st}
    assert len(parent) >= 3


@pytest.mark.timing
def test_subprocesses_counts_only_python(python, ferret, tmp_path):
    """Programs a Python program runs that are not Python (/bin/true, sleep) are no processes
    of the profile: before, each one --subprocesses saw was counted ('in 8 processes')."""
    out = tmp_path / "out.ferret"
    r = ferret_run(ferret, "run", "--subprocesses", "-o", str(out), "--", python,
                   str(TARGETS / "helpers.py"))
    assert r.returncode == 0, r.stderr
    parent, child = re.search(r"PIDS (\d+) (\d+)", r.stdout).groups()
    st = collapsed_of(ferret, out)
    sampled = {frames[0].split()[1] for frames, _ in st}
    # a child caught between its fork and its exec is a copy of Python, sampled where the
    # parent started it; any other process sampled is a mistake
    in_fork = lambda f: f[1:] == ["<no Python frame>"] or any(
        x.split(" (")[0].endswith("_execute_child") for x in f)
    for pid in sampled - {parent, child}:
        assert all(in_fork(f) for f, _ in st if f[0].split()[1] == pid), st
    assert {parent, child} <= sampled, (parent, child, sampled)
    head = ferret_run(ferret, "report", str(out)).stdout.splitlines()[0]
    assert f" in {len(sampled)} processes," in head, head
    said = re.search(r"sampled process (\d+) and (\d+) child process(es)? \(", r.stderr)
    assert said and said.groups()[:2] == (parent, str(len(sampled) - 1)), r.stderr


NO_FRAME = ("import _thread, time\ndef napper():\n    time.sleep(0.1)\n"
            "_thread.start_new_thread(napper, ())\n"
            "sum(range(10_000_000))  # keeps the GIL: the new thread waits for it with no frame\n")


@pytest.mark.timing
@pytest.mark.parametrize("opts", [(), ("--subprocesses",), ("--threads",)], ids=str)
def test_samples_without_a_frame_are_named_in_collapsed(python, ferret, tmp_path, opts):
    """A thread with no Python frame (here a new thread waiting for the GIL) has the empty
    stack: collapsed dropped it, but with --subprocesses or --threads wrote a bare 'process
    N' or 'thread N' line. Every mode now ends such a stack in '<no Python frame>', and the
    lines add up to the text report's total."""
    (tmp_path / "nf.py").write_text(NO_FRAME)
    prof = tmp_path / "out.ferret"
    r = ferret_run(ferret, "run", "-q", "-o", str(prof), *opts, "--", python,
                   str(tmp_path / "nf.py"))
    assert r.returncode == 0, r.stderr
    st = collapsed_of(ferret, prof)
    head = ferret_run(ferret, "report", str(prof)).stdout.splitlines()[0]
    assert weight(st, lambda f: True) == int(re.match(r"ferret: (\d+) samples", head).group(1))
    roots = {"--subprocesses": "process ", "--threads": "thread "}
    assert all(not f[-1].startswith(tuple(roots.values())) for f, _ in st), st
    frameless = [f for f, _ in st if f[-1] == "<no Python frame>"]
    assert weight(st, lambda f: f[-1] == "<no Python frame>") > 20, st  # the wait: 50-300 ms
    assert all(len(f) == 1 + len(opts) and all(x.startswith(roots[o]) for x, o in zip(f, opts))
               for f in frameless), frameless


@pytest.mark.timing
def test_python_child_after_hundreds_of_helpers(python, ferret, tmp_path):
    """Each helper took one of the 256 places for watched processes for good: the Python
    child that came after 300 of them was never sampled."""
    r, st = record(ferret, tmp_path, python, str(TARGETS / "helpers.py"), "100",
                   opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    child = re.search(r"PIDS \d+ (\d+)", r.stdout).group(1)
    assert weight(st, lambda f: f[0].split()[1] == child and has("child")(f)) > 150, st


@pytest.mark.timing
def test_parent_is_sampled_on_after_its_child_exits(python, ferret, tmp_path):
    """The child's exit left 'process exited' behind, which the parent's next walk took for
    its own whenever no thread held its GIL: the parent was dropped, found again, dropped."""
    r, st = record(ferret, tmp_path, python, str(TARGETS / "helpers.py"),
                   opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    assert weight(st, has("nap_after_child")) > 250, st  # 0.5 s at 1 kHz


@pytest.mark.timing
def test_deep_recursion(python, ferret, tmp_path):
    r, st = record(ferret, tmp_path, python, str(TARGETS / "deep.py"))
    assert r.returncode == 0, r.stderr
    deepest = max((sum(f.startswith("dive (") for f in frames), c) for frames, c in st)
    assert deepest[0] == 901, deepest
    assert weight(st, lambda f: sum(x.startswith("dive (") for x in f) == 901) > 300


@pytest.mark.timing
def test_non_ascii_names(python, ferret, tmp_path):
    prog = str(TARGETS / "ünïcödé_target.py")
    r, st = record(ferret, tmp_path, python, prog)
    assert r.returncode == 0, r.stderr
    hot = [frames for frames, c in st if "calcül_δ (" in frames[-1]]
    assert hot and "ünïcödé_target.py:" in hot[0][-1]
    minor = int(subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                               capture_output=True, text=True).stdout)
    meth = "Ñame.método" if minor >= 11 else "método"
    assert any(f.startswith(meth + " (") for f in hot[0])


# ---- every frame as Python itself reads it -------------------------------------------------

FRAME_RE = re.compile(r"^(.*) \((.*):(\d+)\)$")


def frame_of(text):
    """[name, file, line] of a 'name (file:line)' frame."""
    m = FRAME_RE.match(text)
    return [m[1], m[2], int(m[3])] if m else [text, "?", -1]


def dump_stack_in(ferret, pid, fn):
    """The frames, innermost first, of the thread ferret dump shows in function fn."""
    r = ferret_run(ferret, "dump", str(pid))
    assert r.returncode == 0, r.stderr
    for thread in r.stdout.split("\nThread ")[1:]:
        frames = [frame_of(l.strip()) for l in thread.splitlines()[1:] if l.strip()]
        if any(f[0] == fn for f in frames):
            return frames
    return None


def test_dump_reads_every_frame_as_python_does(python, ferret):
    """Every shape of frame_shapes.py (inlined comprehensions, closures, methods, class bodies,
    generators, coroutines, handlers, callbacks from C, threads, exec'd strings, replaced
    __code__, functions longer than a line table's steps, lines past 65,535): each caller's
    line is the line of its call, and the whole stack is what the program saw of itself.
    Before: on 3.13 a specialised class call showed a frame '__init__ (__init__:0)' between
    __init__ and its caller (the shim frame CPython leaves out of stacks)."""
    p = subprocess.Popen([python, str(TARGETS / "frame_shapes.py"), "all"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        wrong, shapes = [], 0
        while True:
            line = p.stdout.readline()
            assert line, "frame_shapes.py ended early"
            if line == "done\n":
                break
            truth = json.loads(line)
            shapes += 1
            # the target prints before it reaches its read: wait until dump sees it there
            deadline = time.monotonic() + 10
            while True:
                got = dump_stack_in(ferret, p.pid, "block")
                if (got and got[0] == truth[0]) or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            if got != truth:
                wrong.append((truth, got))
            p.stdin.write("x")
            p.stdin.flush()
        assert shapes > 40
        assert not wrong, wrong
    finally:
        p.kill()
        p.wait()


@pytest.mark.timing
def test_sampled_frames_are_python_s_own(python, ferret, tmp_path):
    """The same shapes sampled while they compute on a known line: every sample there is one
    of the stacks the program reported, whole (the walk's caches, runs of equal frames, the
    3.13 shim frame)."""
    out = tmp_path / "s.txt"
    r = ferret_run(ferret, "run", "-q", "-f", "collapsed", "-o", str(out), "--", python,
                   str(TARGETS / "frame_shapes.py"), "all", env=dict(os.environ, SPIN="0.05"))
    assert r.returncode == 0, r.stderr
    truths = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("[")]
    assert len(truths) > 40
    wanted = {tuple(tuple(f) for f in reversed(t)) for t in truths}  # root first
    leaf_frame = tuple(truths[0][0])
    seen, wrong = set(), []
    for frames, c in collapsed(out):
        stack = tuple(tuple(frame_of(f)) for f in frames)
        if stack[-1] != leaf_frame:
            continue  # elsewhere than on the computing line
        if stack in wanted:
            seen.add(stack)
        else:
            wrong.append((frames, c))
    # each wrong stack whole, with the truths of the same depth (pytest cuts a long repr short)
    assert not wrong, "\n".join(
        "%d sample(s) of %s\n  truths of that depth: %s" % (
            c, ";".join(frames), [";".join("%s (%s:%d)" % tuple(f) for f in w)
                                  for w in wanted if len(w) == len(frames)])
        for frames, c in wrong)
    assert len(seen) > 0.8 * len(wanted), wanted - seen


@pytest.mark.timing
def test_code_compiled_where_freed_code_was(python, ferret, tmp_path):
    """code_reuse.py compiles, runs and frees code in a loop, each round's spinning line one
    lower: a new code object often lands where the freed one was, its name, file and line
    table too. Each round's line gets its round's samples (less up to 31 of them: a frame
    unchanged since the last sample keeps its id until walk.c's WALK_FULL_CHECK). Before, the
    freed object's lines stayed: on 3.11 and 3.13 whole rounds went to an earlier round's
    line (800 samples on lines 1 and 2, none on lines 3 to 8)."""
    r, st = record(ferret, tmp_path, python, str(TARGETS / "code_reuse.py"))
    assert r.returncode == 0, r.stderr
    rounds = {}
    for l in r.stdout.splitlines():
        _, way, line = l.split()
        rounds.setdefault(way, set()).add(int(line))
    assert len(rounds) == 4
    for way, lines in rounds.items():
        got = {}
        for frames, c in st:
            if frames[-1].startswith("spin (") and f"({way}:" in frames[-2]:
                line = frame_of(frames[-2])[2]
                got[line] = got.get(line, 0) + c
        said = "%s: %s" % (way, sorted(got.items()))  # every round (pytest cuts a dict short)
        assert set(got) == lines, said
        # a late moment carries the weight of the ones it missed: the median round is the
        # yardstick, not the mean
        typical = sorted(got.values())[len(lines) // 2]
        assert all(got[l] > 0.5 * typical for l in lines), said


# ---- how the target ends ------------------------------------------------------------------

@pytest.mark.parametrize("how,code", [("raise", 1), ("exit3", 3), ("kill", 128 + 9)])
@pytest.mark.timing
def test_exit_status_is_the_commands(python, ferret, tmp_path, how, code):
    r, st = record(ferret, tmp_path, python, str(TARGETS / "exits.py"), how)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert weight(st, has("work")) > 100  # what ran before the end is still reported
    if how == "raise":
        assert "RuntimeError: boom" in r.stderr


@pytest.mark.timing
def test_exec_is_followed(python, ferret, tmp_path):
    r, st = record(ferret, tmp_path, python, str(TARGETS / "exec_into.py"), "go")
    assert r.returncode == 0, r.stderr
    assert weight(st, has("before_exec")) > 100
    assert weight(st, has("after_exec")) > 100


@pytest.mark.timing
def test_exec_of_the_same_program_is_sampled_from_its_start(python, ferret, tmp_path):
    # the same executable and script exec'd twice: only the new stack's place tells the new
    # image apart; each spins 0.3 s at 1 kHz. Telling it only after 20 failed samples and the
    # next look (every 100 ms) lost ~80 samples per exec, all counted as dropped
    r, st = record(ferret, tmp_path, python, str(TARGETS / "reexec.py"))
    assert r.returncode == 0, r.stderr
    got = [weight(st, has(f"spin_{g}")) for g in range(3)]
    assert all(n > 250 for n in got), got


def libpython(python):
    """The libpython a shared build loads, or None (a static build)."""
    code = ("import os, sysconfig as s; v = s.get_config_var; "
            "print(os.path.join(v('LIBDIR'), v('INSTSONAME')) if v('Py_ENABLE_SHARED') else '')")
    lib = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    return lib if lib and os.path.exists(lib) else None


def half_loaded(python, tmp_path, ms, *then):
    """A command that holds python's libpython mapped as the dynamic loader first maps it,
    for ms milliseconds, then execs `then` (through a shell script: ferret run only starts
    what can be Python)."""
    lib = libpython(python)
    if not lib:
        pytest.skip("a static build: no libpython for the dynamic loader to map")
    wrap = tmp_path / "wrap.sh"
    wrap.write_text('#!/bin/sh\nexec "$@"\n')
    wrap.chmod(0o755)
    return [str(wrap), str(ROOT / "build" / "half_loaded"), lib, str(ms), *then]


SPIN = "import time\ndef spin():\n    t = time.time()\n    while time.time() - t < 0.3: pass\nspin()"


@pytest.mark.timing
def test_libpython_caught_while_the_loader_maps_it(python, ferret, tmp_path):
    """Between the loader's first mapping of libpython and its segments', _PyRuntime's
    symbol is there but not its data (3.13 failed on it: 'does not start with the debug
    cookie'): ferret run looks again until it reads."""
    r, st = record(ferret, tmp_path, *half_loaded(python, tmp_path, 300, python, "-c", SPIN))
    assert r.returncode == 0, r.stderr
    # 0.3 s of spin() at 1 kHz: about 300 (seen once in CI: 68, and 3 with no Python frame)
    assert weight(st, has("spin")) > 100, (st, r.stderr)


@pytest.mark.parametrize("ms", [300, 1500])
@pytest.mark.timing
def test_libpython_that_never_reads_fails_clearly(python, ferret, tmp_path, ms):
    """The same state that lasts until the process exits (300 ms), or longer than ferret
    waits for it (1500 ms), is the one-line error of a runtime that does not read."""
    if python_version(python)[:2] < (3, 13):
        pytest.skip("before 3.13 nothing in _PyRuntime is checked before sampling")
    cmd = half_loaded(python, tmp_path, ms)
    r = ferret_run(ferret, "run", "-q", "-o", str(tmp_path / "out.txt"), "--", *cmd)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not start with the debug cookie" in lines[0], r.stderr


@pytest.mark.timing
def test_python_child_of_a_shell_is_sampled_at_the_rate(python, ferret, tmp_path):
    """A shell that runs Python as its child is never Python itself: the child's samples
    still come at the rate (they came every 10 ms while the shell was looked at)."""
    (tmp_path / "spin.py").write_text(SPIN)
    script = tmp_path / "launch.sh"
    script.write_text(f'#!/bin/sh\n"{python}" "{tmp_path / "spin.py"}"\ntrue\n')
    script.chmod(0o755)
    r, st = record(ferret, tmp_path, str(script), opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    assert weight(st, has("spin")) > 200  # 300 ms at 1 kHz


@pytest.mark.timing
@pytest.mark.parametrize("subprocesses", [False, True], ids=["exec", "subprocesses"])
def test_rate_counts_only_the_time_python_was_sampled(python, ferret, tmp_path, subprocesses):
    """The summary's "N of 1000 samples/s" counted a launcher's time before Python started
    (the pyenv shim, here a shell sleeping 0.4 s), and with --subprocesses the gap between two
    Pythons: 400-600 of 1000 for a run that sampled at the full rate. It is measured over the
    time Python was sampled: one spinning thread, so each moment is one stack, and the rate
    is the moments over the time they stand for (their weights), whatever the machine's load."""
    (tmp_path / "spin.py").write_text(SPIN)
    spin = f'"{python}" "{tmp_path / "spin.py"}"'
    script = tmp_path / "launch.sh"
    script.write_text("#!/bin/sh\nsleep 0.4\n" + (f"{spin}\nsleep 0.4\n{spin}\n" if subprocesses
                                                  else f"exec {spin}\n"))
    script.chmod(0o755)
    out = tmp_path / "out.txt"
    r = ferret_run(ferret, "run", "-f", "collapsed", "-o", str(out),
                   *(["--subprocesses"] if subprocesses else []), "--", str(script))
    assert r.returncode == 0, r.stderr
    m = re.search(r"([0-9]+) of 1000 samples/s, ([0-9]+) stacks", r.stderr)
    assert m, r.stderr
    rate, stacks = int(m.group(1)), int(m.group(2))
    total = weight(collapsed(out), lambda f: True)
    assert total > 2 * 200 if subprocesses else total > 200, r.stderr  # 300 ms each at 1 kHz
    assert abs(rate - 1000 * stacks / total) < 0.15 * 1000 * stacks / total, (r.stderr, total)


def test_cost_per_moment_counts_only_moments_that_sampled(python, ferret, tmp_path):
    """The summary's "us CPU and N reads per sample moment" divided by every moment, also a
    launcher's polls before Python started (every 10 ms, whatever the rate): behind a shell
    sleeping 0.5 s at -r 20 about 56 moments for 6 that sampled, 0.4 reads per moment, while
    any moment that samples reads at least the thread list and a frame."""
    (tmp_path / "spin.py").write_text(SPIN)
    script = tmp_path / "launch.sh"
    script.write_text(f'#!/bin/sh\nsleep 0.5\nexec "{python}" "{tmp_path / "spin.py"}"\n')
    script.chmod(0o755)
    r = ferret_run(ferret, "run", "-r", "20", "-o", str(tmp_path / "out.txt"), "--", str(script))
    assert r.returncode == 0, r.stderr
    m = re.search(r"([0-9.]+) us CPU and ([0-9.]+) reads per sample moment", r.stderr)
    assert m, r.stderr
    assert float(m.group(2)) >= 2, r.stderr


def test_a_rate_below_ten_is_shown_as_given(python, ferret, tmp_path):
    """The summary printed rates as whole numbers: -r 0.5 read "0 of 0 samples/s"."""
    r = ferret_run(ferret, "run", "-r", "2.5", "-o", str(tmp_path / "out.txt"), "--", python,
                   "-c", "pass")
    assert r.returncode == 0, r.stderr
    assert re.search(r" of 2\.5 samples/s", r.stderr), r.stderr


@pytest.mark.timing
def test_a_low_rate_does_not_outlast_the_program(python, ferret, tmp_path):
    """At -r 1 the next moment is a second away, and ferret saw the program's end only then:
    `ferret run -r 1` of a 30 ms program took a whole second, and attach stayed up to an
    interval after its target exited. The sampler now looks for the end every 20 ms."""
    out = tmp_path / "out.txt"
    t0 = time.monotonic()
    r = ferret_run(ferret, "run", "-r", "1", "-f", "collapsed", "-o", str(out), "--", python,
                   "-c", "pass")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert took < 0.8, took  # was 1.0 s at least
    p = subprocess.Popen([python, "-c", "import time; print('ready', flush=True); "
                          "time.sleep(0.4)"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        t0 = time.monotonic()
        r = ferret_run(ferret, "attach", "-q", "-r", "1", "-f", "collapsed", "-o", str(out),
                       str(p.pid))
        took = time.monotonic() - t0
    finally:
        p.kill()
        p.wait()
    assert r.returncode == 0, r.stderr
    assert took < 0.8, took  # the target exits 0.4 s in (still unreaped); was 1.0 s


@pytest.mark.parametrize("wrapper", [("env", "FOO=1"), ("nice",), ("nice", "-n", "5"),
                                     ("/usr/bin/env",), ("env", "nice", "-n", "3", "env", "A=b")],
                         ids=" ".join)
@pytest.mark.timing
def test_wrappers_that_exec_python_are_followed(python, ferret, tmp_path, wrapper):
    """env and nice exec the command they are given, found on PATH: ferret run follows them
    into Python (before, they were refused as 'not a Python program')."""
    (tmp_path / "spin.py").write_text(SPIN)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(python)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    out = tmp_path / "out.txt"
    r = ferret_run(ferret, "run", "-q", "-f", "collapsed", "-o", str(out), "--", *wrapper,
                   "python3", str(tmp_path / "spin.py"), env=env)
    assert r.returncode == 0, r.stderr
    assert weight(collapsed(out), has("spin")) > 200  # 300 ms at 1 kHz


@pytest.mark.timing
def test_a_wrapper_that_forks_python_needs_subprocesses(python, ferret, tmp_path):
    """timeout runs its command as its child: without --subprocesses nothing is sampled, which
    ferret says in one line (at once, or when the command ends first) while the command runs
    on to its end; with --subprocesses the child is sampled. So for a child's child (it said
    "exited without running Python", as if Python had not run)."""
    spin = "import sys, time\nt = time.time()\nwhile time.time() - t < float(sys.argv[1]): pass\n" \
           "print('done')\n"
    (tmp_path / "spin.py").write_text(spin)
    out = tmp_path / "out.ferret"
    once, twice = ["timeout", "60"], ["timeout", "60", "timeout", "60"]
    for wrap, secs, words in (
            (once, "2", ("runs Python as its child process", "(timeout)")),
            (once, "0.2", ("exited without running Python itself but ran it as its child",)),
            (twice, "2", ("runs Python as its grandchild process", "(timeout)")),
            (twice, "0.2", ("exited without running Python itself but ran it as its grandchild",))):
        r = ferret_run(ferret, "run", "-o", str(out), "--", *wrap, python,
                       str(tmp_path / "spin.py"), secs)
        one_line_error(r, *words, "add --subprocesses", code=1)
        assert r.stdout == "done\n", r.stdout
        assert not out.exists()
    r, st = record(ferret, tmp_path, "timeout", "60", python, str(tmp_path / "spin.py"), "0.5",
                   opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    assert weight(st, lambda f: f[-1].startswith("<module> (")) > 300, st


@pytest.mark.timing
def test_a_wrappers_child_that_becomes_python_late_is_sampled(python, ferret, tmp_path):
    """With --subprocesses a child was given up on after 20 looks as not Python, and while the
    command itself is not Python those come every 10 ms: a wrapper's child that exec'd Python
    after 200 ms (a shell that waits first, or a slow start on a busy machine) was never
    sampled ("exited without running Python"). A child is given up on after 2 s in one image."""
    (tmp_path / "spin.py").write_text(SPIN)
    r, st = record(ferret, tmp_path, "timeout", "60", "sh", "-c",
                   f'sleep 0.5; exec "{python}" "{tmp_path / "spin.py"}"',
                   opts=("--subprocesses",))
    assert r.returncode == 0, r.stderr
    assert weight(st, has("spin")) > 200, st  # 300 ms at 1 kHz


@pytest.mark.timing
def test_blocking_mode(python, ferret, tmp_path):
    """--blocking pauses the program for every sample, which also lengthens its sleeps (by
    up to a third with the sanitizer build on a loaded machine): the profile must split the
    time as the program itself measured it."""
    r, st = record(ferret, tmp_path, python, str(TARGETS / "halfsleep.py"), opts=("--blocking",))
    assert r.returncode == 0, r.stderr
    busy, nap = weight(st, has("busy")), weight(st, has("nap"))
    true_busy, _ = truth_of(r.stdout, "busy", "nap")
    assert abs(100 * busy / (busy + nap) - true_busy) < 8, (busy, nap, true_busy)


# ---- attach and signals -------------------------------------------------------------------

def start_spinner(python):
    p = subprocess.Popen([python, str(TARGETS / "spin_forever.py")], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


@pytest.mark.timing
def test_attach_with_duration(python, ferret, tmp_path):
    p = start_spinner(python)
    try:
        out = tmp_path / "a.txt"
        t0 = time.monotonic()
        r = ferret_run(ferret, "attach", "-q", "--duration", "1", "-f", "collapsed", "-o",
                       str(out), str(p.pid))
        elapsed = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        assert 0.9 < elapsed < 10
        st = collapsed(out)
        assert weight(st, leaf("spin")) > 500
        assert p.poll() is None  # attach never stops or signals the target
    finally:
        p.kill()
        p.wait()


@pytest.mark.timing
def test_blocking_attach_to_a_process_traced_by_another(python, ferret, tmp_path):
    # a process takes one tracer: the second --blocking attach names the first, not permission
    p = start_spinner(python)
    try:
        first = subprocess.Popen([ferret, "attach", "-q", "--blocking", "--duration", "5",
                                  "-o", str(tmp_path / "first.txt"), str(p.pid)],
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = open(f"/proc/{p.pid}/status").read()
            if f"TracerPid:\t{first.pid}\n" in status:
                break
            time.sleep(0.01)
        r = ferret_run(ferret, "attach", "--blocking", "--duration", "0.5", "-o",
                       str(tmp_path / "second.txt"), str(p.pid))
        # without --blocking nothing needs ptrace: the same attach works beside the tracer
        r3 = ferret_run(ferret, "attach", "-q", "--duration", "0.5", "-f", "collapsed", "-o",
                        str(tmp_path / "third.txt"), str(p.pid))
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
        assert r.returncode != 0
        line = r.stderr.strip()
        assert "\n" not in line, line
        assert f"already traced by process {first.pid} (ferret)" in line, line
        assert "permission" not in line, line
        assert r3.returncode == 0, r3.stderr
        assert weight(collapsed(tmp_path / "third.txt"), leaf("spin")) > 200
    finally:
        p.kill()
        p.wait()


@pytest.mark.timing
def test_main_thread_that_exits_first(python, ferret, tmp_path):
    """The main thread calls pthread_exit and a worker runs on for a second: the process is
    alive until the worker ends, and is sampled until then. The main thread's Python state
    stays behind at the pthread_exit line; the dead thread gets no samples past the first
    look (before, sampling stopped with the leader, and attach called it not Python)."""
    target = str(TARGETS / "leader_exits.py")
    r, st = record(ferret, tmp_path, python, target, "1.0")
    assert r.returncode == 0, r.stderr
    assert weight(st, has("crunch")) > 800, st  # 1 s at 1 kHz
    at_exit = lambda f: f[-1].startswith("<module> (") and f[-1].endswith("leader_exits.py:29)")
    assert weight(st, at_exit) < 200, st  # at most until the first look (0.1 s)

    p = subprocess.Popen([python, target, "3.0"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "gone"
        time.sleep(0.2)
        for mode in ((), ("--blocking",)):
            out = tmp_path / "a.txt"
            r = ferret_run(ferret, "attach", "-q", *mode, "--duration", "0.5", "-f",
                           "collapsed", "-o", str(out), str(p.pid))
            assert r.returncode == 0, (mode, r.stderr)
            st = collapsed(out)
            assert weight(st, has("crunch")) > 350, (mode, st)
            # 3.9/3.10 name no kernel thread id: ferret finds it in glibc's struct pthread, at
            # an offset learnt from the main thread's or, once that has exited and its tid is
            # cleared, from another thread's
            assert weight(st, at_exit) == 0, (mode, st)
    finally:
        p.kill()
        p.wait()


def test_dump(python, ferret):
    p = start_spinner(python)
    try:
        r = ferret_run(ferret, "dump", str(p.pid))
        assert r.returncode == 0, r.stderr
        assert re.search(r"spin \(.*spin_forever\.py:\d+\)", r.stdout), r.stdout
        assert "<module> (" in r.stdout
    finally:
        p.kill()
        p.wait()


def test_attach_and_dump_of_a_zombie_say_it_exited(python, ferret, tmp_path):
    """A child that exited and that its parent has not waited for (a zombie) keeps its /proc
    entry but no memory: it has exited, it is not 'not a Python program' (as it was before)."""
    code = ("import os, sys, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\n"
            "print(pid, flush=True)\nsys.stdin.read()\n")
    p = subprocess.Popen([python, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        zombie = p.stdout.readline().strip()
        deadline = time.monotonic() + 10
        while open(f"/proc/{zombie}/stat").read().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        out = tmp_path / "a.txt"
        for cmd in (("attach", "-o", str(out), zombie),
                    ("attach", "-d", "1", "-o", str(out), zombie), ("dump", zombie)):
            r = ferret_run(ferret, *cmd)
            one_line_error(r, f"process {zombie} (python", "has exited", "zombie", code=1)
            assert not r.stdout, (cmd, r.stdout)
        assert not out.exists()
    finally:
        p.kill()
        p.wait()


def _many_threads(python, n, depth):
    p = subprocess.Popen([python, str(TARGETS / "many_threads.py"), str(n), str(depth)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_thousands_of_threads_are_all_sampled_and_dumped(python, ferret, tmp_path):
    # Before: a sample held 1,024 threads and dump 256 (the rest silently left out, the main
    # thread among them), and each new thread's name was looked up with one read per entry
    # of threading._active: 86,000 reads a moment with 1,000 threads.
    n = 2000
    p = _many_threads(python, n, 3)
    try:
        out = tmp_path / "t.txt"
        r = ferret_run(ferret, "attach", "-d", "2", "-r", "50", "--threads", "-f", "collapsed",
                       "-o", str(out), str(p.pid))
        assert r.returncode == 0, r.stderr
        roots = {stack[0] for stack, _ in collapsed(out)}  # "thread TID NAME"
        assert {"w%d" % i for i in range(n)} <= {r.rsplit(" ", 1)[-1] for r in roots}
        assert len(roots) == n + 1, len(roots)
        d = ferret_run(ferret, "dump", str(p.pid))
        assert d.returncode == 0, d.stderr
        assert d.stdout.count("\nThread ") == n + 1
        assert "(MainThread)" in d.stdout
    finally:
        p.stdin.close()
        p.wait()


def test_dump_shows_every_deep_stack_whole(python, ferret):
    # Before: dump's frames were one buffer of 65,536 for all threads: after 21 stacks of
    # 3,000 frames the others showed none at all.
    p = _many_threads(python, 30, 3000)
    try:
        d = ferret_run(ferret, "dump", str(p.pid))
        assert d.returncode == 0, d.stderr
        stacks = d.stdout.split("\nThread ")[1:]
        assert len(stacks) == 31
        workers = [s for s in stacks if "wait_here" in s]
        assert len(workers) == 30
        for s in workers:
            assert s.count("wait_here (") == 3000 and "frames cut" not in s
    finally:
        p.stdin.close()
        p.wait()


def test_runtime_scan_finds_the_same_interpreter(python, ferret):
    p = start_spinner(python)
    try:
        a = ferret_run(ferret, "dump", str(p.pid))
        b = ferret_run(ferret, "dump", "--runtime-search", "scan", str(p.pid))
        assert b.returncode == 0, b.stderr
        addr = lambda out: re.search(r"_PyRuntime at (0x[0-9a-f]+)", out).group(1)
        assert addr(a.stdout) == addr(b.stdout)
        assert "found by scan" in b.stdout and "spin (" in b.stdout
    finally:
        p.kill()
        p.wait()


def kill_with_children(p):
    """SIGKILLs the ferret process p first, then the processes it started, which outlive it
    (and only those: other tests may run the same target at the same time)."""
    try:
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    p.kill()
    p.wait()
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.timing
def test_signal_to_ferret_is_forwarded_and_profile_kept(python, ferret, tmp_path, sig):
    out = tmp_path / "p.ferret"
    # SIGINT at its default, as in a terminal: a run started in the background by a
    # non-interactive shell inherits it ignored, and so would the program (as it should)
    f = subprocess.Popen([ferret, "run", "-q", "-o", str(out), "--", python,
                          str(TARGETS / "spin_forever.py")], stdout=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert f.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        f.send_signal(sig)
        rc = f.wait(timeout=30)
    finally:  # a failure must not leave the spinning program behind
        if f.poll() is None:
            kill_with_children(f)
    assert rc == 128 + sig, rc  # the command's own death by the forwarded signal
    r = ferret_run(ferret, "report", "-f", "collapsed", str(out))
    assert r.returncode == 0, r.stderr
    assert "spin (" in r.stdout


@pytest.mark.timing
def test_sigkill_leaves_a_readable_profile(python, ferret, tmp_path):
    out = tmp_path / "k.ferret"
    f = subprocess.Popen([ferret, "run", "-q", "-o", str(out), "--", python,
                          str(TARGETS / "spin_forever.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert f.stdout.readline().strip() == "ready"
        time.sleep(2.5)  # at least two flushes
    finally:  # the program lives on after ferret's SIGKILL: it is killed next
        kill_with_children(f)
    r = ferret_run(ferret, "report", "-f", "collapsed", str(out))
    assert r.returncode == 0, r.stderr
    total = sum(int(l.rsplit(" ", 1)[1]) for l in r.stdout.splitlines())
    assert total > 800


# ---- bad input ----------------------------------------------------------------------------

def one_line_error(r, *words, code=None):
    assert r.returncode != 0
    if code is not None:
        assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferret: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_an_option_without_its_value_says_so(ferret):
    """`ferret run -o` (the value forgotten at the end) said "unknown option '-o'"."""
    for cmd in ("run", "attach"):
        for opt in ("-o", "--output", "-r", "--rate", "-d", "--top", "--runtime-search"):
            one_line_error(ferret_run(ferret, cmd, opt), f"option {opt} needs a value", code=2)


def test_bad_input(ferret, tmp_path):
    one_line_error(ferret_run(ferret, "run"), "no command", code=2)
    one_line_error(ferret_run(ferret, "run", "--"), "no command", code=2)
    one_line_error(ferret_run(ferret, "run", "--", "no-such-command-xyz"), "not found", code=2)
    one_line_error(ferret_run(ferret, "run", "--", "/bin/true"), "not a Python program")
    # a wrapper is judged by what it runs
    one_line_error(ferret_run(ferret, "run", "--", "nice", "-n", "5", "/bin/true"),
                   "/bin/true is not a Python program")
    one_line_error(ferret_run(ferret, "run", "--", "env", "FOO=1"), "env is not a Python program")
    for bad in ("0", "-5", "abc", "1e9", ""):
        one_line_error(ferret_run(ferret, "run", "--rate", bad, "--", sys.executable, "-c", "0"),
                       "--rate", code=2)
    one_line_error(ferret_run(ferret, "run", "--mode", "gpu", "--", "python3"), "--mode", code=2)
    one_line_error(ferret_run(ferret, "run", "--frobnicate", "--", "python3"), "unknown option",
                   code=2)
    one_line_error(ferret_run(ferret, "run", "-f", "nope", "--", "python3"), "unknown format",
                   code=2)
    one_line_error(ferret_run(ferret, "run", "-o", "/no/such/dir/x.txt", "--", sys.executable,
                              "-c", "0"), "/no/such/dir/x.txt")
    one_line_error(ferret_run(ferret, "attach"), "no PID", code=2)
    one_line_error(ferret_run(ferret, "attach", "notapid"), "PID", code=2)
    one_line_error(ferret_run(ferret, "attach", "--duration", "-1", "1"), "--duration", code=2)
    # (before: the end time overflowed, and run called the program not Python)
    for huge in ("9223372036", "99999999999", "1e12"):
        one_line_error(ferret_run(ferret, "run", "-d", huge, "--", sys.executable, "-c", "0"),
                       "--duration", "out of range", code=2)
    # a duration that ends before Python starts is a short profile, not "not Python"
    for _ in range(5):
        r = ferret_run(ferret, "run", "-q", "-d", "1ms", "-f", "collapsed", "-o", os.devnull, "--",
                       sys.executable, "-c", "import time; time.sleep(0.1)")
        assert r.returncode == 0 and not r.stderr, r
    one_line_error(ferret_run(ferret, "attach", "999999999"), "no process", code=1)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        one_line_error(ferret_run(ferret, "attach", str(sleeper.pid)), "not a Python program")
        # (before: the .ferret stream was left behind, holding only its header)
        one_line_error(ferret_run(ferret, "attach", "-o", str(tmp_path / "a.ferret"),
                                  str(sleeper.pid)), "not a Python program")
    finally:
        sleeper.kill()
        sleeper.wait()
    script = tmp_path / "no_python.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    script.chmod(0o755)
    one_line_error(ferret_run(ferret, "run", "-o", str(tmp_path / "r.ferret"), "--", str(script)),
                   "exited without running Python")
    # ... and an earlier recording at that path is left as it was (it was truncated)
    (tmp_path / "earlier.ferret").write_bytes(b"an earlier recording")
    one_line_error(ferret_run(ferret, "run", "-o", str(tmp_path / "earlier.ferret"), "--",
                              str(script)), "exited without running Python")
    assert (tmp_path / "earlier.ferret").read_bytes() == b"an earlier recording"
    (tmp_path / "earlier.ferret").unlink()
    # ... but a link or a FIFO given as -o is the user's and stays (it was removed)
    (tmp_path / "target.ferret").write_bytes(b"")
    (tmp_path / "link.ferret").symlink_to("target.ferret")
    os.mkfifo(tmp_path / "fifo.ferret")
    drain = subprocess.Popen(["cat", str(tmp_path / "fifo.ferret")], stdout=subprocess.DEVNULL)
    for out in ("link.ferret", "fifo.ferret"):
        one_line_error(ferret_run(ferret, "run", "-o", str(tmp_path / out), "--", str(script)),
                       "exited without running Python")
    drain.wait(timeout=60)
    assert (tmp_path / "link.ferret").is_symlink() and (tmp_path / "fifo.ferret").is_fifo()
    for name in ("target.ferret", "link.ferret", "fifo.ferret"):
        (tmp_path / name).unlink()
    script.unlink()
    one_line_error(ferret_run(ferret, "frobnicate"), "unknown command", code=2)
    assert not list(tmp_path.iterdir())


def _unsupported_pythons():
    """Interpreters pyenv has that ferret does not read (2.7, 3.6-3.8 on this machine)."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    out = []
    for d in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
        v = python_version(d)
        if v and (v[0] == 2 or (v[0] == 3 and v[1] < 9)):
            out.append(pytest.param(d, v, id=".".join(map(str, v))))
    return out or [pytest.param(None, None, marks=pytest.mark.skip("no Python older than 3.9"))]


@pytest.mark.parametrize("old,version", _unsupported_pythons())
@pytest.mark.timing
def test_an_interpreter_ferret_does_not_read_is_named(ferret, old, version, tmp_path):
    # Before: attach to 3.6 crashed ferret (SIGSEGV), 2.7 was "not a Python program", and
    # run wrote an empty report, then the error; mem reported every byte as <interpreter>,
    # and bench on 2.7 showed a traceback of its own driver.
    name = "CPython %d.%d is not supported" % version[:2] if version[0] == 3 else "CPython 2"
    code = "import time; time.sleep(0.5); print('the program ran')"
    r = ferret_run(ferret, "run", "--", old, "-c", code, cwd=tmp_path)
    one_line_error(r, name, "ferret reads 3.9", code=1)
    assert "the program ran" in r.stdout  # left to finish, not killed
    assert not list(tmp_path.iterdir())  # no empty report
    p = subprocess.Popen([old, "-c", "import time; print('ready'); time.sleep(30)"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        one_line_error(ferret_run(ferret, "attach", "--duration", "1", str(p.pid)), name,
                       code=1)
    finally:
        p.kill()
        p.wait()
    lib = glob.glob(os.path.join(os.path.dirname(os.path.dirname(old)), "lib", "libpython%d.%d.so*"
                                 % version[:2]))
    if lib:  # a Python 3 that loaded an old libpython (an embedding) is still read
        src = ("import ctypes, sys, time; ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_LOCAL); "
               "print('ready', flush=True); t = time.time()\nwhile time.time() - t < 30: pass")
        p = subprocess.Popen([sys.executable, "-c", src, lib[0]], stdout=subprocess.PIPE,
                             text=True)
        try:
            assert p.stdout.readline().strip() == "ready"
            out = tmp_path / "both.txt"
            r = ferret_run(ferret, "attach", "--duration", "0.5", "-f", "collapsed", "-o",
                           str(out), str(p.pid))
            assert r.returncode == 0, r.stderr
            assert sum(w for _, w in collapsed(out)) > 100
            out.unlink()
        finally:
            p.kill()
            p.wait()
    # trace runs inside the program: it stops it before it runs untraced (as for any
    # failure to start the tracer), and a child of a traced program runs untraced
    name3 = "CPython %d.%d is not supported" % version[:2]
    r = ferret_run(ferret, "trace", "--", old, "-c", "print('ran')", cwd=tmp_path)
    one_line_error(r, name3, code=1)
    assert "ran" not in r.stdout
    parent = "import subprocess, sys; sys.exit(subprocess.call([sys.argv[1], '-c', 'print(7*6)']))"
    r = tracekit.run(ferret, ["trace", "-o", tmp_path / "t.txt", "--", sys.executable, "-c",
                              parent, old])
    assert r.returncode == 0 and r.stdout == "42\n", r
    (tmp_path / "t.txt").unlink()
    r = ferret_run(ferret, "mem", "--", old, "-c", "print('ran')", cwd=tmp_path)
    assert r.returncode != 0
    if version[0] == 3:  # 2.7 has no allocator API to track: "did not start" instead
        one_line_error(r, "mem: " + name)
    r = ferret_run(ferret, "bench", "--python", old, "--db", str(tmp_path / "h.db"), "--budget",
                   "0.2", "pass", cwd=tmp_path)
    if version[:2] < (3, 5):
        # (a busy machine adds a warning line before the error)
        r.stderr = "".join(l for l in r.stderr.splitlines(True) if "ferret: warning:" not in l)
        one_line_error(r, "Python %d.%d is too old" % version[:2], code=2)
    else:  # timing needs no reading of frames
        assert r.returncode == 0, r.stderr


@pytest.mark.timing
def test_attach_after_an_upgrade_replaced_the_interpreter(python, ferret, tmp_path):
    # A long-running program outlives an upgrade of its interpreter: the file it mapped is
    # deleted and a new one takes its name. ferret reads the mapped file (its maps line
    # ends in " (deleted)"), never the new one; before, it called such a process not Python.
    code = ("import re; m = re.search(r'\\S*/libpython\\S*', open('/proc/self/maps').read()); "
            "print(m.group(0) if m else '')")
    lib = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if lib:  # a shared build: the runtime lives in libpython
        copy = tmp_path / os.path.basename(lib)
        env["LD_LIBRARY_PATH"] = str(tmp_path)
        cmd = [python]
    else:  # a static build: in the executable
        copy = tmp_path / "python-copy"
        cmd = [str(copy)]
    shutil.copy2(lib or python, copy)
    p = subprocess.Popen(cmd + [str(TARGETS / "spin_forever.py")], stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "ready"
        maps = open(f"/proc/{p.pid}/maps").read()
        assert str(copy) in maps, maps
        copy.unlink()
        copy.write_bytes(b"a newer build, not this one\n")
        assert f"{copy} (deleted)" in open(f"/proc/{p.pid}/maps").read()
        out = tmp_path / "a.txt"
        r = ferret_run(ferret, "attach", "-q", "--duration", "0.5", "-f", "collapsed", "-o",
                       str(out), str(p.pid))
        assert r.returncode == 0, r.stderr
        assert weight(collapsed(out), leaf("spin")) > 200
    finally:
        p.kill()
        p.wait()


@pytest.mark.timing
def test_attach_to_a_process_in_another_pid_namespace(python, ferret, tmp_path):
    # A container seen from its host: the program's thread ids (CPython's native_thread_id,
    # glibc's tid on 3.9/3.10) are numbered in its own pid namespace, its main thread is 1.
    # Before, ferret looked for those ids among its own: no kernel thread state (a sleeping
    # thread counted as on CPU), and on 3.9/3.10 an unrelated field holding 1 taken for the
    # main thread's tid lost every other thread.
    try:
        p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", python,
                              str(TARGETS / "busy_and_idle.py")], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        pytest.skip("no unshare")
    try:
        if p.stdout.readline().strip() != "ready":
            pytest.skip("cannot make a pid namespace here: " + p.stderr.read().strip())
        kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        assert len(kids) == 1, kids
        pid = int(kids[0])
        assert "NSpid:\t%d\t1\n" % pid in open(f"/proc/{pid}/status").read()
        tasks = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
        for mode in ("wall", "cpu"):
            out = tmp_path / f"{mode}.txt"
            r = ferret_run(ferret, "attach", "-q", "--threads", "--mode", mode, "--duration",
                           "1", "-f", "collapsed", "-o", str(out), str(pid))
            assert r.returncode == 0, r.stderr
            st = collapsed(out)
            roots = {f[0] for f, c in st}
            tids = {int(re.match(r"thread (\d+) ", x).group(1)) for x in roots}
            assert tids <= tasks, (tids, tasks)  # ferret's ids of the threads
            total, _ = by_thread(st, r"\w+", lambda f: True)
            if mode == "wall":
                assert {"MainThread", "spinner", "napper"} <= set(total), total
                assert all(v > 800 for v in total.values()), total  # 1 s at 1 kHz each
            else:
                assert total.get("spinner", 0) > 800, total
                assert total.get("napper", 0) < 100 and total.get("MainThread", 0) < 100, total
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_attach_without_permission(python, ferret):
    if os.geteuid() != 0:
        pytest.skip("needs root to run ferret as another user")
    p = start_spinner(python)
    try:
        # ferret as nobody, the target as root: the kernel refuses
        r = ferret_run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ferret,
                       "attach", "--duration", "1", str(p.pid))
        one_line_error(r, "ptrace", "CAP_SYS_PTRACE")
    finally:
        p.kill()
        p.wait()
