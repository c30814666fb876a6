/* SPDX-License-Identifier: MIT */
/* driver.c: the Python side of ferret bench, and the line protocol ferret speaks with it.
 * The driver only executes: it compiles the statement into a timing function (the same
 * shape and bytecode as timeit's: a for loop over itertools.repeat between two
 * perf_counter() calls, built from the syntax trees of the setup and statement so their text
 * is never re-indented) and answers "r LOOPS" with the seconds those loops took. An async
 * def function is awaited in the loop, on one event loop per process. Calibration, the
 * number of values and processes, and every statistic are decided in C (runner.c, stats.c).
 *
 * Protocol (one line each way; strings hex-encoded UTF-8, "-" for empty):
 *   ferret -> driver   S <setup> <statement> <gc>   compile a statement (gc: 1 keeps it on)
 *                      F <file> <function> <gc>     import a file, time calls of a function
 *                      L <file>                     list the file's bench_* functions
 *                      r <loops>                    time that many iterations
 *   driver -> ferret   ok <version> <executable>    ready; fn <name> ... end (for L)
 *                      t <seconds>                  one value
 *                      err <where> <summary> <traceback>
 * (where "python": this interpreter cannot run the driver, e.g. Python 2; "function": a
 * function it cannot time, e.g. a generator; the summary says why.)
 * Any other line from ferret, or EOF, ends the driver. ferret hands the driver descriptors 3
 * and 4, so the benchmarked code keeps stdin, stdout and stderr; the driver first moves them
 * near the descriptor limit (close-on-exec), so the code finds 3 and 4 free and closing
 * them does not cut the driver off. */
#include "bench/driver.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char driver_source[] =
    "import binascii, gc, itertools, os, re, sys, time, traceback\n"
    "if sys.version_info < (3, 5):\n"
    "    m = \"Python %d.%d is too old (ferret bench needs 3.5 or later)\" % sys.version_info[:2]\n"
    "    h = binascii.hexlify(m.encode()).decode()\n"
    "    os.write(4, (\"err %s %s -\\n\" % (binascii.hexlify(b\"python\").decode(), h)).encode())\n"
    "    sys.exit(0)\n"
    "def _ferret_driver():\n"
    "    import fcntl, resource\n"
    "    # the channel moves from 3 and 4 to descriptors near the limit, out of the way of the\n"
    "    # benchmarked code, which may close or reuse 3 and 4 like any program\n"
    "    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]\n"
    "    top = soft if 0 < soft < 65536 else 65536\n"
    "    def move(fd):\n"
    "        for low in (top - 16, 10):\n"
    "            try:\n"
    "                moved = fcntl.fcntl(fd, fcntl.F_DUPFD, max(low, 10))\n"
    "            except OSError:\n"
    "                continue\n"
    "            os.close(fd)\n"
    "            fd = moved\n"
    "            break\n"
    "        os.set_inheritable(fd, False)\n"
    "        return fd\n"
    "    rfd, wfd = move(3), move(4)\n"
    "    rf = os.fdopen(rfd, \"rb\")\n"
    "    def lost():\n"
    "        m = \"ferret bench: the benchmarked code closed descriptor %d or %d, on which \" \\\n"
    "            \"this Python process talks to ferret\\n\" % (rfd, wfd)\n"
    "        os.write(2, m.encode())\n"
    "        os._exit(1)\n"
    "    def send(*words):\n"
    "        try:\n"
    "            os.write(wfd, (\" \".join(words) + \"\\n\").encode())\n"
    "        except OSError:\n"
    "            lost()\n"
    "    def receive():\n"
    "        try:\n"
    "            return rf.readline().split()\n"
    "        except OSError:\n"
    "            lost()\n"
    "    def hx(s):\n"
    "        return s.encode(\"utf-8\", \"backslashreplace\").hex() or \"-\"\n"
    "    def un(h):\n"
    "        if h == b\"-\":\n"
    "            return \"\"\n"
    "        return bytes.fromhex(h.decode()).decode(\"utf-8\", \"surrogateescape\")\n"
    "    hidden = []\n"
    "    def report(exc, where, src):\n"
    "        # our own frames are left out (and asyncio's, for an async function); frames of the\n"
    "        # generated timing function are shown as the user's setup or statement with their\n"
    "        # own line numbers\n"
    "        frames = []\n"
    "        for fs in traceback.extract_tb(exc.__traceback__):\n"
    "            f = fs.filename\n"
    "            if f == \"<string>\" or f.startswith(\"<frozen importlib\"):\n"
    "                continue\n"
    "            if any(f.startswith(h) for h in hidden):\n"
    "                continue\n"
    "            if fs.filename == \"<ferret-bench>\":\n"
    "                n = fs.lineno or 0\n"
    "                part, text, line = None, None, 0\n"
    "                for name, body, start in src:\n"
    "                    lines = _ferret_lines(body)\n"
    "                    if start <= n < start + len(lines):\n"
    "                        part, line, text = name, n - start + 1, lines[n - start]\n"
    "                if part is None:\n"
    "                    continue\n"
    "                fs = traceback.FrameSummary(\"<%s>\" % part, line, \"<module>\",\n"
    "                                            line=text)\n"
    "                where = part\n"
    "            frames.append(fs)\n"
    "        head = \"\".join(traceback.format_exception_only(type(exc), exc))\n"
    "        body = \"\"\n"
    "        if frames:\n"
    "            body = \"Traceback (most recent call last):\\n\"\n"
    "            body += \"\".join(traceback.StackSummary.from_list(frames).format())\n"
    "        last = head.strip().split(\"\\n\")[-1]\n"
    "        send(\"err\", hx(where), hx(last), hx(body + head))\n"
    "    def syntax(what, e, note=\"\"):\n"
    "        text = \"\".join(traceback.format_exception_only(type(e), e))\n"
    "        msg = \"%s: %s%s\" % (type(e).__name__, e.msg, note)\n"
    "        send(\"err\", hx(what), hx(msg), hx(text))\n"
    "    cmd = receive()\n"
    "    if not cmd:\n"
    "        return\n"
    "    keep_gc = False\n"
    "    inner, fn, parts, loop = None, None, [], None\n"
    "    try:\n"
    "        if cmd[0] == b\"S\":\n"
    "            setup, stmt = un(cmd[1]), un(cmd[2])\n"
    "            keep_gc = cmd[3] == b\"1\"\n"
    "            inner, parts = _ferret_timing_function(setup, stmt, syntax, report)\n"
    "            if inner is None:\n"
    "                return\n"
    "        elif cmd[0] in (b\"F\", b\"L\"):\n"
    "            path = un(cmd[1])\n"
    "            import importlib.util\n"
    "            d = os.path.dirname(os.path.abspath(path))\n"
    "            sys.path.insert(0, d)\n"
    "            name = os.path.splitext(os.path.basename(path))[0]\n"
    "            spec = importlib.util.spec_from_file_location(name, path)\n"
    "            mod = importlib.util.module_from_spec(spec)\n"
    "            sys.modules[name] = mod\n"
    "            try:\n"
    "                spec.loader.exec_module(mod)\n"
    "            except BaseException as e:\n"
    "                report(e, \"import\", parts)\n"
    "                return\n"
    "            if cmd[0] == b\"L\":\n"
    "                for k, v in list(vars(mod).items()):\n"
    "                    own = getattr(v, \"__module__\", None) == name\n"
    "                    if k.startswith(\"bench_\") and callable(v) and own:\n"
    "                        send(\"fn\", hx(k))\n"
    "                send(\"end\")\n"
    "                return\n"
    "            fn = getattr(mod, un(cmd[2]), None)\n"
    "            if not callable(fn):\n"
    "                msg = \"no function %s in %s\" % (un(cmd[2]), path)\n"
    "                send(\"err\", hx(\"import\"), hx(msg), hx(\"\"))\n"
    "                return\n"
    "            keep_gc = cmd[3] == b\"1\"\n"
    "            import inspect\n"
    "            if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):\n"
    "                msg = (\"%s is a generator function: a call runs none of its body, so \"\n"
    "                       \"there is nothing to time\" % un(cmd[2]))\n"
    "                send(\"err\", hx(\"function\"), hx(msg), hx(\"\"))\n"
    "                return\n"
    "            ns = {}\n"
    "            run = \"\"\n"
    "            if inspect.iscoroutinefunction(fn):\n"
    "                # async def: awaited in the timed loop, on one event loop per process\n"
    "                import asyncio\n"
    "                hidden.append(os.path.dirname(asyncio.__file__) + os.sep)\n"
    "                loop = asyncio.new_event_loop()\n"
    "                asyncio.set_event_loop(loop)\n"
    "                run = \"async \"\n"
    "            code = (run + \"def _ferret_inner(_ferret_it, _ferret_timer, _ferret_f):\\n\"\n"
    "                    \"    _ferret_t0 = _ferret_timer()\\n\"\n"
    "                    \"    for _ferret_i in _ferret_it:\\n\"\n"
    "                    \"        %s_ferret_f()\\n\"\n"
    "                    \"    _ferret_t1 = _ferret_timer()\\n\"\n"
    "                    \"    return _ferret_t1 - _ferret_t0\\n\")\n"
    "            code %= \"await \" if run else \"\"\n"
    "            exec(compile(code, \"<string>\", \"exec\"), ns)\n"
    "            f_inner = ns[\"_ferret_inner\"]\n"
    "            if loop:\n"
    "                inner = lambda it, timer: loop.run_until_complete(f_inner(it, timer, fn))\n"
    "            else:\n"
    "                inner = lambda it, timer: f_inner(it, timer, fn)\n"
    "        else:\n"
    "            return\n"
    "    except BaseException as e:\n"
    "        report(e, \"setup\", parts)\n"
    "        return\n"
    "    version = sys.version.split()[0] + \" \" + sys.implementation.name\n"
    "    send(\"ok\", hx(version), hx(sys.executable or \"\"))\n"
    "    timer = time.perf_counter\n"
    "    while True:\n"
    "        w = receive()\n"
    "        if not w or w[0] != b\"r\":\n"
    "            break\n"
    "        it = itertools.repeat(None, int(w[1]))\n"
    "        gc_was = gc.isenabled()\n"
    "        if not keep_gc:\n"
    "            gc.disable()\n"
    "        try:\n"
    "            t = inner(it, timer)\n"
    "        except BaseException as e:\n"
    "            report(e, \"statement\" if cmd[0] == b\"S\" else \"call\", parts)\n"
    "            return\n"
    "        finally:\n"
    "            if gc_was:\n"
    "                gc.enable()\n"
    "        send(\"t\", repr(float(t)))\n"
    "    if loop:\n"
    "        try:\n"
    "            loop.close()\n"
    "        except Exception:\n"
    "            pass\n"
    "def _ferret_lines(code):\n"
    "    # lines as Python counts them: \\r\\n, \\r and \\n each end one\n"
    "    return re.split(\"\\r\\n|\\r|\\n\", code)\n"
    "def _ferret_timing_function(setup, stmt, syntax, report):\n"
    "    # The timing function is timeit's: the setup, then the statement in a for loop\n"
    "    # between two timer calls. It is assembled from the syntax trees of the user's code,\n"
    "    # never from its text re-indented (which changed the insides of multi-line strings):\n"
    "    # the template is padded with blank lines so each part keeps its own line numbers,\n"
    "    # which map a traceback back, and the bytecode is the same as timeit's.\n"
    "    import ast, builtins, __future__\n"
    "    s_n, b_n = len(_ferret_lines(setup)), len(_ferret_lines(stmt))\n"
    "    parts = [(\"setup\", setup, 2), (\"statement\", stmt, 4 + s_n)]\n"
    "    flags, bodies, stars = 0, [], {}\n"
    "    # \"from m import *\", not allowed in a function, imports into the function's\n"
    "    # globals, as it would at module level\n"
    "    class Star(ast.NodeTransformer):\n"
    "        def visit_ImportFrom(self, node):\n"
    "            if node.names[0].name != \"*\":\n"
    "                return node\n"
    "            key = \"_ferret_star%d\" % len(stars)\n"
    "            src = \"from %s%s import *\\n\" % (\".\" * node.level, node.module or \"\")\n"
    "            stars[key] = compile(src, \"<string>\", \"exec\")\n"
    "            load = ast.Load()\n"
    "            call = ast.Call(ast.Name(\"_ferret_exec\", load),\n"
    "                            [ast.Name(key, load), ast.Name(\"_ferret_g\", load)], [])\n"
    "            return ast.copy_location(ast.Expr(call), node)\n"
    "    for what, code, start in parts:\n"
    "        try:\n"
    "            compile(code, \"<%s>\" % what, \"exec\")\n"
    "            tree = ast.parse(code)\n"
    "        except SyntaxError as e:\n"
    "            syntax(what, e)\n"
    "            return None, parts\n"
    "        except BaseException as e:\n"
    "            report(e, what, [])\n"
    "            return None, parts\n"
    "        ast.increment_lineno(tree, start - 1)\n"
    "        body = []\n"
    "        for node in tree.body:\n"
    "            # a __future__ import becomes a flag of the whole function (it stays the first)\n"
    "            if isinstance(node, ast.ImportFrom) and node.module == \"__future__\":\n"
    "                for a in node.names:\n"
    "                    flags |= getattr(__future__, a.name).compiler_flag\n"
    "            else:\n"
    "                body.append(node)\n"
    "        tree.body = body\n"
    "        bodies.append(Star().visit(tree).body)\n"
    "    pad = \"\\n\" * (s_n - 1)\n"
    "    src = (\"def _ferret_inner(_ferret_it, _ferret_timer):\\n\"\n"
    "           \"    pass\\n\" + pad +\n"
    "           \"    _ferret_t0 = _ferret_timer()\\n\"\n"
    "           \"    for _ferret_i in _ferret_it:\\n\"\n"
    "           \"        pass\\n\" + \"\\n\" * (b_n - 1) +\n"
    "           \"    _ferret_t1 = _ferret_timer()\\n\"\n"
    "           \"    return _ferret_t1 - _ferret_t0\\n\")\n"
    "    mod = ast.parse(src)\n"
    "    f = mod.body[0]\n"
    "    loop = f.body[2]\n"
    "    if bodies[0]:\n"
    "        f.body[0:1] = bodies[0]\n"
    "    if bodies[1]:\n"
    "        loop.body = bodies[1]\n"
    "    ast.fix_missing_locations(mod)\n"
    "    ns = dict(stars, _ferret_exec=getattr(builtins, \"exec\"))  # a keyword in Python 2\n"
    "    ns[\"_ferret_g\"] = ns\n"
    "    try:\n"
    "        exec(compile(mod, \"<ferret-bench>\", \"exec\", flags, True), ns)\n"
    "    except SyntaxError as e:\n"
    "        # valid on its own, not in the function (e.g. \"global x\" after the setup set x)\n"
    "        what, code, start = parts[1] if (e.lineno or 0) >= parts[1][2] else parts[0]\n"
    "        n = max((e.lineno or start) - start, 0)\n"
    "        e.filename, e.lineno, e.offset = \"<%s>\" % what, n + 1, None\n"
    "        e.text = _ferret_lines(code)[n] + \"\\n\"\n"
    "        syntax(what, e, \" (the setup and statement run in one function, as in timeit)\")\n"
    "        return None, parts\n"
    "    return ns[\"_ferret_inner\"], parts\n"
    "_ferret_driver()\n";

void
driver_hex(Buf *b, const char *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (n == 0) {
        buf_putc(b, '-');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf_putc(b, digits[c >> 4]);
        buf_putc(b, digits[c & 15]);
    }
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one hex word [s, e) into a fresh NUL-terminated string. */
static int
unhex(const char *s, const char *e, char **out, Err *err)
{
    size_t n = (size_t)(e - s);
    if (n == 1 && *s == '-')
        n = 0;
    else if (n % 2)
        return err_set(err, ERR_FORMAT, "malformed reply from the benchmark process");
    char *o = malloc(n / 2 + 1);
    if (!o)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(o);
            return err_set(err, ERR_FORMAT, "malformed reply from the benchmark process");
        }
        o[i] = (char)(hi << 4 | lo);
    }
    o[n / 2] = 0;
    *out = o;
    return 0;
}

void
driver_reply_fini(DriverReply *r)
{
    for (int i = 0; i < 3; i++) {
        free(r->str[i]);
        r->str[i] = NULL;
    }
}

int
driver_parse_reply(const char *line, DriverReply *r, Err *err)
{
    static const struct {
        const char *word;
        DriverReplyKind kind;
        int nstr;
    } kinds[] = {
        {"ok", DRIVER_OK, 2},   {"t", DRIVER_VALUE, 0}, {"err", DRIVER_ERR, 3},
        {"fn", DRIVER_FN, 1},   {"end", DRIVER_END, 0},
    };
    memset(r, 0, sizeof *r);
    const char *words[5];
    const char *ends[5];
    size_t nw = 0;
    for (const char *p = line; *p && nw < 5;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        words[nw] = p;
        while (*p && *p != ' ')
            p++;
        ends[nw++] = p;
    }
    if (nw == 0)
        return err_set(err, ERR_FORMAT, "empty reply from the benchmark process");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t wl = (size_t)(ends[0] - words[0]);
        if (wl != strlen(kinds[k].word) || memcmp(words[0], kinds[k].word, wl) != 0)
            continue;
        r->kind = kinds[k].kind;
        size_t want = 1 + (kinds[k].kind == DRIVER_VALUE ? 1 : (size_t)kinds[k].nstr);
        if (nw != want)
            return err_set(err, ERR_FORMAT, "malformed reply from the benchmark process");
        if (r->kind == DRIVER_VALUE) {
            char tmp[64];
            size_t n = (size_t)(ends[1] - words[1]);
            if (n >= sizeof tmp)
                return err_set(err, ERR_FORMAT, "malformed value from the benchmark process");
            memcpy(tmp, words[1], n);
            tmp[n] = 0;
            char *end;
            errno = 0;
            r->seconds = strtod(tmp, &end);
            if (*end || errno || !isfinite(r->seconds) || r->seconds < 0)
                return err_set(err, ERR_FORMAT, "malformed value from the benchmark process");
            return 0;
        }
        for (int i = 0; i < kinds[k].nstr; i++) {
            if (unhex(words[1 + i], ends[1 + i], &r->str[i], err) < 0) {
                driver_reply_fini(r);
                return -1;
            }
        }
        return 0;
    }
    return err_set(err, ERR_FORMAT, "unexpected reply from the benchmark process");
}
