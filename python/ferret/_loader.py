# SPDX-License-Identifier: MIT
"""Finds and loads the _ferret C extension that matches the running interpreter.

Two layouts are supported:
  * pip install: ferret/_ferret<EXT_SUFFIX> next to this file (one interpreter);
  * ferret's own build/install tree: ferret/_ext/<tag>/_ferret<EXT_SUFFIX> for every
    interpreter ferret was built for, each with a python.txt naming that interpreter's
    version and executable. The build for this very executable wins, then one for the
    same minor version (extensions are ABI-compatible within a minor version).
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    return "%d.%d.%d" % sys.version_info[:3]


def _candidates():
    ext_dir = os.path.join(_HERE, "_ext")
    try:
        tags = sorted(os.listdir(ext_dir))
    except OSError:
        return []
    found = []
    for tag in tags:
        try:
            with open(os.path.join(ext_dir, tag, "python.txt")) as f:
                version, exe = f.read().split(None, 1)
        except (OSError, ValueError):
            continue
        found.append((tag, version, exe.strip(), os.path.join(ext_dir, tag)))
    return found


def _pick(found):
    me = os.path.realpath(sys.executable) if sys.executable else ""
    minor = "%d.%d" % sys.version_info[:2]
    same_minor = [c for c in found if c[1].rsplit(".", 1)[0] == minor]
    for c in same_minor:
        if c[2] == me:
            return c
    for c in same_minor:
        if c[1] == _version():
            return c
    return same_minor[0] if same_minor else None


def load():
    """Returns the _ferret module, or raises ImportError naming both versions."""
    if importlib.util.find_spec(__package__ + "._ferret") is not None:  # pip layout
        # there is one here: if it does not load, its own error says why
        return importlib.import_module(__package__ + "._ferret")
    found = _candidates()
    choice = _pick(found)
    if choice is None:
        versions = sorted({c[1] for c in found},
                          key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()))
        built = ", ".join(versions) or "none"
        raise ImportError(
            "ferret: no _ferret extension for Python %s (%s); this ferret was built for "
            "Python %s" % (_version(), sys.executable, built))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(choice[3], "_ferret" + suffix)
        if os.path.exists(path):
            break
    else:
        raise ImportError(
            "ferret: the _ferret extension for Python %s is missing from %s"
            % (choice[1], choice[3]))
    spec = importlib.util.spec_from_file_location("ferret._ferret", path)
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except ImportError as e:
        if "built for Python" in str(e):
            raise
        raise ImportError("ferret: cannot load %s into Python %s (its python.txt says it is "
                          "the build for Python %s): %s" % (path, _version(), choice[1], e)) from e
    sys.modules["ferret._ferret"] = module
    return module
