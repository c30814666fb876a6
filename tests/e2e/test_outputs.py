"""Outputs that are not regular files: `-o /dev/null` or a FIFO is written in place. Writing
FILE.tmp and renaming it over the output (how regular files are kept whole) would replace
the device with a regular file, which once broke /dev/null for the whole machine."""
import os
import stat
import subprocess
import threading

import pytest

import tracekit

PROG = "def f():\n    return sum(range(20000))\nfor _ in range(300):\n    f()\n"


def run(ferret, *args):
    # the tracer's extension in a sanitizer build needs its environment (tracekit.env)
    return subprocess.run([ferret, *args], capture_output=True, text=True, timeout=120,
                          env=tracekit.env(ferret) if args[0] == "trace" else None)


def assert_dev_null():
    st = os.stat("/dev/null")
    assert stat.S_ISCHR(st.st_mode), "/dev/null is no longer a device"
    assert not os.path.exists("/dev/null.tmp")


@pytest.fixture
def saved(python, ferret, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(PROG)
    prof = tmp_path / "p.ferret"
    r = run(ferret, "run", "-q", "-r", "500", "-o", str(prof), "--", python, str(script))
    assert r.returncode == 0, r.stderr
    return script, prof


@pytest.mark.parametrize("fmt", ["text", "collapsed", "html", "chrome", "pprof", "ferret"])
def test_report_to_dev_null(python, ferret, saved, fmt):
    _, prof = saved
    r = run(ferret, "report", "-f", fmt, "-o", "/dev/null", str(prof))
    assert r.returncode == 0, r.stderr
    assert_dev_null()


def test_every_command_to_dev_null(python, ferret, saved, tmp_path):
    script, prof = saved
    for args in (["run", "-q", "-f", "html", "-o", "/dev/null", "--", python, str(script)],
                 ["run", "-q", "-f", "ferret", "-o", "/dev/null", "--", python, str(script)],
                 ["trace", "-f", "ferret", "-o", "/dev/null", "--", python, str(script)],
                 ["trace", "-f", "pstats", "-o", "/dev/null", "--", python, str(script)],
                 ["mem", "-f", "html", "-o", "/dev/null", "--", python, str(script)],
                 ["mem", "-f", "ferret", "-o", "/dev/null", "--", python, str(script)],
                 ["diff", str(prof), str(prof), "-f", "html", "-o", "/dev/null"],
                 ["bench", "-q", "--no-history", "--python", python, "-b", "300ms", "-p", "2",
                  "--json", "/dev/null", "--markdown", "/dev/null", "sum(range(10))"]):
        r = run(ferret, *args)
        assert r.returncode == 0, (args, r.stderr)
        assert_dev_null()


@pytest.mark.parametrize("fmt", ["collapsed", "html"])
def test_report_into_a_fifo(python, ferret, saved, tmp_path, fmt):
    _, prof = saved
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    r = run(ferret, "report", "-f", fmt, "-o", str(fifo), str(prof))
    reader.join(30)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and (b" f (" in got[0] or b"prog.py" in got[0]), got[:1]
    assert not os.path.exists(str(fifo) + ".tmp")


def test_report_through_symlinks(python, ferret, saved, tmp_path):
    # /dev/stdout is a link to /proc/self/fd/1; with standard output a regular file, FILE.tmp
    # and rename() would have replaced the link itself, for the whole machine
    _, prof = saved
    out = tmp_path / "stdout.txt"
    with open(out, "wb") as f:
        r = subprocess.run([ferret, "report", "-f", "collapsed", "-o", "/dev/stdout", str(prof)],
                           stdout=f, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.path.islink("/dev/stdout"), "/dev/stdout is no longer a link"
    assert ";f (" in out.read_text()
    # a user's link to a report stays a link, and its target gets the report
    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old")
    link.symlink_to(real)
    r = run(ferret, "report", "-f", "collapsed", "-o", str(link), str(prof))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and ";f (" in real.read_text()


def test_failed_standard_output_keeps_the_other_outputs(python, ferret, saved, tmp_path):
    """Standard output that cannot be written (/dev/full) fails the command with a line that
    calls it standard output; `ferret run`'s and `ferret mem`'s default HTML report is still
    written."""
    script, prof = saved
    for command in ("run", "mem"):
        work = tmp_path / command
        work.mkdir()
        with open("/dev/full", "wb") as full:
            r = subprocess.run([ferret, command, "--", python, str(script)], cwd=work,
                               stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        lines = r.stderr.splitlines()
        assert lines[-1] == ("ferret: writing the text report to standard output: "
                             "No space left on device"), r.stderr
        html = [p.name for p in work.iterdir()]
        assert len(html) == 1 and html[0].startswith("ferret-") and html[0].endswith(".html"), html
        assert f"ferret: wrote the interactive report to {html[0]}" in lines
        assert (work / html[0]).stat().st_size > 10000
    for args, what in ((["report", str(prof)], "text report"),
                       (["diff", str(prof), str(prof)], "text diff")):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([ferret, *args], cwd=work, stdout=full, stderr=subprocess.PIPE,
                               text=True, timeout=120)
        assert r.returncode == 1 and r.stderr == (
            f"ferret: writing the {what} to standard output: No space left on device\n")


SPIN_IN_REMOVED_DIR = ("import os, time\nos.rmdir(os.getcwd())  # ferret's directory too\n"
                       "t = time.time()\nwhile time.time() - t < 0.5:\n    sum(range(1000))\n")


@pytest.mark.parametrize("args, name", [([], "the interactive report"), (["-o", "x.svg"], "x.svg")])
def test_nothing_is_called_written_that_was_not(python, ferret, tmp_path, args, name):
    """A report that cannot be written (the current directory was removed meanwhile) gets one
    line saying so, and no 'wrote' line before it."""
    work = tmp_path / "work"
    work.mkdir()
    r = subprocess.run([ferret, "run", *args, "--", python, "-c", SPIN_IN_REMOVED_DIR],
                       cwd=work, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert not work.exists()
    assert "wrote" not in r.stderr, r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("ferret: writing ") and last.endswith(
        ": the current directory was removed"), r.stderr
    assert (name if args else "ferret-") in last


@pytest.mark.parametrize("cmd", ["run", "trace"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_directory_as_output_is_refused_before_the_program_runs(python, ferret, tmp_path, cmd,
                                                                slash):
    # before, the parent directory was checked but not the path: the program ran to its end
    # and only then was the report refused ("renaming out.tmp to out: Is a directory")
    out = tmp_path / "out"
    out.mkdir()
    r = run(ferret, cmd, "-f", "svg", "-o", str(out) + slash, "--", python, "-c", "print('ran')")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "it is a directory" in lines[0], r.stderr
    assert r.stdout == ""  # refused before running the program
    assert os.listdir(out) == [] and sorted(os.listdir(tmp_path)) == ["out"]


def test_an_output_name_of_255_bytes_is_written(python, ferret, saved, tmp_path):
    """A file name may be 255 bytes long, but its staging name 'NAME.tmp' may not: run,
    trace and report refused such a name ('File name too long') after or before the run.
    The staging name is now shortened; the output has the name given and nothing is left."""
    script, prof = saved
    for cmd in ("run", "trace", "report"):
        name = cmd + "x" * (255 - len(cmd) - len(".ferret")) + ".ferret"
        out = tmp_path / name
        args = [prof, "-f", "ferret"] if cmd == "report" else ["--", python, str(script)]
        r = run(ferret, cmd, "-o", str(out), *args)
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size > 0
        r = run(ferret, "report", "-f", "text", str(out))
        assert r.returncode == 0 and "f (" in r.stdout, r.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_output_is_refused_not_replaced(python, ferret, saved):
    """A file the user made read-only was replaced all the same (writing FILE.tmp and renaming
    it over the file needs only the directory), where the shell's `>` says 'Permission
    denied'. Run as another user, since root may write any file."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run ferret as another user")
    import shutil
    import tempfile
    _, prof = saved
    shared = tempfile.mkdtemp(prefix="ferret-ro-")
    try:
        os.chmod(shared, 0o777)
        mine = os.path.join(shared, "p.ferret")
        shutil.copy(prof, mine)
        os.chmod(mine, 0o644)
        ran = os.path.join(shared, "ran")
        for args in (["report", "-f", "html", "-o", "OUT", mine],
                     # Debian's python3: the pyenv ones are in root's home
                     ["run", "-q", "-f", "html", "-o", "OUT", "--", "/usr/bin/python3", "-c",
                      "open(%r, 'w')" % ran]):
            out = os.path.join(shared, "keep.html")
            with open(out, "w") as f:
                f.write("the user's own\n")
            os.chown(out, 65534, 65534)
            os.chmod(out, 0o444)
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                ferret] + [out if a == "OUT" else a for a in args],
                               capture_output=True, text=True, timeout=60)
            lines = r.stderr.strip().splitlines()
            assert r.returncode != 0 and len(lines) == 1, (args, r.stderr)
            assert lines[0] == "ferret: cannot write %s: Permission denied" % out, r.stderr
            with open(out) as f:
                assert f.read() == "the user's own\n"
            assert sorted(os.listdir(shared)) == ["keep.html", "p.ferret"], os.listdir(shared)
            os.unlink(out)
        # the same file, writable: written
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ferret,
                            "report", "-f", "html", "-o", os.path.join(shared, "new.html"),
                            mine], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert os.path.getsize(os.path.join(shared, "new.html")) > 0
    finally:
        shutil.rmtree(shared)


@pytest.mark.parametrize("cmd", ["run", "trace", "mem", "report", "bench"])
def test_a_file_where_the_staging_file_goes_is_not_written_over(python, ferret, saved, tmp_path,
                                                                cmd):
    """OUT is written as OUT.tmp, then renamed: an OUT.tmp that was there already (the user's
    file, or the recording a killed `ferret trace` left, which `ferret report OUT.tmp` reads)
    was written over. Now the command refuses before the program runs, in one line, and
    leaves it as it was; once it is moved, the same command works."""
    _, prof = saved
    out = tmp_path / ("out.json" if cmd == "bench" else "out.html")
    staging = tmp_path / (out.name + ".tmp")
    staging.write_text("the user's own\n")
    prog = ["--", python, "-c", "print('ran')"]
    args = {"run": ["run", "-q", "-f", "html", "-o", str(out)] + prog,
            "trace": ["trace", "-f", "html", "-o", str(out)] + prog,
            "mem": ["mem", "-f", "html", "-o", str(out)] + prog,
            "report": ["report", "-f", "html", "-o", str(out), str(prof)],
            "bench": ["bench", "-q", "--no-history", "--python", python, "-b", "200ms", "-p",
                      "2", "--json", str(out), "sum(range(10))"]}[cmd]
    r = run(ferret, *args)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0] == ("ferret: cannot write %s: out.%s.tmp is in the way (left by a run that "
                        "was killed?): move or remove it" % (out, out.name[4:])), r.stderr
    assert "ran" not in r.stdout  # refused before the program ran
    assert staging.read_text() == "the user's own\n" and not out.exists()
    staging.rename(tmp_path / "moved")
    r = run(ferret, *args)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0 and not staging.exists()
