/* SPDX-License-Identifier: MIT */
/* svg.c: a standalone SVG flame graph (root at the bottom, callees above, children widest
 * first), zoomable in a browser: a click on a frame widens it to the full width and hides
 * what is not its ancestor or descendant; "Reset zoom" undoes it; the line under the title
 * shows the frame under the mouse. Frames narrower than 0.1 px are left out (as
 * flamegraph.pl does), which bounds the file whatever the number of stacks. In a diff the
 * widths are the new profile and the colours the change of share (red grew, blue shrank).
 * Names go through esc_html (XML text); the only script is our own. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/flame.h"
#include "report/report.h"
#include "util/escape.h"
#include "util/hash.h"

#define SVG_WIDTH 1200
#define SVG_PAD 10
#define SVG_ROW 16
#define SVG_TOP 56
#define SVG_MIN_PX 0.1

/* follows "var W=<SVG_WIDTH>,P=<SVG_PAD>;" inside the CDATA section */
static const char svg_script[] =
    "var fr=[],det,zoomed=null;\n"
    "function init(){det=document.getElementById('details');\n"
    " var gs=document.getElementById('frames').children;\n"
    " for(var i=0;i<gs.length;i++){var g=gs[i],r=g.querySelector('rect'),t=g.querySelector('text');\n"
    "  var f={g:g,r:r,t:t,x:+r.getAttribute('x'),w:+r.getAttribute('width'),y:+r.getAttribute('y'),\n"
    "   n:g.getAttribute('data-n'),tip:g.querySelector('title').textContent};fr.push(f);\n"
    "  g.addEventListener('click',zoom.bind(null,f));\n"
    "  g.addEventListener('mouseover',function(f){det.textContent=f.tip;}.bind(null,f));\n"
    "  g.addEventListener('mouseout',function(){det.textContent=' ';});}\n"
    " fr.forEach(function(f){place(f,f.x,f.w);});}\n"
    "function place(f,x,w){f.r.setAttribute('x',x.toFixed(2));f.r.setAttribute('width',w.toFixed(2));\n"
    " f.t.setAttribute('x',(x+3).toFixed(2));var n=Math.floor((w-6)/7);\n"
    " f.t.textContent=n<3?'':(f.n.length<=n?f.n:f.n.slice(0,n-2)+'..');}\n"
    "function zoom(z){zoomed=z;var s=(W-2*P)/z.w;\n"
    " fr.forEach(function(f){var anc=f.y>z.y&&f.x<=z.x+1e-6&&f.x+f.w>=z.x+z.w-1e-6;\n"
    "  var sub=f.y<=z.y&&f.x>=z.x-1e-6&&f.x+f.w<=z.x+z.w+1e-6;\n"
    "  if(anc){f.g.style.display='';f.g.style.opacity='0.6';place(f,P,W-2*P);}\n"
    "  else if(sub){f.g.style.display='';f.g.style.opacity='';place(f,P+(f.x-z.x)*s,f.w*s);}\n"
    "  else f.g.style.display='none';});\n"
    " document.getElementById('unzoom').style.opacity='1';}\n"
    "function unzoom(){zoomed=null;fr.forEach(function(f){f.g.style.display='';f.g.style.opacity='';\n"
    " place(f,f.x,f.w);});document.getElementById('unzoom').style.opacity='0.3';}\n"
    "]]></script>\n";

static uint32_t
name_hash(const FlameFunc *f)
{
    return (uint32_t)hash_bytes(f->name, f->name_len);
}

/* flamegraph.pl-like warm colours for a plain graph; red/blue by change for a diff. */
static void
colour(Buf *b, const FlameView *v, const FlameNode *n, const FlameFunc *f, double max_delta)
{
    if (v->diff) {
        double d = (v->grand[1] ? (double)n->total[1] / (double)v->grand[1] : 0) -
                   (v->grand[0] ? (double)n->total[0] / (double)v->grand[0] : 0);
        double k = max_delta > 0 ? fabs(d) / max_delta : 0;
        int fade = (int)(220 * (1 - sqrt(k)));
        if (d > 0)
            buf_printf(b, "rgb(255,%d,%d)", 35 + fade, 35 + fade);
        else
            buf_printf(b, "rgb(%d,%d,255)", 35 + fade, 35 + fade);
        return;
    }
    uint32_t h = name_hash(f);
    if (f->kind == FRAME_NATIVE)
        buf_printf(b, "rgb(%u,%u,%u)", 190 + h % 50, 190 + (h >> 8) % 50, 40 + (h >> 16) % 40);
    else if (f->kind != FRAME_PY)
        buf_printf(b, "rgb(%u,%u,%u)", 160 + h % 40, 160 + h % 40, 170 + h % 40);
    else
        buf_printf(b, "rgb(%u,%u,%u)", 205 + h % 50, 50 + (h >> 8) % 180, (h >> 16) % 55);
}

static void
tooltip(Buf *b, const FlameView *v, const FlameNode *n, const FlameFunc *f)
{
    esc_html(b, f->name, f->name_len);
    if (f->file_len) {
        buf_puts(b, " (");
        esc_html(b, f->file, f->file_len);
        buf_printf(b, ":%d)", (int)f->line);
    }
    double scale = v->sample_ns > 0 ? (double)v->sample_ns / 1e9 : 0;
    int s = v->side;
    buf_puts(b, ": ");
    report_fmt_weight(b, v->unit, scale, n->total[s]);
    buf_printf(b, ", %.2f%%", v->grand[s] ? 100.0 * (double)n->total[s] / (double)v->grand[s] : 0);
    if (v->diff) {
        buf_puts(b, " (base ");
        report_fmt_weight(b, v->unit, scale, n->total[0]);
        buf_printf(b, ", %.2f%%)",
                   v->grand[0] ? 100.0 * (double)n->total[0] / (double)v->grand[0] : 0);
    }
}

int
flame_svg(const FlameView *v, FILE *out, Err *err)
{
    const FlameTree *t = v->tree;
    int s = v->side;
    uint32_t *order = NULL;
    int64_t *x = malloc(t->n * sizeof *x), *cursor = malloc(t->n * sizeof *cursor);
    Buf b;
    buf_init(&b);
    int rc = -1;
    if (!x || !cursor) {
        err_set(err, ERR_NOMEM, "out of memory writing the flame graph");
        goto done;
    }
    if (flame_order(t, s, &order, err) < 0)
        goto done;
    int64_t root = t->nodes[FLAME_ROOT].total[s];
    double px = root > 0 ? (double)(SVG_WIDTH - 2 * SVG_PAD) / (double)root : 0;
    uint32_t maxdepth = 0;
    double max_delta = 0;
    for (size_t i = 0; i < t->n; i++) {
        const FlameNode *n = &t->nodes[i];
        if ((double)n->total[s] * px >= SVG_MIN_PX && n->depth > maxdepth)
            maxdepth = n->depth;
        if (v->diff && i) {
            double d = (v->grand[1] ? (double)n->total[1] / (double)v->grand[1] : 0) -
                       (v->grand[0] ? (double)n->total[0] / (double)v->grand[0] : 0);
            if (fabs(d) > max_delta)
                max_delta = fabs(d);
        }
    }
    int height = SVG_TOP + (int)(maxdepth + 1) * SVG_ROW + SVG_PAD;
    buf_printf(&b,
               "<?xml version=\"1.0\" standalone=\"no\"?>\n"
               "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "xmlns=\"http://www.w3.org/2000/svg\" onload=\"init()\">\n"
               "<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}"
               "#frames g:hover rect{stroke:#000;stroke-width:0.5}#frames g{cursor:pointer}"
               "#unzoom{cursor:pointer}</style>\n",
               SVG_WIDTH, height, SVG_WIDTH, height);
    buf_printf(&b, "<script type=\"text/ecmascript\"><![CDATA[\n'use strict';\nvar W=%d,P=%d;\n",
               SVG_WIDTH, SVG_PAD);
    buf_puts(&b, svg_script);
    buf_printf(&b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n",
               SVG_WIDTH, height);
    buf_printf(&b, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" style=\"font-size:16px\">",
               SVG_WIDTH / 2);
    const char *title = v->title ? v->title : v->diff ? "ferret differential flame graph"
                                                      : "ferret flame graph";
    esc_html(&b, title, strlen(title));
    buf_printf(&b, "</text>\n<text id=\"unzoom\" x=\"%d\" y=\"22\" style=\"opacity:0.3\" "
                   "onclick=\"unzoom()\">Reset zoom</text>\n"
                   "<text id=\"details\" x=\"%d\" y=\"44\"> </text>\n<g id=\"frames\">\n",
               SVG_PAD, SVG_PAD);
    for (size_t k = 0; k < t->n; k++) {
        uint32_t i = order[k];
        const FlameNode *n = &t->nodes[i];
        if (i == FLAME_ROOT) {
            x[i] = 0;
            cursor[i] = 0;
            continue;
        }
        x[i] = cursor[n->parent];
        cursor[n->parent] += n->total[s];
        cursor[i] = x[i];
        double w = (double)n->total[s] * px;
        if (w < SVG_MIN_PX)
            continue;
        FlameFunc f;
        v->func(v->ctx, n->func, &f);
        double y = height - SVG_PAD - (double)n->depth * SVG_ROW;
        buf_puts(&b, "<g data-n=\"");
        esc_html(&b, f.name, f.name_len);
        buf_puts(&b, "\"><title>");
        tooltip(&b, v, n, &f);
        buf_printf(&b, "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"",
                   SVG_PAD + (double)x[i] * px, y, w, SVG_ROW - 1);
        colour(&b, v, n, &f, max_delta);
        buf_printf(&b, "\"/><text x=\"%.2f\" y=\"%.0f\"></text></g>\n",
                   SVG_PAD + (double)x[i] * px + 3, y + SVG_ROW - 4);
        if (b.len > (1u << 20)) {
            if (buf_failed(&b) || fwrite(b.data, 1, b.len, out) != b.len)
                goto io;
            buf_reset(&b);
        }
    }
    buf_puts(&b, "</g>\n</svg>\n");
    if (buf_failed(&b) || fwrite(b.data, 1, b.len, out) != b.len)
        goto io;
    rc = 0;
    goto done;
io:
    if (buf_failed(&b))
        err_set(err, ERR_NOMEM, "out of memory writing the flame graph");
    else
        err_sys(err, errno, "writing the flame graph");
done:
    buf_fini(&b);
    free(order);
    free(x);
    free(cursor);
    return rc;
}

static int
svg_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    FlameProfile fp;
    const char *title = opt->title ? opt->title : profile_meta_get(p, "command");
    if (flame_profile_build(&fp, p, opt->series, opt->flags_mask, opt->flags_want, title, err) < 0)
        return -1;
    int rc = flame_svg(&fp.view, out, err);
    flame_profile_fini(&fp);
    return rc;
}

const ReportWriter report_svg = {
    .name = "svg",
    .extension = ".svg",
    .binary = false,
    .write = svg_write,
};
