# SPDX-License-Identifier: MIT
"""`pip install --no-build-isolation .`: the `ferret` Python package and its _ferret C
extension, built for the interpreter running pip (docs/PYTHON_API.md). The `ferret` command
itself is built with `make` (README.md). --no-build-isolation uses the setuptools already
installed (Debian: python3-setuptools) instead of fetching one from PyPI."""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def report_html_header():
    """build/gen/report_html.h from src/report/report.html: the HTML report's template as a
    C string, escaped exactly as mk/report.mk does (keep the two in step)."""
    src = os.path.join(HERE, "src", "report", "report.html")
    out = os.path.join(HERE, "build", "gen", "report_html.h")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(src, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = ['"%s\\n"' % l.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")
            for l in lines]
    text = ("/* generated from src/report/report.html by mk/report.mk: do not edit */\n"
            "static const char report_html_template[] =\n" + "\n".join(body) + "\n;\n")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


report_html_header()
# the extension's own code, the core it uses (the same as libferret.a for `make`): the
# profile model, the report writers, the sampler behind ferret.profile() and the
# statistics behind ferret.bench()
sources = sorted(glob.glob("src/ext/*.c") + glob.glob("src/util/*.c") +
                 glob.glob("src/profile/*.c") + glob.glob("src/report/*.c") +
                 glob.glob("src/sampler/*.c") + glob.glob("src/layouts/*.c") +
                 ["src/bench/stats.c"])

setup(
    name="ferret",
    version="0.1.0",
    description="ferret's Python API: exact tracing (ferret.trace) from inside a program",
    package_dir={"": "python"},
    packages=["ferret"],
    python_requires=">=3.9,<3.14",
    ext_modules=[Extension(
        "ferret._ferret",
        sources=sources,
        include_dirs=["src", "build/gen"],
        define_macros=[("_GNU_SOURCE", None)],
        extra_compile_args=["-std=c11", "-fvisibility=hidden", "-O2"],
        libraries=["z", "m"],
    )],
)
