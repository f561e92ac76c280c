/*
 * html.c — the HTML report (see html.h).
 *
 * Layout: a header with the summary and a legend; below, two panes that scroll on their own:
 * the sources on the left (one block per source), the suspect on the right. Every passage is
 * a <mark class="p cN"> with data-p="K" on both sides (N = source colour, K = passage number);
 * a click scrolls the other pane to the mark with the same K and flashes it. The passage
 * offsets are repeated as data-* attributes, so tests (and users) can check the page against
 * the JSONL output. Overlapping passages on one side are clipped for display only.
 */
#include "html.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "diffview.h"

int html_source_capture(html_source_t *hs, const ty_doc_t *src, const ty_aligner_t *al,
                        const ty_passage_t *p, size_t n, const size_t *at)
{
    memset(hs, 0, sizeof(*hs));
    hs->src = src;
    hs->n = n;
    hs->p = malloc((n ? n : 1) * sizeof(ty_passage_t));
    hs->runs = calloc(n ? n : 1, sizeof(ty_match_t *));
    hs->nruns = calloc(n ? n : 1, sizeof(size_t));
    if (!hs->p || !hs->runs || !hs->nruns)
        return -1;
    if (n)
        memcpy(hs->p, p, n * sizeof(ty_passage_t));
    for (size_t i = 0; i < n; i++) {
        const ty_match_t *r;
        size_t nr;
        if (ty_compare_runs(al, at ? at[i] : i, &r, &nr) != TY_OK)
            nr = 0;
        hs->runs[i] = malloc((nr ? nr : 1) * sizeof(ty_match_t));
        if (!hs->runs[i])
            return -1;
        if (nr)
            memcpy(hs->runs[i], r, nr * sizeof(ty_match_t));
        hs->nruns[i] = nr;
    }
    return 0;
}

void html_source_free(html_source_t *hs)
{
    if (!hs)
        return;
    for (size_t i = 0; hs->runs && i < hs->n; i++)
        free(hs->runs[i]);
    free(hs->runs);
    free(hs->nruns);
    free(hs->p);
    memset(hs, 0, sizeof(*hs));
}

static void esc(FILE *f, const char *t, size_t b, size_t e)
{
    size_t run = b;
    for (size_t i = b; i < e; i++) {
        const char *r = NULL;
        switch (t[i]) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '"': r = "&quot;"; break;
        case '\r': r = ""; break;
        default: break;
        }
        if (r) {
            fwrite(t + run, 1, i - run, f);
            fputs(r, f);
            run = i + 1;
        }
    }
    fwrite(t + run, 1, e - run, f);
}

/* a passage on one side, for the display order */
typedef struct {
    size_t b, e;   /* bytes */
    size_t src_i;  /* source index */
    size_t pass_i; /* passage index within the source */
    size_t k;      /* global passage number */
} span_t;

static int cmp_span(const void *x, const void *y)
{
    const span_t *a = x, *b = y;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return a->k < b->k ? -1 : a->k > b->k;
}

static void write_marked(FILE *f, const ty_doc_t *d, int side, const html_source_t *s, span_t *sp,
                         size_t nsp)
{
    size_t len;
    const char *t = ty_doc_text(d, &len);
    qsort(sp, nsp, sizeof(span_t), cmp_span);
    size_t pos = 0;
    for (size_t i = 0; i < nsp; i++) {
        size_t b = sp[i].b > pos ? sp[i].b : pos, e = sp[i].e;
        if (e <= b)
            continue; /* wholly inside an earlier passage */
        esc(f, t, pos, b);
        const html_source_t *hs = &s[sp[i].src_i];
        const ty_passage_t *p = &hs->p[sp[i].pass_i];
        fprintf(f,
                "<mark class=\"p c%zu\" data-p=\"%zu\" data-side=\"%s\" data-src-off=\"%zu\" "
                "data-src-len=\"%zu\" data-sus-off=\"%zu\" data-sus-len=\"%zu\" "
                "data-score=\"%.4f\" title=\"passage %zu, score %.2f\">",
                sp[i].src_i % 8, sp[i].k, side ? "sus" : "src", p->src_off, p->src_len, p->sus_off,
                p->sus_len, p->score, sp[i].k + 1, p->score);
        segs_t sg = {0};
        diff_side(d, side, p, hs->runs[sp[i].pass_i], hs->nruns[sp[i].pass_i], &sg);
        for (size_t g = 0; g < sg.n; g++) {
            size_t gb = sg.a[g].b > b ? sg.a[g].b : b, ge = sg.a[g].e < e ? sg.a[g].e : e;
            if (ge <= gb)
                continue;
            const char *tag = sg.a[g].kind == SEG_INS   ? "ins"
                              : sg.a[g].kind == SEG_DEL ? "del"
                                                        : NULL;
            if (tag)
                fprintf(f, "<%s>", tag);
            esc(f, t, gb, ge);
            if (tag)
                fprintf(f, "</%s>", tag);
        }
        free(sg.a);
        fputs("</mark>", f);
        pos = e;
    }
    esc(f, t, pos, len);
}

static const char *CSS =
    ":root{--bg:#fff;--fg:#1d1d1f;--mut:#6e6e73;--line:#d2d2d7}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.75 \"Noto Sans CJK SC\",\"Source Han Sans SC\",\"PingFang SC\","
    "\"Hiragino Sans GB\",\"Microsoft YaHei\",\"WenQuanYi Micro Hei\",system-ui,sans-serif;"
    "color:var(--fg);background:var(--bg);height:100vh;display:flex;flex-direction:column}"
    "header{padding:12px 20px;border-bottom:1px solid var(--line)}"
    "h1{font-size:18px;margin:0 0 4px}"
    ".sum{margin:2px 0}.mut{color:var(--mut);font-size:13px}"
    ".legend span{display:inline-block;margin-right:14px;font-size:13px}"
    "main{flex:1;display:grid;grid-template-columns:1fr 1fr;min-height:0}"
    ".pane{overflow:auto;padding:0 20px 40vh;border-right:1px solid var(--line)}"
    ".pane h2{position:sticky;top:0;background:var(--bg);font-size:14px;margin:0;padding:10px 0;"
    "border-bottom:1px solid var(--line);z-index:1;overflow-wrap:anywhere}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;line-break:strict;margin:12px 0 28px}"
    "mark.p{color:inherit;border-radius:3px;cursor:pointer;padding:1px 0}"
    "mark.c0{background:#fde68a}mark.c1{background:#bfdbfe}mark.c2{background:#bbf7d0}"
    "mark.c3{background:#fbcfe8}mark.c4{background:#ddd6fe}mark.c5{background:#fed7aa}"
    "mark.c6{background:#a5f3fc}mark.c7{background:#e5e7eb}"
    "mark ins{text-decoration:none;background:rgba(220,38,38,.22);box-shadow:inset 0 -2px #dc2626}"
    "mark del{text-decoration:line-through;text-decoration-color:#dc2626;color:#7f1d1d;"
    "background:rgba(220,38,38,.12)}"
    "mark.flash{animation:fl 1.2s ease-out}"
    "@keyframes fl{0%{outline:3px solid #dc2626;outline-offset:2px}100%{outline:3px solid "
    "transparent;outline-offset:2px}}"
    "@media (max-width:800px){main{grid-template-columns:1fr}.pane{max-height:50vh}}";

static const char *JS =
    "document.addEventListener('click',function(e){"
    "var m=e.target.closest('mark.p');if(!m)return;"
    "var other=m.dataset.side==='sus'?'src':'sus';"
    "var t=document.querySelector('mark.p[data-side=\"'+other+'\"][data-p=\"'+m.dataset.p+'\"]');"
    "if(!t)return;t.scrollIntoView({behavior:'smooth',block:'center'});"
    "[m,t].forEach(function(x){x.classList.remove('flash');void x.offsetWidth;"
    "x.classList.add('flash');});});";

/* What a document was read from, when it was not UTF-8 text: its format and title (the text
 * shown is what was extracted from it). */
static void about(FILE *f, const ty_doc_t *d)
{
    const ty_docinfo_t *in = ty_docinfo(d);
    int utf8 = !in->charset[0] || strcmp(in->charset, "UTF-8") == 0;
    if (in->format == TY_FORMAT_TEXT && utf8 && !in->title[0])
        return;
    fprintf(f, "<p class=\"mut doc\">%s", ty_format_name(in->format));
    if (!utf8)
        fprintf(f, ", %s", in->charset);
    if (in->pages)
        fprintf(f, ", %u page%s", in->pages, in->pages == 1 ? "" : "s");
    if (in->title[0]) {
        fputs(", title <q class=\"title\">", f);
        esc(f, in->title, 0, strlen(in->title));
        fputs("</q>", f);
    }
    fputs(in->format == TY_FORMAT_TEXT ? " (decoded text shown)" : " (extracted text shown)", f);
    fputs("</p>", f);
}

int html_write(FILE *f, const ty_doc_t *sus, const html_source_t *s, size_t ns)
{
    size_t nt = ty_doc_ntokens(sus), total_p = 0;
    for (size_t i = 0; i < ns; i++)
        total_p += s[i].n;
    /* coverage of the suspect by all sources together */
    ty_passage_t *all = malloc((total_p ? total_p : 1) * sizeof(ty_passage_t));
    if (!all)
        return -1;
    for (size_t i = 0, k = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++)
            all[k++] = s[i].p[j];
    size_t cov = ty_passages_coverage(all, total_p);
    free(all);
    fputs("<!doctype html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<meta name=\"generator\" content=\"tongyuan " TY_VERSION_STRING "\"><title>tongyuan: ",
          f);
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    fprintf(f, "</title><style>%s</style></head><body>\n<header><h1>", CSS);
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    fputs("</h1>", f);
    about(f, sus);
    fprintf(f, "<p class=\"sum\" id=\"summary\" data-coverage=\"%.4f\">",
            nt ? (double)cov / (double)nt : 0.0);
    if (!total_p)
        fputs("No reused passage found.", f);
    else
        fprintf(f,
                "%.0f%% of its text (%zu of %zu characters compared) comes from %zu source%s, "
                "in %zu passage%s.",
                nt ? 100.0 * (double)cov / (double)nt : 0.0, cov, nt, ns, ns == 1 ? "" : "s",
                total_p, total_p == 1 ? "" : "s");
    fputs("</p><p class=\"legend\">", f);
    for (size_t i = 0; i < ns; i++) {
        size_t c = ty_passages_coverage(s[i].p, s[i].n);
        fprintf(f, "<span><mark class=\"c%zu\">&nbsp;&nbsp;&nbsp;</mark> ", i % 8);
        esc(f, ty_doc_name(s[i].src), 0, strlen(ty_doc_name(s[i].src)));
        fprintf(f, " — %.0f%%, %zu passage%s</span>", nt ? 100.0 * (double)c / (double)nt : 0.0,
                s[i].n, s[i].n == 1 ? "" : "s");
    }
    fputs("</p><p class=\"mut\">Inside a passage: <ins style=\"text-decoration:none;"
          "box-shadow:inset 0 -2px #dc2626\">changed or inserted</ins> in the suspect, "
          "<del style=\"color:#7f1d1d\">replaced or dropped</del> from the source. Click a "
          "passage to jump to its counterpart.</p></header>\n<main><section class=\"pane\" "
          "id=\"src\">",
          f);
    span_t *sp = malloc((total_p ? total_p : 1) * sizeof(span_t));
    if (!sp)
        return -1;
    size_t k0 = 0;
    for (size_t i = 0; i < ns; i++) {
        fputs("<h2>source: ", f);
        esc(f, ty_doc_name(s[i].src), 0, strlen(ty_doc_name(s[i].src)));
        fputs("</h2>", f);
        about(f, s[i].src);
        fputs("<div class=\"text\">", f);
        for (size_t j = 0; j < s[i].n; j++)
            sp[j] = (span_t){s[i].p[j].src_byte_off,
                             s[i].p[j].src_byte_off + s[i].p[j].src_byte_len, i, j, k0 + j};
        write_marked(f, s[i].src, 0, s, sp, s[i].n);
        fputs("</div>", f);
        k0 += s[i].n;
    }
    fputs("</section><section class=\"pane\" id=\"sus\"><h2>suspect: ", f);
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    fputs("</h2>", f);
    about(f, sus);
    fputs("<div class=\"text\">", f);
    k0 = 0;
    size_t nsp = 0;
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < s[i].n; j++, nsp++)
            sp[nsp] = (span_t){s[i].p[j].sus_byte_off,
                               s[i].p[j].sus_byte_off + s[i].p[j].sus_byte_len, i, j, k0 + j};
        k0 += s[i].n;
    }
    write_marked(f, sus, 1, s, sp, nsp);
    free(sp);
    fprintf(f, "</div></section></main>\n<script>%s</script>\n</body></html>\n", JS);
    return ferror(f) ? -1 : 0;
}
