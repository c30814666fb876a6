"""profile_api.py: ferret.profile() (sampling this very process) in a script, in a thread,
nested, and as a decorator. hot() does three times cold()'s work. Prints one JSON line of
what each profile saw: {case: {function: seconds of self time}}."""
import json
import sys
import threading

import ferret


def hot():
    s = 0
    for i in range(1_500_000):
        s += i
    return s


def cold():
    s = 0
    for i in range(500_000):
        s += i
    return s


def self_times(p):
    return {f.name: f.self_time for f in p.functions() if f.name in ("hot", "cold")}


@ferret.profile(print=False)
def decorated():
    cold()


def main(out_dir):
    result = {}
    with ferret.profile() as p:
        hot()
        cold()
    result["script"] = self_times(p)

    box = {}

    def in_thread():
        with ferret.profile() as tp:
            hot()
        box["p"] = tp
    th = threading.Thread(target=in_thread, name="prof-thread")
    th.start()
    th.join()
    result["thread"] = self_times(box["p"])
    result["thread_names"] = sorted(n for _, n in box["p"].threads())

    with ferret.profile() as outer:
        cold()
        with ferret.profile() as inner:
            hot()
    result["outer"] = self_times(outer)
    result["inner"] = self_times(inner)

    decorated()
    decorated()
    result["decorator"] = self_times(decorated.profile)
    p.save(out_dir + "/script.ferret")
    result["report_has_hot"] = "hot" in p.report()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
