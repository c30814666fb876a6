# SPDX-License-Identifier: MIT
# ferret's injection shim (docs/INJECTION.md). The ferret command puts this file's directory
# first on PYTHONPATH, so Python's site module imports it at start-up. It
#   1. takes its own directory off sys.path,
#   2. loads the `ferret` package from $FERRET_PYTHONPATH (ferret's own copy, whatever else
#      the environment has installed),
#   3. runs each "module:function" of $FERRET_BOOT (comma-separated, e.g.
#      "ferret._boot:trace_main") and
#   4. runs the program's own sitecustomize, if it has one, as site would have.
# Failures are printed, never raised: the shim must not break the program by itself (a boot
# function that cannot do its job reports to the ferret command and exits on its own).
from __future__ import print_function

import os as _os
import sys as _sys


def _ferret_too_old():
    # An interpreter older than 3.9 cannot run ferret (Python 2 cannot even parse its package;
    # this file is the one piece it parses). As the command's first process, it tells the
    # ferret command which interpreter it was, as a boot function that cannot do its job
    # does, and stops before it runs untraced. As a child of a traced program it runs
    # untraced, with its own sitecustomize if it has one.
    status = _os.environ.get("FERRET_STATUS")
    if status and _os.environ.get("FERRET_BOOT"):
        try:
            fd = _os.open(status, _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL, 0o600)
        except OSError:
            pass  # another process of the command claimed it: that one is traced
        else:
            _os.write(fd, ("error CPython %d.%d is not supported (ferret reads 3.9 to 3.13)\n"
                           % _sys.version_info[:2]).encode("ascii"))
            _os.close(fd)
            _os._exit(1)
    if _sys.version_info[0] >= 3:
        _ferret_shim(boot=False)
        return
    here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != here]
    shim = _sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401 - the program's own, now that we are off the path
    except ImportError:
        if shim is not None:
            _sys.modules["sitecustomize"] = shim


def _ferret_shim(boot=True):
    here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != here]
    pkg_root = _os.environ.get("FERRET_PYTHONPATH")
    boots = [b for b in _os.environ.get("FERRET_BOOT", "").split(",") if b and boot]
    if pkg_root and boots:
        try:
            import importlib.util
            init = _os.path.join(pkg_root, "ferret", "__init__.py")
            if "ferret" not in _sys.modules:
                spec = importlib.util.spec_from_file_location(
                    "ferret", init, submodule_search_locations=[_os.path.dirname(init)])
                module = importlib.util.module_from_spec(spec)
                _sys.modules["ferret"] = module
                spec.loader.exec_module(module)
            for boot in boots:
                mod_name, _, func = boot.partition(":")
                importlib.import_module(mod_name).__dict__[func]()
        except Exception as e:  # noqa: B902 - see above
            print("ferret: cannot start inside %s: %s: %s" % (_sys.executable, type(e).__name__, e),
                  file=_sys.stderr)
    # the program's own sitecustomize, found without us on sys.path; it takes our place in
    # sys.modules (the import of this file then returns it), else we stay there
    shim = _sys.modules.pop("sitecustomize", None)
    try:
        import importlib.util
        spec = importlib.util.find_spec("sitecustomize")
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            _sys.modules["sitecustomize"] = module
            spec.loader.exec_module(module)
    except Exception as e:  # noqa: B902 - what site.execsitecustomize does
        if _sys.flags.verbose:
            _sys.excepthook(*_sys.exc_info())
        else:
            print("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s"
                  % (type(e).__name__, e), file=_sys.stderr)
    if "sitecustomize" not in _sys.modules and shim is not None:
        _sys.modules["sitecustomize"] = shim


if _sys.version_info[:2] < (3, 9):
    _ferret_too_old()
else:
    _ferret_shim()
del _ferret_shim, _ferret_too_old
