"""trace_ownprof.py: a program that runs its own profilers while ferret traces it.

It installs a sys.setprofile function counting 'call' events of leaf(), then runs cProfile
over more leaf() calls, and prints {"setprofile_calls": n, "cprofile_calls": n} as JSON.
leaf() runs 300 times in all (100 before, 100 under sys.setprofile, 100 under cProfile).
"""
import cProfile
import json
import pstats
import sys


def leaf():
    pass


def main():
    for _ in range(100):
        leaf()
    seen = {"n": 0}

    def prof(frame, event, arg):
        if event == "call" and frame.f_code is leaf.__code__:
            seen["n"] += 1
    sys.setprofile(prof)
    for _ in range(100):
        leaf()
    sys.setprofile(None)
    pr = cProfile.Profile()
    try:
        pr.enable()
    except ValueError as e:  # another tool holds sys.monitoring's PROFILER_ID
        print(json.dumps({"setprofile_calls": seen["n"], "cprofile_error": str(e)}))
        return
    for _ in range(100):
        leaf()
    pr.disable()
    st = pstats.Stats(pr)
    n = sum(v[1] for k, v in st.stats.items() if k[2] == "leaf")
    print(json.dumps({"setprofile_calls": seen["n"], "cprofile_calls": n}))


if __name__ == "__main__":
    main()
