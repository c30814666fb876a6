"""Bad input for `ferret trace` and its install paths: one `ferret: ...` line and a non-zero
exit, no output file left behind, the command's own status passed on, a killed program's
flushed data still reported, a mismatched or missing extension named with both versions,
and the layouts the extension is found in (installed tree, pip)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import tracekit as tk
from conftest import ROOT


def one_error_line(r):
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ferret: "), r.stderr
    return lines[0]


@pytest.mark.parametrize("args, code, text", [
    ([], 2, "which program?"),
    (["--bogus", "--", "python3", "x.py"], 2, "unknown option '--bogus'"),
    (["--top", "0", "--", "python3", "x.py"], 2, "--top: 0 is out of range"),
    (["--timeline-size", "x", "--", "python3", "x.py"], 2, "is not a whole number"),
    (["-f", "nope", "--", "python3", "x.py"], 2, "unknown format 'nope'"),
    (["--sort", "nope", "--", "python3", "x.py"], 2, "--sort: unknown key 'nope'"),
    (["-o", "x.weird", "--", "python3", "x.py"], 2, "which format?"),
    (["--include", "", "--", "python3", "x.py"], 2, "non-empty pattern"),
    (["--", "no_such_command_xyz"], 2, "command not found: no_such_command_xyz"),
    (["--", "/bin/ls"], 1, "/bin/ls is not a Python program"),
    (["--lines=1", "--", "python3", "x.py"], 2, "--lines takes no value"),
    (["--top=0", "--", "python3", "x.py"], 2, "--top: 0 is out of range"),
])
def test_bad_command_line(ferret, args, code, text, tmp_path):
    r = subprocess.run([ferret, "trace"] + args, capture_output=True, text=True, cwd=tmp_path,
                       env=tk.env(ferret, ASAN_OPTIONS="detect_leaks=1"))
    assert r.returncode == code, r.stderr
    assert text in one_error_line(r)
    assert r.stdout == ""
    assert os.listdir(tmp_path) == []


def test_option_equals_value(ferret, python, tmp_path):
    """--option=value, as run, mem and report take it (trace said "unknown option")."""
    out = tmp_path / "t.json"
    r = tk.run(ferret, ["trace", "--timeline-size=5", "--format=json", f"--output={out}", "--",
                        python, "-c", "sum(range(3))"])
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["kind"] == "trace" and data["meta"]["timeline_size"] == "5", data["meta"]


def test_script_that_never_starts_python(ferret, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    out = tmp_path / "out.prof"
    r = subprocess.run([ferret, "trace", "-o", out, "--", script], capture_output=True,
                       text=True, env=tk.env(ferret, ASAN_OPTIONS="detect_leaks=1"))
    assert r.returncode == 1
    assert r.stdout == "hello\n"
    assert "did not start a Python interpreter" in one_error_line(r)
    assert not out.exists()


def test_python_run_isolated_is_reported(ferret, python, tmp_path):
    r = tk.run(ferret, ["trace", "--", python, "-I", "-c", "print('ran')"])
    assert r.returncode == 1
    assert r.stdout == "ran\n"
    assert "did not start a Python interpreter that ferret could trace" in one_error_line(r)


def test_unwritable_output(ferret, python, tmp_path):
    r = tk.run(ferret, ["trace", "-o", tmp_path / "no" / "dir" / "x.prof", "--", python, "-c",
                        "print('ran')"])
    assert r.returncode == 1
    assert "cannot write" in one_error_line(r)
    assert r.stdout == ""  # refused before running the program


def test_exit_status_passed_on(ferret, python, tmp_path):
    out = tmp_path / "x.prof"
    r = tk.run(ferret, ["trace", "-o", out, "--", python, "-c",
                        "import sys\ndef f(): pass\nf()\nsys.exit(3)"])
    assert r.returncode == 3, r.stderr
    assert out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.prof"]


@pytest.mark.timing
def test_killed_program_keeps_flushed_data(ferret, python, tmp_path):
    prog = ("import os, signal, time\n"
            "def leaf(): pass\n"
            "t = time.time()\n"
            "while time.time() - t < 1.5: leaf()\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    out = tmp_path / "k.ferret"
    r = tk.run(ferret, ["trace", "-o", out, "--", python, "-c", prog])
    assert r.returncode == 128 + signal.SIGKILL, r.stderr
    assert "ended without finishing the trace" in r.stderr
    r = tk.run(ferret, ["report", out, "--top", "100000"])
    assert r.returncode == 0, r.stderr
    leaf = [line for line in r.stdout.splitlines() if line.rstrip().endswith(":2)")
            and " leaf " in line]
    assert leaf and int(leaf[0].split()[0]) > 1000, r.stdout


def test_killed_ferret_leaves_a_readable_tmp(ferret, python, tmp_path):
    """kill -9 of `ferret trace -o x.ferret`: the program runs on and finishes x.ferret.tmp,
    which `ferret report` reads, as docs/TRACE.md says."""
    pid_file = tmp_path / "pid"
    prog = ("import os, sys, time\n"
            "def leaf(): pass\n"
            "for _ in range(7): leaf()\n"
            "open(sys.argv[1] + '.part', 'w').write(str(os.getpid()))\n"
            "os.rename(sys.argv[1] + '.part', sys.argv[1])\n"
            "time.sleep(1.0)\n"
            "for _ in range(5): leaf()\n")
    out = tmp_path / "x.ferret"
    proc = subprocess.Popen([ferret, "trace", "-o", out, "--", python, "-c", prog, pid_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=tk.env(ferret))
    deadline = time.time() + 60
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    pid = int(pid_file.read_text())
    while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not out.exists()
    prof = tmp_path / "x.prof"
    r = tk.run(ferret, ["report", str(out) + ".tmp", "-f", "pstats", "-o", prof])
    assert r.returncode == 0, r.stderr
    assert tk.pstats_by_name(tk.load_pstats(prof), "<string>")["leaf"][1] == 12


def _copy_tree(ferret, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(tk.libdir(ferret), lib)
    return lib


def _ext_dirs(lib):
    base = lib / "python" / "ferret" / "_ext"
    return {d: (d / "python.txt").read_text().split() for d in base.iterdir()}


def test_extension_missing_for_interpreter(ferret, python, tmp_path):
    lib = _copy_tree(ferret, tmp_path)
    v = tk.version(python)
    mine = "%d.%d.%d" % v
    for d, (version, exe) in _ext_dirs(lib).items():
        if version.rsplit(".", 1)[0] == "%d.%d" % v[:2]:
            shutil.rmtree(d)
    r = tk.run(ferret, ["trace", "--", python, "-c", "print('ran')"], FERRET_LIBDIR=lib)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "no _ferret extension for Python %s" % mine in line
    assert "this ferret was built for Python" in line
    assert r.stdout == ""


def test_extension_mismatch(ferret, python, tmp_path):
    lib = _copy_tree(ferret, tmp_path)
    v = tk.version(python)
    dirs = _ext_dirs(lib)
    # a build of another minor version under this interpreter's name, one whose symbols the
    # interpreter has (3.13 dropped _PyEval_SetTrace), so the extension's own check refuses it
    other = {(3, 9): "3.10", (3, 12): "3.13", (3, 13): "3.12"}.get(v[:2], "3.9")
    foreign = [d for d, (ver, _) in dirs.items() if ver.startswith(other + ".")][0]
    so = tmp_path / "foreign.so"
    shutil.copy(next(foreign.glob("_ferret*.so")), so)
    suffix = subprocess.run([python, "-c", "import sysconfig;"
                             "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                            capture_output=True, text=True).stdout.strip()
    for d in dirs:
        shutil.rmtree(d)
    fake = lib / "python" / "ferret" / "_ext" / "fake"
    fake.mkdir()
    shutil.copy(so, fake / ("_ferret" + suffix))
    exe = os.path.realpath(subprocess.run([python, "-c", "import sys; print(sys.executable)"],
                                          capture_output=True, text=True).stdout.strip())
    (fake / "python.txt").write_text("%d.%d.%d %s\n" % (v + (exe,)))
    r = tk.run(ferret, ["trace", "--", python, "-c", "print('ran')"], FERRET_LIBDIR=lib)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "built for Python %s." % other in line
    assert "loaded into Python %d.%d.%d" % v in line
    assert r.stdout == ""


def test_installed_layout(ferret, python, tmp_path):
    """$PREFIX/bin/ferret finds $PREFIX/lib/ferret, as `make install` lays them out."""
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy(ferret, prefix / "bin" / "ferret")
    shutil.copytree(tk.libdir(ferret), prefix / "lib" / "ferret")
    out = tmp_path / "x.prof"
    r = tk.run(prefix / "bin" / "ferret", ["trace", "-o", out, "--", python, "-c",
                                           "def f(): pass\nfor _ in range(9): f()"],
               san=tk.is_san(ferret))
    assert r.returncode == 0, r.stderr
    assert tk.pstats_by_name(tk.load_pstats(out), "<string>")["f"][1] == 9


def test_pip_install(tmp_path):
    """`pip install --no-build-isolation .` for an interpreter with setuptools (Debian's)."""
    py = "/usr/bin/python3"
    has = subprocess.run([py, "-c", "import setuptools, pip"], capture_output=True)
    if has.returncode != 0:
        pytest.skip("no setuptools/pip for %s" % py)
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", ".git", "node_modules",
                                                             "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                        "--no-index", "--target", target, src], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    prog = ("import ferret\n"
            "def f(): pass\n"
            "with ferret.trace() as t:\n"
            "    for _ in range(11): f()\n"
            "print(t.function('f').calls, ferret.__file__)\n")
    r = subprocess.run([py, "-c", prog], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(target)), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    calls, path = r.stdout.split()
    assert calls == "11" and path.startswith(str(target))


def leaf_calls(ferret, python, tmp_path, prog):
    """Traces python -c prog (which must exit 0): the run and the calls of its leaf()."""
    out = tmp_path / "leaf.prof"
    r = tk.run(ferret, ["trace", "-o", out, "--", python, "-c", prog])
    assert r.returncode == 0, r.stderr
    return r, tk.pstats_by_name(tk.load_pstats(out), "<string>")["leaf"][1]


def test_forked_child_leaves_the_trace_alone(ferret, python, tmp_path):
    """A forked child inherits the tracer and the open file: it must drop both, so the
    parent's trace stays whole and counts only the parent's calls."""
    prog = ("import os\n"
            "def leaf(): pass\n"
            "for _ in range(10): leaf()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    for _ in range(50): leaf()\n"
            "    raise SystemExit(0)\n"
            "os.waitpid(pid, 0)\n"
            "for _ in range(5): leaf()\n")
    r, calls = leaf_calls(ferret, python, tmp_path, prog)
    assert "note" not in r.stderr and "warning" not in r.stderr, r.stderr
    assert calls == 15


@pytest.mark.parametrize("wrapper", [["env", "FOO=1"], ["nice", "-n", "5"], ["timeout", "60"]])
def test_program_started_through_a_wrapper(ferret, python, tmp_path, wrapper):
    """A wrapper that runs the command it is given (env and nice exec it, timeout forks it)
    is traced through, as `ferret run` follows it; it was refused as not Python."""
    out = tmp_path / "w.prof"
    r = tk.run(ferret, ["trace", "-o", out, "--", *wrapper, python, "-c",
                        "def leaf(): pass\nfor _ in range(7): leaf()\n"])
    assert r.returncode == 0, r.stderr
    assert tk.pstats_by_name(tk.load_pstats(out), "<string>")["leaf"][1] == 7


def as_pstats(ferret, out, tmp_path):
    """The pstats of a trace written as .prof, or as .ferret (converted by ferret report)."""
    if str(out).endswith(".ferret"):
        prof = tmp_path / "converted.prof"
        r = tk.run(ferret, ["report", out, "-f", "pstats", "-o", prof])
        assert r.returncode == 0, r.stderr
        out = prof
    return tk.load_pstats(out)


@pytest.mark.parametrize("output", ["cf.prof", "cf.ferret"])
def test_program_closing_every_descriptor(ferret, python, tmp_path, output):
    """A daemon-style program closes every descriptor it does not own (ferret's stream and
    status files among them), changes directory and opens its own files, which take the
    freed numbers. ferret must never write into them (its stream chunks went into the
    program's files, the program got 'Bad file descriptor' from ferret's exit hook and the
    trace ended there): it opens its files again and the trace is complete."""
    prog = ("import json, os, sys, time\n"
            "def leaf(): pass\n"
            "n = 0\n"
            "for _ in range(10): leaf(); n += 1\n"
            "os.closerange(3, 4096)\n"
            "os.chdir('/')\n"
            "fds = [os.open(os.path.join(sys.argv[1], 'own%d.txt' % i),\n"
            "               os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600) for i in range(8)]\n"
            "for fd in fds: os.write(fd, b'mine\\n')\n"
            "t = time.time()\n"
            "while time.time() - t < 1.3: time.sleep(0.02); leaf(); n += 1\n"
            "for fd in fds: os.close(fd)\n"
            "print(json.dumps({'leaf': n}))\n")
    own = tmp_path / "own"
    own.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    r = subprocess.run([ferret, "trace", "-o", output, "--", python, "-c", prog, own],
                       capture_output=True, text=True, cwd=run, env=tk.env(ferret), timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Exception" not in r.stderr and "note" not in r.stderr, r.stderr
    assert "warning" not in r.stderr, r.stderr
    assert sorted(p.name for p in own.iterdir()) == ["own%d.txt" % i for i in range(8)]
    for p in own.iterdir():
        assert p.read_bytes() == b"mine\n", p
    assert [p.name for p in run.iterdir()] == [output]
    leaf = tk.pstats_by_name(as_pstats(ferret, run / output, tmp_path), "<string>")["leaf"]
    assert leaf[1] == tk.last_json(r.stdout)["leaf"]


def test_program_deleting_the_stream_is_reported(ferret, python, tmp_path):
    """A program that closes ferret's stream descriptor and deletes the file: ferret cannot
    open it again, and says so with a non-zero exit instead of reporting success."""
    prog = ("import os, time\n"
            "def leaf(): pass\n"
            "os.closerange(3, 4096)\n"
            "os.unlink(os.environ['FERRET_TRACE_OUT'])\n"
            "t = time.time()\n"
            "while time.time() - t < 1.3: time.sleep(0.02); leaf()\n")
    r = tk.run(ferret, ["trace", "-o", tmp_path / "d.prof", "--", python, "-c", prog])
    assert r.returncode == 1, r.stderr
    assert "the program closed ferret's descriptor of it and it cannot be opened again" \
        in r.stderr.splitlines()[0], r.stderr
    assert "Exception" not in r.stderr, r.stderr


@pytest.mark.parametrize("output", ["ex.prof", "ex.ferret"])
def test_exec_keeps_what_came_before(ferret, python, tmp_path, output):
    """A program that replaces itself (os.execv) under a second after starting: the trace
    file is finished at the exec, so the calls before it are kept (everything since the last
    once-a-second flush was lost: '0 calls of 0 functions'), and ferret says the trace ends
    at the exec instead of that the program was killed."""
    out = tmp_path / output
    r = tk.run(ferret, ["trace", "-o", out, "--", python, tk.target("exec_into.py"), "go"])
    assert r.returncode == 0, r.stderr
    assert "replaced itself (os.execv %s)" % python in r.stderr, r.stderr
    assert "ended without finishing" not in r.stderr, r.stderr
    if output.endswith(".ferret"):
        rep = tk.run(ferret, ["report", out])
        assert rep.returncode == 0 and "did not finish" not in rep.stdout, rep.stdout
    before = tk.pstats_by_name(as_pstats(ferret, out, tmp_path), "exec_into.py")["before_exec"]
    assert before[1] == 1


def test_failed_exec_goes_on_tracing(ferret, python, tmp_path):
    """An exec that fails leaves the trace running: calls after it are counted too."""
    prog = ("import os\n"
            "def leaf(): pass\n"
            "leaf()\n"
            "try:\n"
            "    os.execv('/nonexistent/python', ['python'])\n"
            "except OSError:\n"
            "    pass\n"
            "for _ in range(20): leaf()\n")
    r, calls = leaf_calls(ferret, python, tmp_path, prog)
    assert "note" not in r.stderr, r.stderr
    assert calls == 21
