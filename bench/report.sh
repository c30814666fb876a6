#!/bin/sh
# bench/report.sh: how long `ferret report` takes, and how much memory, to convert a profile
# of SAMPLES samples over STACKS unique stacks (default 10 million and 100,000) to every
# format; the .ferret, collapsed and pprof sizes per million samples; and, as an existing
# tool measured in the same run, `go tool pprof -top` reading the pprof file ferret wrote.
# Each conversion runs RUNS times (alternating formats, so drift hits all alike); the table
# gives the median wall time and the largest peak RSS (GNU time's %M). Also the HTML
# report's load and zoom time in headless chromium (tests/e2e/html_report.mjs), and the same
# for the HTML report of a memory and of a trace profile over as many stacks (SAMPLES / 5
# allocations or calls; tests/tools/mkprofile --kind).
#
#   bench/report.sh [SAMPLES] [STACKS] [RUNS]      results: docs/PERFORMANCE.md
set -eu
cd "$(dirname "$0")/.."
SAMPLES=${1:-10000000}
STACKS=${2:-100000}
RUNS=${3:-3}
make -s build/ferret build/rel/tools/mkprofile >/dev/null
dir=$(mktemp -d /tmp/ferret-bench-report.XXXXXX)
trap 'rm -rf "$dir"' EXIT
prof=$dir/big.ferret

echo "generating $SAMPLES samples, $STACKS stacks, 4 threads (tests/tools/mkprofile)..."
/usr/bin/time -f "%e %M" -o "$dir/gen.time" build/rel/tools/mkprofile -o "$prof" \
    --samples "$SAMPLES" --stacks "$STACKS" --funcs 5000 --threads 4 --run 8 \
    --flush 100000 --seed 1
echo "  generated in $(cut -d' ' -f1 "$dir/gen.time") s"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

FORMATS="text collapsed html svg speedscope pprof chrome"
for run in $(seq "$RUNS"); do
    for f in $FORMATS; do
        /usr/bin/time -f "%e %M" -o "$dir/$f.$run.time" \
            build/ferret report "$prof" -f "$f" -o "$dir/out.$f" 2>/dev/null
    done
    /usr/bin/time -f "%e %M" -o "$dir/gopprof.$run.time" \
        go tool pprof -top "$dir/out.pprof" >/dev/null 2>&1
done

size() { stat -c %s "$1"; }
per_m() { awk -v b="$1" -v n="$SAMPLES" 'BEGIN {printf "%.2f", b / (n / 1e6) / 1048576}'; }
printf '\n%-12s %10s %12s %14s\n' format "time (s)" "peak RSS MB" "output MB"
for f in $FORMATS gopprof; do
    t=$(for r in $(seq "$RUNS"); do cut -d' ' -f1 "$dir/$f.$r.time"; done | median)
    m=$(for r in $(seq "$RUNS"); do cut -d' ' -f2 "$dir/$f.$r.time"; done | sort -n | tail -1)
    if [ "$f" = gopprof ]; then
        printf '%-12s %10s %12s %14s\n' "go pprof -top" "$t" "$((m / 1024))" "(reads pprof)"
    else
        printf '%-12s %10s %12s %14.1f\n' "$f" "$t" "$((m / 1024))" \
            "$(awk -v b="$(size "$dir/out.$f")" 'BEGIN {print b / 1048576}')"
    fi
done
echo
echo "size per million samples (MiB): .ferret $(per_m "$(size "$prof")"), collapsed" \
     "$(per_m "$(size "$dir/out.collapsed")"), pprof $(per_m "$(size "$dir/out.pprof")")"
echo "bytes per sample in .ferret: $(awk -v b="$(size "$prof")" -v n="$SAMPLES" 'BEGIN {printf "%.2f", b / n}')"

chromium() { # REPORT.html LABEL: load, zoom and view switch times in headless chromium
    [ -d tests/e2e/node_modules/playwright-core ] || return 0
    seen=$(cd tests/e2e && node html_report.mjs "$1" "$dir/shot" main main)
    echo "$seen" | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
view = ", view switch %s ms" % d["viewMs"] if "viewMs" in d else ""
print("%s in chromium: %s nodes, load %s ms, zoom click %s ms%s, errors %s"
      % (sys.argv[1], d["nodes"], d["loadMs"], d.get("zoomMs"), view, d["errors"]))' "$2"
}
chromium "$dir/out.html" html

# The HTML report of a memory profile (three views, the timeline) and of a trace profile
# (exact table, per-line hits) over as many unique stacks, one sample per allocation or call.
KIND_SAMPLES=$((SAMPLES / 5))
echo
printf '%-12s %10s %12s %14s\n' "html of" "time (s)" "peak RSS MB" "output MB"
for kind in memory trace; do
    build/rel/tools/mkprofile -o "$dir/$kind.ferret" --kind "$kind" --samples "$KIND_SAMPLES" \
        --stacks "$STACKS" --funcs 5000 --threads 4 --run 8 --seed 1
    for run in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$dir/$kind.$run.time" \
            build/ferret report "$dir/$kind.ferret" -f html -o "$dir/$kind.html" 2>/dev/null
    done
    t=$(for r in $(seq "$RUNS"); do cut -d' ' -f1 "$dir/$kind.$r.time"; done | median)
    m=$(for r in $(seq "$RUNS"); do cut -d' ' -f2 "$dir/$kind.$r.time"; done | sort -n | tail -1)
    printf '%-12s %10s %12s %14.1f\n' "$kind" "$t" "$((m / 1024))" \
        "$(awk -v b="$(size "$dir/$kind.html")" 'BEGIN {print b / 1048576}')"
done
for kind in memory trace; do
    chromium "$dir/$kind.html" "html of $kind"
done
