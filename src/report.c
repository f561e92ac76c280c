/*
 * report.c — the report layer: what the front ends (the CLI, the server, a binding) show of a
 * comparison, written into a caller's ty_buf_t: a passage as a JSON object (the fields of
 * README "Output formats"), the people-readable text report with its merged diff view, and
 * the self-contained HTML report. Output is built in memory per document pair so that
 * parallel workers can hand finished pieces to a writer in input order.
 *
 * Out of memory: a buffer keeps the failure (ty_buf_t.err) and ignores what is appended
 * after it; every call returns TY_ENOMEM from then on, so a writer checks once at the end.
 *
 * The diff view: the runs come from the aligner's chains: inside a passage, what lies
 * between two consecutive colinear runs was changed (both sides have tokens there),
 * inserted (only the suspect) or deleted (only the source). A run that jumps back in the
 * source (shuffled sentences) just starts a new stretch: what the suspect has before it is
 * shown as inserted.
 *
 * The HTML layout: a header with the summary and a legend; below, two panes that scroll on
 * their own: the sources on the left (one block per source), the suspect on the right. Every
 * passage is a <mark class="p cN"> with data-p="K" on both sides (N = source colour, K =
 * passage number); a click scrolls the other pane to the mark with the same K and flashes
 * it. The passage offsets are repeated as data-* attributes, so tests (and users) can check
 * the page against the JSONL output. Overlapping passages on one side are clipped for
 * display only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the buffer ---------------------------------------------------------------------------- */

static int buf_grow(ty_buf_t *b, size_t need)
{
    if (!b->err && b->len + need + 1 > b->cap &&
        ty__vec_grow((void **)&b->data, &b->cap, b->len + need + 1, 1) != 0)
        b->err = TY_ENOMEM;
    return b->err ? -1 : 0;
}

int ty_buf_put(ty_buf_t *b, const char *s, size_t n)
{
    if (buf_grow(b, n))
        return b->err;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return TY_OK;
}

int ty_buf_puts(ty_buf_t *b, const char *s) { return ty_buf_put(b, s, strlen(s)); }

int ty_buf_printf(ty_buf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0 && buf_grow(b, (size_t)n) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return b->err;
}

void ty_buf_free(ty_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t l;
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    l = c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (!l || l > n)
        return 0;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (l == 3) {
        unsigned v = ((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6);
        if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
    }
    if (l == 4) {
        unsigned v = ((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12);
        if (v < 0x10000 || v > 0x10FFFF)
            return 0;
    }
    return l;
}

int ty_buf_json_str(ty_buf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    ty_buf_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ty_buf_put(b, e, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': ty_buf_put(b, "\\n", 2); break;
            case '\t': ty_buf_put(b, "\\t", 2); break;
            case '\r': ty_buf_put(b, "\\r", 2); break;
            default: ty_buf_printf(b, "\\u%04x", c);
            }
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (!l) {
                ty_buf_puts(b, "\xEF\xBF\xBD");
                i++;
            } else {
                ty_buf_put(b, s + i, l);
                i += l;
            }
        }
    }
    ty_buf_put(b, "\"", 1);
    return b->err;
}

/* ---- the diff view: a passage and its exact runs as display segments ------------------- */

enum { SEG_SAME = 0, SEG_DEL = 1, SEG_INS = 2 };

typedef struct {
    int kind;    /* SEG_* */
    int side;    /* bytes are from 0 = source, 1 = suspect */
    size_t b, e; /* byte span [b, e) in that side's text */
} seg_t;

typedef struct {
    seg_t *a;
    size_t n, m;
    int err; /* out of memory: the segments are incomplete */
} segs_t;

static void push(segs_t *s, int kind, int side, size_t b, size_t e)
{
    if (e <= b || s->err)
        return;
    if (s->n && s->a[s->n - 1].kind == kind && s->a[s->n - 1].side == side &&
        s->a[s->n - 1].e == b) {
        s->a[s->n - 1].e = e; /* extend the previous segment */
        return;
    }
    if (s->n == s->m) {
        size_t m = s->m ? s->m * 2 : 64;
        seg_t *p = realloc(s->a, m * sizeof(seg_t));
        if (!p) {
            s->err = 1;
            return;
        }
        s->a = p;
        s->m = m;
    }
    s->a[s->n++] = (seg_t){kind, side, b, e};
}

static size_t tok_b(const ty_doc_t *d, size_t i)
{
    ty_token_t t;
    ty_doc_token(d, i, &t);
    return t.byte_off;
}

static size_t tok_e(const ty_doc_t *d, size_t i)
{
    ty_token_t t;
    ty_doc_token(d, i, &t);
    return (size_t)t.byte_off + t.byte_len;
}

static void diff_merged(const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p,
                        const ty_match_t *r, size_t nr, segs_t *out)
{
    size_t qb = p->sus_byte_off, qend = p->sus_byte_off + p->sus_byte_len;
    size_t cq = p->sus_tok_beg, cs = p->src_tok_beg; /* next unshown tokens */
    for (size_t x = 0; x <= nr; x++) {
        size_t rq, rs, len;
        if (x < nr) {
            rq = r[x].sus_tok;
            rs = r[x].src_tok;
            len = r[x].len;
            if (rq + len <= cq)
                continue;  /* wholly shown already (overlapping runs) */
            if (rq < cq) { /* trim the overlap */
                size_t d = cq - rq;
                rq += d;
                rs += d;
                len -= d;
            }
        } else {
            rq = p->sus_tok_end;
            rs = p->src_tok_end;
            len = 0;
        }
        int colinear = rs >= cs;
        /* plain bytes before the gap */
        if (rq > cq) {
            size_t gb = tok_b(sus, cq);
            push(out, SEG_SAME, 1, qb, gb);
            qb = gb;
        }
        if (colinear && rs > cs && rs - cs <= 200) /* replaced or deleted source text */
            push(out, SEG_DEL, 0, tok_b(src, cs), tok_e(src, rs - 1));
        if (rq > cq) { /* changed or inserted suspect text */
            size_t ge = tok_e(sus, rq - 1);
            push(out, SEG_INS, 1, qb, ge);
            qb = ge;
        }
        if (len) {
            size_t e = tok_e(sus, rq + len - 1);
            push(out, SEG_SAME, 1, qb, e);
            qb = e;
            cq = rq + len;
            cs = rs + len;
        } else {
            cq = rq;
        }
    }
    push(out, SEG_SAME, 1, qb, qend);
}

static void diff_side(const ty_doc_t *d, int side, const ty_passage_t *p, const ty_match_t *r,
                      size_t nr, segs_t *out)
{
    size_t tb = side ? p->sus_tok_beg : p->src_tok_beg;
    size_t te = side ? p->sus_tok_end : p->src_tok_end;
    size_t bb = side ? p->sus_byte_off : p->src_byte_off;
    size_t be = bb + (side ? p->sus_byte_len : p->src_byte_len);
    int other = side ? SEG_INS : SEG_DEL;
    size_t n = te > tb ? te - tb : 0;
    unsigned char *same = calloc(n ? n : 1, 1);
    if (!same) {
        out->err = 1;
        return;
    }
    for (size_t x = 0; x < nr; x++) {
        size_t s = side ? r[x].sus_tok : r[x].src_tok;
        for (size_t k = s; k < s + r[x].len; k++)
            if (k >= tb && k < te)
                same[k - tb] = 1;
    }
    /* bytes between tokens (punctuation, spaces, line breaks) are marked only when the
     * tokens on both sides of them are: a changed word doesn't drag the full stop or the
     * next line's indentation with it, and line breaks are never marked */
    const char *text = ty_doc_text(d, NULL);
    size_t pos = bb;
    int prev = SEG_SAME;
    for (size_t k = 0; k < n; k++) {
        size_t b = tok_b(d, tb + k), e = tok_e(d, tb + k);
        int kind = same[k] ? SEG_SAME : other;
        int gap = prev == other && kind == other && !memchr(text + pos, '\n', b - pos);
        push(out, gap ? other : SEG_SAME, side, pos, b);
        push(out, kind, side, b, e);
        pos = e;
        prev = kind;
    }
    push(out, SEG_SAME, side, pos, be);
    free(same);
}

/* ---- passages as JSON, the text report -------------------------------------------------- */

int ty_report_passage_json(ty_buf_t *b, const char *src_name, const char *sus_name,
                           const ty_passage_t *p)
{
    ty_buf_puts(b, "{\"src\":");
    ty_buf_json_str(b, src_name, strlen(src_name));
    ty_buf_puts(b, ",\"sus\":");
    ty_buf_json_str(b, sus_name, strlen(sus_name));
    ty_buf_printf(b,
                  ",\"src_off\":%zu,\"src_len\":%zu,\"sus_off\":%zu,\"sus_len\":%zu,"
                  "\"src_byte_off\":%zu,\"src_byte_len\":%zu,\"sus_byte_off\":%zu,"
                  "\"sus_byte_len\":%zu,\"score\":%.4f}\n",
                  p->src_off, p->src_len, p->sus_off, p->sus_len, p->src_byte_off, p->src_byte_len,
                  p->sus_byte_off, p->sus_byte_len, p->score);
    return b->err;
}

static int has_pages(const ty_doc_t *d);
static size_t page_of(const char *t, size_t off);

/* page and original-file fields of one side ("src"/"sus") when the document has them */
static void json_where(ty_buf_t *b, const char *side, const ty_doc_t *d, size_t cp_off,
                       size_t cp_len, size_t off, size_t len)
{
    if (!d)
        return;
    if (has_pages(d)) {
        const char *t = ty_doc_text(d, NULL);
        ty_buf_printf(b, ",\"%s_page\":%zu,\"%s_page_end\":%zu", side, page_of(t, off), side,
                      page_of(t, off + (len ? len - 1 : 0)));
    }
    const ty_docinfo_t *in = ty_docinfo(d);
    if (in->file_off && cp_off + cp_len < in->nfile_off)
        ty_buf_printf(b, ",\"%s_file_off\":%u,\"%s_file_len\":%u", side, in->file_off[cp_off], side,
                      in->file_off[cp_off + cp_len] - in->file_off[cp_off]);
}

int ty_report_passage_json_docs(ty_buf_t *b, const char *src_name, const char *sus_name,
                                const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p)
{
    ty_report_passage_json(b, src_name, sus_name, p);
    ty_buf_t x = {0};
    json_where(&x, "src", src, p->src_off, p->src_len, p->src_byte_off, p->src_byte_len);
    json_where(&x, "sus", sus, p->sus_off, p->sus_len, p->sus_byte_off, p->sus_byte_len);
    if (x.len && b->len >= 2 && !b->err) {
        b->len -= 2; /* the line's closing "}\n" */
        ty_buf_put(b, x.data, x.len);
        ty_buf_puts(b, "}\n");
    }
    if (x.err)
        b->err = x.err;
    ty_buf_free(&x);
    return b->err;
}

int ty_report_also_names(ty_buf_t *b, const ty_source_t *s)
{
    if (!s->also_total)
        return b->err;
    ty_buf_puts(b, ",\"also\":[");
    for (size_t i = 0; i < s->nalso; i++) {
        if (i)
            ty_buf_puts(b, ",");
        ty_buf_json_str(b, s->also[i].name, strlen(s->also[i].name));
    }
    ty_buf_printf(b, "],\"also_more\":%zu", s->also_total - s->nalso);
    return b->err;
}

int ty_report_also_objects(ty_buf_t *b, const ty_source_t *s, size_t nt)
{
    if (!s->also_total)
        return b->err;
    ty_buf_puts(b, ",\"also\":[");
    for (size_t i = 0; i < s->nalso; i++) {
        const ty_holder_t *h = &s->also[i];
        ty_buf_puts(b, i ? ",{\"src\":" : "{\"src\":");
        ty_buf_json_str(b, h->name, strlen(h->name));
        ty_buf_printf(b, ",\"id\":%u,\"shared\":%u", h->id, h->shared);
        if (h->covered)
            ty_buf_printf(b, ",\"score\":%.4f,\"covered\":%zu",
                          nt ? (double)h->covered / (double)nt : 0.0, h->covered);
        ty_buf_puts(b, "}");
    }
    ty_buf_printf(b, "],\"also_more\":%zu", s->also_total - s->nalso);
    return b->err;
}

int ty_report_source_passage_json(ty_buf_t *b, const ty_source_t *s, size_t i, const char *sus_name,
                                  const ty_doc_t *sus)
{
    if (ty_report_passage_json_docs(b, ty_doc_name(s->doc), sus_name, s->doc, sus,
                                    &s->passages[i]) != TY_OK)
        return b->err;
    b->len -= 2; /* "}\n" */
    ty_report_also_names(b, s);
    ty_buf_puts(b, "}\n");
    return b->err;
}

/* 1-based line of byte offset off */
static size_t line_of(const char *t, size_t off)
{
    size_t l = 1;
    for (size_t i = 0; i < off; i++)
        l += t[i] == '\n';
    return l;
}

/* ---- where a passage is, in documents that were not UTF-8 text ---------------------------- */

/* A PDF's pages are separated by form feeds (pdf.c), also in the text an index stores. */
static int has_pages(const ty_doc_t *d)
{
    size_t n;
    const char *t = ty_doc_text(d, &n);
    return ty_docinfo(d)->pages > 0 || memchr(t, '\f', n) != NULL;
}

static size_t page_of(const char *t, size_t off)
{
    size_t p = 1;
    for (size_t i = 0; i < off; i++)
        p += t[i] == '\f';
    return p;
}

/* " (page 3, lines 4-9; bytes 100-300 of the GB18030 file)": lines always, pages for a PDF,
 * the original file's bytes for text decoded from another charset */
static void text_where(ty_buf_t *b, const ty_doc_t *d, size_t cp_off, size_t cp_len, size_t off,
                       size_t len)
{
    const char *t = ty_doc_text(d, NULL);
    size_t last = off + (len ? len - 1 : 0);
    ty_buf_puts(b, " (");
    if (has_pages(d)) {
        size_t p1 = page_of(t, off), p2 = page_of(t, last);
        if (p1 == p2)
            ty_buf_printf(b, "page %zu, ", p1);
        else
            ty_buf_printf(b, "pages %zu-%zu, ", p1, p2);
    }
    ty_buf_printf(b, "lines %zu-%zu", line_of(t, off), line_of(t, last));
    const ty_docinfo_t *in = ty_docinfo(d);
    if (in->file_off && cp_off + cp_len < in->nfile_off)
        ty_buf_printf(b, "; bytes %u-%u of the %s file", in->file_off[cp_off],
                      in->file_off[cp_off + cp_len], in->charset);
    ty_buf_puts(b, ")");
}

/* "  suspect b.html: HTML page "TITLE", 905 characters of text" for a document that was not
 * UTF-8 text: what was compared is its decoded or extracted text (tongyuan extract) */
static void text_about(ty_buf_t *b, const char *label, const ty_doc_t *d)
{
    const ty_docinfo_t *in = ty_docinfo(d);
    int utf8 = !in->charset[0] || strcmp(in->charset, "UTF-8") == 0;
    if (in->format == TY_FORMAT_TEXT && utf8)
        return;
    static const char *const what[] = {
        "", "text", "", "HTML page", "Word document", "OpenDocument text", "PDF", ""};
    const char *w = in->format > 0 && in->format <= TY_FORMAT_WARC ? what[in->format] : "";
    ty_buf_printf(b, "  %s %s: %s", label, ty_doc_name(d), w);
    if (!utf8 && in->charset[0])
        ty_buf_printf(b, " in %s", in->charset);
    if (in->pages)
        ty_buf_printf(b, " of %u page%s", in->pages, in->pages == 1 ? "" : "s");
    if (in->title[0]) {
        ty_buf_puts(b, ", title “");
        ty_buf_puts(b, in->title);
        ty_buf_puts(b, "”");
    }
    ty_buf_printf(b, ", %zu characters of %s text\n", ty_doc_ncodepoints(d),
                  in->format == TY_FORMAT_TEXT ? "decoded" : "extracted");
}

/* Append bytes of text[b, e) of one segment, turning line breaks into "↵" and a new
 * indented line so the layout of the original stays visible. */
static void put_text(ty_buf_t *b, const char *text, size_t bb, size_t be, const char *on,
                     const char *off)
{
    for (size_t i = bb; i < be; i++) {
        if (text[i] == '\n') {
            ty_buf_printf(b, "↵%s\n    │ %s", off, on);
            continue;
        }
        if (text[i] == '\r')
            continue;
        ty_buf_put(b, text + i, 1);
    }
}

/* Render a merged diff view; without --full only the first `head` and the last `tail` bytes
 * are shown, however long the passage and its segments (a megabyte line is one segment):
 * a segment crossing a cut is cut too, at a character boundary, keeping its colour or
 * marker around the part shown. */
static void text_segments(ty_buf_t *b, const ty_report_style_t *st, const char *st_text,
                          const char *su_text, const segs_t *sg)
{
    const size_t head = 420, tail = 180; /* bytes, about 140 and 60 CJK characters */
    /* a passage usually ends with its line break: don't draw an empty last line */
    segs_t *w = (segs_t *)sg;
    while (w->n) {
        seg_t *g = &w->a[w->n - 1];
        const char *t = g->side ? su_text : st_text;
        while (g->e > g->b && (t[g->e - 1] == '\n' || t[g->e - 1] == '\r'))
            g->e--;
        if (g->e > g->b)
            break;
        w->n--;
    }
    size_t total = 0;
    for (size_t i = 0; i < sg->n; i++)
        total += sg->a[i].e - sg->a[i].b;
    /* view bytes [cut_b, cut_e) are left out */
    size_t cut_b = total, cut_e = total;
    if (!st->full && total > head + tail + 60) {
        cut_b = head;
        cut_e = total - tail;
    }
    ty_buf_puts(b, "    │ ");
    size_t pos = 0; /* view offset of the segment */
    for (size_t i = 0; i < sg->n; i++) {
        const seg_t *g = &sg->a[i];
        const char *text = g->side ? su_text : st_text;
        const char *on = "", *off = "";
        if (g->kind == SEG_DEL)
            on = st->color ? "\033[31;9m" : "[-", off = st->color ? "\033[0m" : "-]";
        else if (g->kind == SEG_INS)
            on = st->color ? "\033[32;1m" : "{+", off = st->color ? "\033[0m" : "+}";
        size_t len = g->e - g->b;
        /* the parts of [g->b, g->e) before cut_b and from cut_e on, at character starts */
        size_t e1 = g->e, b2 = g->e;
        if (pos + len > cut_b) {
            e1 = g->b + (pos < cut_b ? cut_b - pos : 0);
            while (e1 > g->b && ((unsigned char)text[e1] & 0xC0) == 0x80)
                e1--;
            b2 = g->b + (pos < cut_e ? cut_e - pos : 0);
            if (b2 > g->e)
                b2 = g->e;
            while (b2 < g->e && ((unsigned char)text[b2] & 0xC0) == 0x80)
                b2++;
        }
        if (e1 > g->b) {
            ty_buf_puts(b, on);
            put_text(b, text, g->b, e1, st->color ? on : "", st->color ? off : "");
            ty_buf_puts(b, off);
        }
        if (pos + len > cut_b && pos <= cut_b) /* the cut starts in this segment */
            ty_buf_printf(b, "%s … (%zu bytes not shown; --full shows all) … %s",
                          st->color ? "\033[2m" : "", cut_e - cut_b, st->color ? "\033[0m" : "");
        if (b2 < g->e) {
            ty_buf_puts(b, on);
            put_text(b, text, b2, g->e, st->color ? on : "", st->color ? off : "");
            ty_buf_puts(b, off);
        }
        pos += len;
    }
    ty_buf_puts(b, "\n");
}

/* "    also in N other documents: a (95%), b, ... and M more" */
static void text_also(ty_buf_t *b, const ty_source_t *s, size_t nt)
{
    if (!s->also_total)
        return;
    ty_buf_printf(b, "    also in %zu other document%s%s", s->also_total,
                  s->also_total == 1 ? "" : "s", s->nalso ? ": " : "");
    for (size_t i = 0; i < s->nalso; i++) {
        const ty_holder_t *h = &s->also[i];
        ty_buf_printf(b, "%s%s", i ? ", " : "", h->name);
        if (h->covered && nt)
            ty_buf_printf(b, " (%.0f%%)", 100.0 * (double)h->covered / (double)nt);
    }
    if (s->nalso && s->also_total > s->nalso)
        ty_buf_printf(b, ", ... and %zu more", s->also_total - s->nalso);
    ty_buf_puts(b, "\n");
}

int ty_report_text(ty_buf_t *b, const ty_report_style_t *st, const ty_doc_t *src,
                   const ty_doc_t *sus, const ty_passage_t *p, size_t n, const ty_aligner_t *al,
                   const ty_source_t *from)
{
    const char *B = st->color ? "\033[1m" : "", *R = st->color ? "\033[0m" : "";
    const char *C1 = st->color ? "\033[36m" : "", *C2 = st->color ? "\033[33m" : "";
    size_t nt = ty_doc_ntokens(sus), cov = ty_passages_coverage(p, n);
    if (!n) {
        ty_buf_printf(b, "%s%s%s: no reuse of %s found (%zu characters compared)\n", B,
                      ty_doc_name(sus), R, ty_doc_name(src), nt);
        text_about(b, "source ", src);
        text_about(b, "suspect", sus);
        return b->err;
    }
    ty_buf_printf(b,
                  "%s%s%s: %.0f%% of its text (%zu of %zu characters compared) comes from %s%s%s "
                  "in %zu passage%s\n",
                  B, ty_doc_name(sus), R, nt ? 100.0 * (double)cov / (double)nt : 0.0, cov, nt, B,
                  ty_doc_name(src), R, n, n == 1 ? "" : "s");
    if (from)
        text_also(b, from, nt);
    text_about(b, "source ", src);
    text_about(b, "suspect", sus);
    const char *st_text = ty_doc_text(src, NULL), *su_text = ty_doc_text(sus, NULL);
    for (size_t x = 0; x < n; x++) {
        const ty_passage_t *q = &p[x];
        const ty_match_t *r = NULL;
        size_t nr = 0, pieces = 1;
        if (ty_compare_runs(al, from ? from->aligned_at[x] : x, &r, &nr) != TY_OK)
            nr = 0;
        for (size_t i = 1; i < nr; i++) /* the source jumps back: sentences were reordered */
            pieces += r[i].src_tok < r[i - 1].src_tok;
        ty_buf_printf(b, "\n%spassage %zu%s  score %.2f, %zu characters matched", B, x + 1, R,
                      q->score, q->matched);
        if (pieces > 1)
            ty_buf_printf(b, ", in %zu pieces reordered from the source\n", pieces);
        else
            ty_buf_puts(b, " in order\n");
        ty_buf_printf(b, "  %ssource%s  %s  characters %zu-%zu", C1, R, ty_doc_name(src),
                      q->src_off, q->src_off + q->src_len);
        text_where(b, src, q->src_off, q->src_len, q->src_byte_off, q->src_byte_len);
        ty_buf_printf(b, "\n  %ssuspect%s %s  characters %zu-%zu", C2, R, ty_doc_name(sus),
                      q->sus_off, q->sus_off + q->sus_len);
        text_where(b, sus, q->sus_off, q->sus_len, q->sus_byte_off, q->sus_byte_len);
        ty_buf_puts(b, "\n");
        segs_t sg = {0};
        diff_merged(src, sus, q, r, nr, &sg);
        if (sg.err)
            b->err = TY_ENOMEM;
        text_segments(b, st, st_text, su_text, &sg);
        free(sg.a);
    }
    return b->err;
}

/* ---- the HTML report ---------------------------------------------------------------------- */

int ty_report_source_capture(ty_report_source_t *hs, const ty_doc_t *src, const ty_aligner_t *al,
                             const ty_passage_t *p, size_t n, const size_t *at)
{
    memset(hs, 0, sizeof(*hs));
    hs->src = src;
    hs->n = n;
    hs->p = malloc((n ? n : 1) * sizeof(ty_passage_t));
    hs->runs = calloc(n ? n : 1, sizeof(ty_match_t *));
    hs->nruns = calloc(n ? n : 1, sizeof(size_t));
    if (!hs->p || !hs->runs || !hs->nruns)
        return TY_ENOMEM;
    if (n)
        memcpy(hs->p, p, n * sizeof(ty_passage_t));
    for (size_t i = 0; i < n; i++) {
        const ty_match_t *r;
        size_t nr;
        if (ty_compare_runs(al, at ? at[i] : i, &r, &nr) != TY_OK)
            nr = 0;
        hs->runs[i] = malloc((nr ? nr : 1) * sizeof(ty_match_t));
        if (!hs->runs[i])
            return TY_ENOMEM;
        if (nr)
            memcpy(hs->runs[i], r, nr * sizeof(ty_match_t));
        hs->nruns[i] = nr;
    }
    return TY_OK;
}

void ty_report_source_free(ty_report_source_t *hs)
{
    if (!hs)
        return;
    for (size_t i = 0; hs->runs && i < hs->n; i++)
        free(hs->runs[i]);
    TY_FREE(hs->runs, hs->nruns, hs->p);
    memset(hs, 0, sizeof(*hs));
}

static void esc(ty_buf_t *f, const char *t, size_t b, size_t e)
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
            ty_buf_put(f, t + run, i - run);
            ty_buf_puts(f, r);
            run = i + 1;
        }
    }
    ty_buf_put(f, t + run, e - run);
}

/* a passage on one side, for the display order */
typedef struct {
    size_t b, e;   /* bytes */
    size_t src_i;  /* source index */
    size_t pass_i; /* passage index within the source */
    size_t k;      /* global passage number */
} span_t;

TY_CMP_BY2(static int cmp_span, span_t, b, k)

static void write_marked(ty_buf_t *f, const ty_doc_t *d, int side, const ty_report_source_t *s,
                         span_t *sp, size_t nsp)
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
        const ty_report_source_t *hs = &s[sp[i].src_i];
        const ty_passage_t *p = &hs->p[sp[i].pass_i];
        ty_buf_printf(f,
                      "<mark class=\"p c%zu\" data-p=\"%zu\" data-side=\"%s\" data-src-off=\"%zu\" "
                      "data-src-len=\"%zu\" data-sus-off=\"%zu\" data-sus-len=\"%zu\" "
                      "data-score=\"%.4f\" title=\"passage %zu, score %.2f\">",
                      sp[i].src_i % 8, sp[i].k, side ? "sus" : "src", p->src_off, p->src_len,
                      p->sus_off, p->sus_len, p->score, sp[i].k + 1, p->score);
        segs_t sg = {0};
        diff_side(d, side, p, hs->runs[sp[i].pass_i], hs->nruns[sp[i].pass_i], &sg);
        if (sg.err)
            f->err = TY_ENOMEM;
        for (size_t g = 0; g < sg.n; g++) {
            size_t gb = sg.a[g].b > b ? sg.a[g].b : b, ge = sg.a[g].e < e ? sg.a[g].e : e;
            if (ge <= gb)
                continue;
            const char *tag = sg.a[g].kind == SEG_INS   ? "ins"
                              : sg.a[g].kind == SEG_DEL ? "del"
                                                        : NULL;
            if (tag)
                ty_buf_printf(f, "<%s>", tag);
            esc(f, t, gb, ge);
            if (tag)
                ty_buf_printf(f, "</%s>", tag);
        }
        free(sg.a);
        ty_buf_puts(f, "</mark>");
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
static void about(ty_buf_t *f, const ty_doc_t *d)
{
    const ty_docinfo_t *in = ty_docinfo(d);
    int utf8 = !in->charset[0] || strcmp(in->charset, "UTF-8") == 0;
    if (in->format == TY_FORMAT_TEXT && utf8 && !in->title[0])
        return;
    ty_buf_printf(f, "<p class=\"mut doc\">%s", ty_format_name(in->format));
    if (!utf8)
        ty_buf_printf(f, ", %s", in->charset);
    if (in->pages)
        ty_buf_printf(f, ", %u page%s", in->pages, in->pages == 1 ? "" : "s");
    if (in->title[0]) {
        ty_buf_puts(f, ", title <q class=\"title\">");
        esc(f, in->title, 0, strlen(in->title));
        ty_buf_puts(f, "</q>");
    }
    ty_buf_puts(f,
                in->format == TY_FORMAT_TEXT ? " (decoded text shown)" : " (extracted text shown)");
    ty_buf_puts(f, "</p>");
}

int ty_report_html(ty_buf_t *f, const ty_doc_t *sus, const ty_report_source_t *s, size_t ns)
{
    size_t nt = ty_doc_ntokens(sus), total_p = 0;
    for (size_t i = 0; i < ns; i++)
        total_p += s[i].n;
    /* coverage of the suspect by all sources together */
    ty_passage_t *all = malloc((total_p ? total_p : 1) * sizeof(ty_passage_t));
    if (!all)
        return f->err = TY_ENOMEM;
    for (size_t i = 0, k = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++)
            all[k++] = s[i].p[j];
    size_t cov = ty_passages_coverage(all, total_p);
    free(all);
    ty_buf_puts(f, "<!doctype html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<meta name=\"generator\" content=\"tongyuan " TY_VERSION_STRING
                   "\"><title>tongyuan: ");
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    ty_buf_printf(f, "</title><style>%s</style></head><body>\n<header><h1>", CSS);
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    ty_buf_puts(f, "</h1>");
    about(f, sus);
    ty_buf_printf(f, "<p class=\"sum\" id=\"summary\" data-coverage=\"%.4f\">",
                  nt ? (double)cov / (double)nt : 0.0);
    if (!total_p)
        ty_buf_puts(f, "No reused passage found.");
    else
        ty_buf_printf(
            f,
            "%.0f%% of its text (%zu of %zu characters compared) comes from %zu source%s, "
            "in %zu passage%s.",
            nt ? 100.0 * (double)cov / (double)nt : 0.0, cov, nt, ns, ns == 1 ? "" : "s", total_p,
            total_p == 1 ? "" : "s");
    ty_buf_puts(f, "</p><p class=\"legend\">");
    for (size_t i = 0; i < ns; i++) {
        size_t c = ty_passages_coverage(s[i].p, s[i].n);
        ty_buf_printf(f, "<span><mark class=\"c%zu\">&nbsp;&nbsp;&nbsp;</mark> ", i % 8);
        esc(f, ty_doc_name(s[i].src), 0, strlen(ty_doc_name(s[i].src)));
        ty_buf_printf(f, " — %.0f%%, %zu passage%s</span>",
                      nt ? 100.0 * (double)c / (double)nt : 0.0, s[i].n, s[i].n == 1 ? "" : "s");
    }
    ty_buf_puts(f,
                "</p><p class=\"mut\">Inside a passage: <ins style=\"text-decoration:none;"
                "box-shadow:inset 0 -2px #dc2626\">changed or inserted</ins> in the suspect, "
                "<del style=\"color:#7f1d1d\">replaced or dropped</del> from the source. Click a "
                "passage to jump to its counterpart.</p></header>\n<main><section class=\"pane\" "
                "id=\"src\">");
    span_t *sp = malloc((total_p ? total_p : 1) * sizeof(span_t));
    if (!sp)
        return f->err = TY_ENOMEM;
    size_t k0 = 0;
    for (size_t i = 0; i < ns; i++) {
        ty_buf_puts(f, "<h2>source: ");
        esc(f, ty_doc_name(s[i].src), 0, strlen(ty_doc_name(s[i].src)));
        ty_buf_puts(f, "</h2>");
        about(f, s[i].src);
        ty_buf_puts(f, "<div class=\"text\">");
        for (size_t j = 0; j < s[i].n; j++)
            sp[j] = (span_t){s[i].p[j].src_byte_off,
                             s[i].p[j].src_byte_off + s[i].p[j].src_byte_len, i, j, k0 + j};
        write_marked(f, s[i].src, 0, s, sp, s[i].n);
        ty_buf_puts(f, "</div>");
        k0 += s[i].n;
    }
    ty_buf_puts(f, "</section><section class=\"pane\" id=\"sus\"><h2>suspect: ");
    esc(f, ty_doc_name(sus), 0, strlen(ty_doc_name(sus)));
    ty_buf_puts(f, "</h2>");
    about(f, sus);
    ty_buf_puts(f, "<div class=\"text\">");
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
    ty_buf_printf(f, "</div></section></main>\n<script>%s</script>\n</body></html>\n", JS);
    return f->err;
}
