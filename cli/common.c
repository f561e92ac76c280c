/*
 * common.c — output buffer, JSON escaping, option parsing and passage printing shared by the
 * subcommands. Output is built in memory per document pair so that parallel workers can hand
 * finished pieces to the writer in input order.
 */
#include "common.h"
#include "diffview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sb_grow(sbuf_t *b, size_t need)
{
    if (b->n + need + 1 <= b->m)
        return;
    size_t m = b->m ? b->m : 256;
    while (m < b->n + need + 1)
        m *= 2;
    char *p = realloc(b->a, m);
    if (!p) {
        fputs("tongyuan: out of memory\n", stderr);
        exit(EXIT_ERROR);
    }
    b->a = p;
    b->m = m;
}

void sb_putn(sbuf_t *b, const char *s, size_t n)
{
    sb_grow(b, n);
    memcpy(b->a + b->n, s, n);
    b->n += n;
    b->a[b->n] = 0;
}

void sb_puts(sbuf_t *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        sb_grow(b, (size_t)n);
        vsnprintf(b->a + b->n, (size_t)n + 1, fmt, ap2);
        b->n += (size_t)n;
    }
    va_end(ap2);
}

void sb_free(sbuf_t *b)
{
    free(b->a);
    b->a = NULL;
    b->n = b->m = 0;
}

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

void sb_json_str(sbuf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_putn(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_putn(b, e, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': sb_putn(b, "\\n", 2); break;
            case '\t': sb_putn(b, "\\t", 2); break;
            case '\r': sb_putn(b, "\\r", 2); break;
            default: sb_printf(b, "\\u%04x", c);
            }
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (!l) {
                sb_puts(b, "\xEF\xBF\xBD");
                i++;
            } else {
                sb_putn(b, s + i, l);
                i += l;
            }
        }
    }
    sb_putn(b, "\"", 1);
}

void style_init(style_t *st, FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    st->color = isatty(fileno(f)) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
    st->full = 0;
}

int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "tongyuan: %s wants a whole number from %ld to %ld, not '%s'\n", opt, lo,
                hi, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s ? s : "", &end);
    if (!s || !*s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "tongyuan: %s wants a number from %g to %g, not '%s'\n", opt, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *name, const char *short_name,
                          int *missing)
{
    const char *a = argv[*i];
    size_t l = strlen(name);
    int is_short = short_name && strcmp(a, short_name) == 0;
    if (!is_short) {
        if (strncmp(a, name, l) != 0)
            return NULL;
        if (a[l] == '=')
            return a + l + 1;
        if (a[l] != 0)
            return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int parse_align_opt(int argc, char **argv, int *i, ty_opts_t *o)
{
    static const struct {
        const char *name;
        int type; /* 0 int, 1 double, 2 size in MB */
        long lo, hi;
        size_t off;
    } T[] = {
        {"-k", 0, 2, 16, offsetof(ty_opts_t, k)},
        {"-w", 0, 1, 256, offsetof(ty_opts_t, w)},
        {"--max-occ", 0, 1, 1000000, offsetof(ty_opts_t, max_occ)},
        {"--max-gap", 0, 0, 100000, offsetof(ty_opts_t, max_gap)},
        {"--gap-cost", 1, 0, 100, offsetof(ty_opts_t, gap_cost)},
        {"--drift-cost", 1, 0, 100, offsetof(ty_opts_t, drift_cost)},
        {"--min-chain", 0, 0, 1000000, offsetof(ty_opts_t, min_chain)},
        {"--merge-gap", 0, 0, 100000, offsetof(ty_opts_t, merge_gap)},
        {"--min-len", 0, 0, 100000000, offsetof(ty_opts_t, min_len)},
        {"--min-score", 1, 0, 1, offsetof(ty_opts_t, min_score)},
        {"--snap", 0, 0, 1000, offsetof(ty_opts_t, snap)},
        {"--max-size", 2, 1, 4095, offsetof(ty_opts_t, max_doc_bytes)},
    };
    for (size_t t = 0; t < sizeof(T) / sizeof(T[0]); t++) {
        int missing = 0;
        const char *v = cli_opt_value(argc, argv, i, T[t].name, NULL, &missing);
        if (missing) {
            fprintf(stderr, "tongyuan: %s needs a value\n", T[t].name);
            return -1;
        }
        if (!v)
            continue;
        char *field = (char *)o + T[t].off;
        if (T[t].type == 1) {
            double d;
            if (parse_double(T[t].name, v, (double)T[t].lo, (double)T[t].hi, &d))
                return -1;
            memcpy(field, &d, sizeof d);
        } else {
            long l;
            if (parse_long(T[t].name, v, T[t].lo, T[t].hi, &l))
                return -1;
            if (T[t].type == 2) {
                size_t s = (size_t)l << 20;
                memcpy(field, &s, sizeof s);
            } else {
                int x = (int)l;
                memcpy(field, &x, sizeof x);
            }
        }
        return 1;
    }
    int missing = 0;
    const char *v = cli_opt_value(argc, argv, i, "--input-format", NULL, &missing);
    if (!missing && v) {
        if (ty_format_parse(v, &o->input_format) != TY_OK) {
            fprintf(stderr,
                    "tongyuan: --input-format wants auto, text, html, docx, odt, pdf, warc or "
                    "jsonl, not '%s'\n",
                    v);
            return -1;
        }
        return 1;
    }
    if (!missing && (v = cli_opt_value(argc, argv, i, "--encoding", NULL, &missing)) != NULL) {
        o->encoding = v; /* checked by ty_opts_check */
        return 1;
    }
    if (missing) {
        fprintf(stderr, "tongyuan: %s needs a value\n", argv[*i]);
        return -1;
    }
    v = cli_opt_value(argc, argv, i, "--invalid-utf8", NULL, &missing);
    if (missing) {
        fprintf(stderr, "tongyuan: --invalid-utf8 needs a value (error or replace)\n");
        return -1;
    }
    if (v) {
        if (strcmp(v, "error") == 0)
            o->utf8_mode = TY_UTF8_STRICT;
        else if (strcmp(v, "replace") == 0)
            o->utf8_mode = TY_UTF8_REPLACE;
        else {
            fprintf(stderr, "tongyuan: --invalid-utf8 wants 'error' or 'replace', not '%s'\n", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

void print_align_help(FILE *f)
{
    ty_opts_t o;
    ty_opts_init(&o);
    fprintf(f,
            "Alignment options (defaults were tuned on the development set):\n"
            "  -k N               seed length in tokens (CJK characters or words) [%d]\n"
            "  -w N               minimizer window; 1 = use every seed [%d]\n"
            "  --max-occ N        seeds repeated more than N times in a source are used only\n"
            "                     where nothing else aligns, at one occurrence [%d]\n"
            "  --max-gap N        longest gap, in tokens, bridged inside one chain [%d]\n"
            "  --gap-cost X       chain cost per unmatched token [%g]\n"
            "  --drift-cost X     chain cost per token of insertion/deletion [%g]\n"
            "  --min-chain N      drop chains scoring below N, unless they fill a passage [%d]\n"
            "  --merge-gap N      join chains closer than N tokens in both texts, or tiling one\n"
            "                     region in any order with no larger gap, into a passage [%d]\n"
            "  --min-len N        report passages whose matched tokens x score reach N [%d]\n"
            "  --min-score X      report passages scoring at least X, 0..1 [%g]\n"
            "  --snap N           move passage ends to a sentence end up to N tokens away [%d]\n"
            "  --max-size MB      refuse inputs larger than MB megabytes [%zu]\n"
            "  --invalid-utf8 M   'error' (default): stop at invalid UTF-8; 'replace': count\n"
            "                     each bad byte as one character and leave it out\n"
            "  --input-format F   auto (by content, the name as a hint), text, html, docx,\n"
            "                     odt, pdf, warc or jsonl: read every input as F [auto]\n"
            "  --encoding NAME    charset of text and HTML: gb18030, big5, utf-16le, shift_jis\n"
            "                     ... (iconv names); 'utf-8': strict UTF-8, no detection\n"
            "                     [detected: BOM, <meta>, uchardet]\n",
            o.k, o.w, o.max_occ, o.max_gap, o.gap_cost, o.drift_cost, o.min_chain, o.merge_gap,
            o.min_len, o.min_score, o.snap, o.max_doc_bytes >> 20);
}

void sb_passage_json(sbuf_t *b, const char *src_name, const char *sus_name, const ty_passage_t *p)
{
    sb_puts(b, "{\"src\":");
    sb_json_str(b, src_name, strlen(src_name));
    sb_puts(b, ",\"sus\":");
    sb_json_str(b, sus_name, strlen(sus_name));
    sb_printf(b,
              ",\"src_off\":%zu,\"src_len\":%zu,\"sus_off\":%zu,\"sus_len\":%zu,"
              "\"src_byte_off\":%zu,\"src_byte_len\":%zu,\"sus_byte_off\":%zu,"
              "\"sus_byte_len\":%zu,\"score\":%.4f}\n",
              p->src_off, p->src_len, p->sus_off, p->sus_len, p->src_byte_off, p->src_byte_len,
              p->sus_byte_off, p->sus_byte_len, p->score);
}

static int has_pages(const ty_doc_t *d);
static size_t page_of(const char *t, size_t off);

/* page and original-file fields of one side ("src"/"sus") when the document has them */
static void json_where(sbuf_t *b, const char *side, const ty_doc_t *d, size_t cp_off, size_t cp_len,
                       size_t off, size_t len)
{
    if (!d)
        return;
    if (has_pages(d)) {
        const char *t = ty_doc_text(d, NULL);
        sb_printf(b, ",\"%s_page\":%zu,\"%s_page_end\":%zu", side, page_of(t, off), side,
                  page_of(t, off + (len ? len - 1 : 0)));
    }
    const ty_docinfo_t *in = ty_docinfo(d);
    if (in->file_off && cp_off + cp_len < in->nfile_off)
        sb_printf(b, ",\"%s_file_off\":%u,\"%s_file_len\":%u", side, in->file_off[cp_off], side,
                  in->file_off[cp_off + cp_len] - in->file_off[cp_off]);
}

void sb_passage_json_docs(sbuf_t *b, const char *src_name, const char *sus_name,
                          const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p)
{
    sb_passage_json(b, src_name, sus_name, p);
    sbuf_t x = {0};
    json_where(&x, "src", src, p->src_off, p->src_len, p->src_byte_off, p->src_byte_len);
    json_where(&x, "sus", sus, p->sus_off, p->sus_len, p->sus_byte_off, p->sus_byte_len);
    if (x.n && b->n >= 2) {
        b->n -= 2; /* the line's closing "}\n" */
        sb_putn(b, x.a, x.n);
        sb_puts(b, "}\n");
    }
    sb_free(&x);
}

void sb_also_json(sbuf_t *b, const ty_source_t *s)
{
    if (!s->also_total)
        return;
    sb_puts(b, ",\"also\":[");
    for (size_t i = 0; i < s->nalso; i++) {
        if (i)
            sb_puts(b, ",");
        sb_json_str(b, s->also[i].name, strlen(s->also[i].name));
    }
    sb_printf(b, "],\"also_more\":%zu", s->also_total - s->nalso);
}

void sb_also_objects(sbuf_t *b, const ty_source_t *s, size_t nt)
{
    if (!s->also_total)
        return;
    sb_puts(b, ",\"also\":[");
    for (size_t i = 0; i < s->nalso; i++) {
        const ty_holder_t *h = &s->also[i];
        sb_puts(b, i ? ",{\"src\":" : "{\"src\":");
        sb_json_str(b, h->name, strlen(h->name));
        sb_printf(b, ",\"id\":%u,\"shared\":%u", h->id, h->shared);
        if (h->covered)
            sb_printf(b, ",\"score\":%.4f,\"covered\":%zu",
                      nt ? (double)h->covered / (double)nt : 0.0, h->covered);
        sb_puts(b, "}");
    }
    sb_printf(b, "],\"also_more\":%zu", s->also_total - s->nalso);
}

void sb_source_passage_json(sbuf_t *b, const ty_source_t *s, size_t i, const char *sus_name,
                            const ty_doc_t *sus)
{
    sb_passage_json_docs(b, ty_doc_name(s->doc), sus_name, s->doc, sus, &s->passages[i]);
    b->n -= 2; /* "}\n" */
    sb_also_json(b, s);
    sb_puts(b, "}\n");
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
static void sb_where(sbuf_t *b, const ty_doc_t *d, size_t cp_off, size_t cp_len, size_t off,
                     size_t len)
{
    const char *t = ty_doc_text(d, NULL);
    size_t last = off + (len ? len - 1 : 0);
    sb_puts(b, " (");
    if (has_pages(d)) {
        size_t p1 = page_of(t, off), p2 = page_of(t, last);
        if (p1 == p2)
            sb_printf(b, "page %zu, ", p1);
        else
            sb_printf(b, "pages %zu-%zu, ", p1, p2);
    }
    sb_printf(b, "lines %zu-%zu", line_of(t, off), line_of(t, last));
    const ty_docinfo_t *in = ty_docinfo(d);
    if (in->file_off && cp_off + cp_len < in->nfile_off)
        sb_printf(b, "; bytes %u-%u of the %s file", in->file_off[cp_off],
                  in->file_off[cp_off + cp_len], in->charset);
    sb_puts(b, ")");
}

/* "  suspect b.html: HTML page "TITLE", 905 characters of text" for a document that was not
 * UTF-8 text: what was compared is its decoded or extracted text (tongyuan extract) */
static void sb_about(sbuf_t *b, const char *label, const ty_doc_t *d)
{
    const ty_docinfo_t *in = ty_docinfo(d);
    int utf8 = !in->charset[0] || strcmp(in->charset, "UTF-8") == 0;
    if (in->format == TY_FORMAT_TEXT && utf8)
        return;
    static const char *const what[] = {
        "", "text", "", "HTML page", "Word document", "OpenDocument text", "PDF", ""};
    const char *w = in->format > 0 && in->format <= TY_FORMAT_WARC ? what[in->format] : "";
    sb_printf(b, "  %s %s: %s", label, ty_doc_name(d), w);
    if (!utf8 && in->charset[0])
        sb_printf(b, " in %s", in->charset);
    if (in->pages)
        sb_printf(b, " of %u page%s", in->pages, in->pages == 1 ? "" : "s");
    if (in->title[0]) {
        sb_puts(b, ", title “");
        sb_puts(b, in->title);
        sb_puts(b, "”");
    }
    sb_printf(b, ", %zu characters of %s text\n", ty_doc_ncodepoints(d),
              in->format == TY_FORMAT_TEXT ? "decoded" : "extracted");
}

/* Append bytes of text[b, e) of one segment, turning line breaks into "↵" and a new
 * indented line so the layout of the original stays visible. */
static void put_text(sbuf_t *b, const char *text, size_t bb, size_t be, const char *on,
                     const char *off)
{
    for (size_t i = bb; i < be; i++) {
        if (text[i] == '\n') {
            sb_printf(b, "↵%s\n    │ %s", off, on);
            continue;
        }
        if (text[i] == '\r')
            continue;
        sb_putn(b, text + i, 1);
    }
}

/* Render a merged diff view; without --full only the first `head` and the last `tail` bytes
 * are shown, however long the passage and its segments (a megabyte line is one segment):
 * a segment crossing a cut is cut too, at a character boundary, keeping its colour or
 * marker around the part shown. */
static void sb_segments(sbuf_t *b, const style_t *st, const char *st_text, const char *su_text,
                        const segs_t *sg)
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
    sb_puts(b, "    │ ");
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
            sb_puts(b, on);
            put_text(b, text, g->b, e1, st->color ? on : "", st->color ? off : "");
            sb_puts(b, off);
        }
        if (pos + len > cut_b && pos <= cut_b) /* the cut starts in this segment */
            sb_printf(b, "%s … (%zu bytes not shown; --full shows all) … %s",
                      st->color ? "\033[2m" : "", cut_e - cut_b, st->color ? "\033[0m" : "");
        if (b2 < g->e) {
            sb_puts(b, on);
            put_text(b, text, b2, g->e, st->color ? on : "", st->color ? off : "");
            sb_puts(b, off);
        }
        pos += len;
    }
    sb_puts(b, "\n");
}

/* "    also in N other documents: a (95%), b, ... and M more" */
static void sb_also_text(sbuf_t *b, const ty_source_t *s, size_t nt)
{
    if (!s->also_total)
        return;
    sb_printf(b, "    also in %zu other document%s%s", s->also_total, s->also_total == 1 ? "" : "s",
              s->nalso ? ": " : "");
    for (size_t i = 0; i < s->nalso; i++) {
        const ty_holder_t *h = &s->also[i];
        sb_printf(b, "%s%s", i ? ", " : "", h->name);
        if (h->covered && nt)
            sb_printf(b, " (%.0f%%)", 100.0 * (double)h->covered / (double)nt);
    }
    if (s->nalso && s->also_total > s->nalso)
        sb_printf(b, ", ... and %zu more", s->also_total - s->nalso);
    sb_puts(b, "\n");
}

void sb_report_text(sbuf_t *b, const style_t *st, const ty_doc_t *src, const ty_doc_t *sus,
                    const ty_passage_t *p, size_t n, const ty_aligner_t *al,
                    const ty_source_t *from)
{
    const char *B = st->color ? "\033[1m" : "", *R = st->color ? "\033[0m" : "";
    const char *C1 = st->color ? "\033[36m" : "", *C2 = st->color ? "\033[33m" : "";
    size_t nt = ty_doc_ntokens(sus), cov = ty_passages_coverage(p, n);
    if (!n) {
        sb_printf(b, "%s%s%s: no reuse of %s found (%zu characters compared)\n", B,
                  ty_doc_name(sus), R, ty_doc_name(src), nt);
        sb_about(b, "source ", src);
        sb_about(b, "suspect", sus);
        return;
    }
    sb_printf(b,
              "%s%s%s: %.0f%% of its text (%zu of %zu characters compared) comes from %s%s%s "
              "in %zu passage%s\n",
              B, ty_doc_name(sus), R, nt ? 100.0 * (double)cov / (double)nt : 0.0, cov, nt, B,
              ty_doc_name(src), R, n, n == 1 ? "" : "s");
    if (from)
        sb_also_text(b, from, nt);
    sb_about(b, "source ", src);
    sb_about(b, "suspect", sus);
    const char *st_text = ty_doc_text(src, NULL), *su_text = ty_doc_text(sus, NULL);
    for (size_t x = 0; x < n; x++) {
        const ty_passage_t *q = &p[x];
        const ty_match_t *r = NULL;
        size_t nr = 0, pieces = 1;
        if (ty_compare_runs(al, from ? from->aligned_at[x] : x, &r, &nr) != TY_OK)
            nr = 0;
        for (size_t i = 1; i < nr; i++) /* the source jumps back: sentences were reordered */
            pieces += r[i].src_tok < r[i - 1].src_tok;
        sb_printf(b, "\n%spassage %zu%s  score %.2f, %zu characters matched", B, x + 1, R, q->score,
                  q->matched);
        if (pieces > 1)
            sb_printf(b, ", in %zu pieces reordered from the source\n", pieces);
        else
            sb_puts(b, " in order\n");
        sb_printf(b, "  %ssource%s  %s  characters %zu-%zu", C1, R, ty_doc_name(src), q->src_off,
                  q->src_off + q->src_len);
        sb_where(b, src, q->src_off, q->src_len, q->src_byte_off, q->src_byte_len);
        sb_printf(b, "\n  %ssuspect%s %s  characters %zu-%zu", C2, R, ty_doc_name(sus), q->sus_off,
                  q->sus_off + q->sus_len);
        sb_where(b, sus, q->sus_off, q->sus_len, q->sus_byte_off, q->sus_byte_len);
        sb_puts(b, "\n");
        segs_t sg = {0};
        diff_merged(src, sus, q, r, nr, &sg);
        sb_segments(b, st, st_text, su_text, &sg);
        free(sg.a);
    }
}

static void fmt_time(char *b, size_t n, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(b, n, "--:--");
    else if (s < 3600)
        snprintf(b, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(b, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

void cli_progress(uint64_t pos, uint64_t size, double secs, char bar[40], char el[16], char eta[32])
{
    bar[0] = eta[0] = 0;
    fmt_time(el, 16, secs);
    if (!size)
        return;
    double f = (double)pos / (double)size;
    if (f > 1)
        f = 1;
    int w = 20, fill = (int)(f * w + 0.5);
    bar[0] = '[';
    for (int i = 0; i < w; i++)
        bar[1 + i] = i < fill ? '#' : '.';
    snprintf(bar + 1 + w, 40 - 1 - (size_t)w, "] %3.0f%% ", 100 * f);
    char e[16];
    fmt_time(e, sizeof e, f > 0.001 ? secs * (1 - f) / f : -1);
    snprintf(eta, 32, "  ETA %s", e);
}

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int parse_format(const char *v, int *jsonl)
{
    if (strcmp(v, "jsonl") == 0 || strcmp(v, "text") == 0) {
        *jsonl = v[0] == 'j';
        return 0;
    }
    fprintf(stderr, "tongyuan: --format wants 'text' or 'jsonl', not '%s'\n", v);
    return -1;
}

void cli_put_tsv(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\t')
            fputs("\\t", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            putc(c, f);
    }
}

const char *cli_msg_at(const char *msg, const char *name, const char *path)
{
    static _Thread_local char buf[1024];
    size_t n = strlen(name);
    if (!path || strcmp(name, path) == 0 || strncmp(msg, name, n) != 0 || msg[n] != ':')
        return msg;
    snprintf(buf, sizeof buf, "%s%s", path, msg + n);
    return buf;
}

void cli_dedup_summary(const ty_dedup_stats_t *st, size_t skipped, double secs, size_t docs,
                       uint64_t bytes)
{
    double t = secs > 1e-6 ? secs : 1e-6;
    size_t ok = st->docs - st->errors;
    fprintf(stderr,
            "dedup: %zu documents, %zu clusters, %zu removed (%.2f%%), %zu skipped; "
            "%.1f s, %.0f docs/s, %.1f MB/s\n",
            ok, st->clusters, st->removed, ok ? 100.0 * (double)st->removed / (double)ok : 0.0,
            skipped, secs, (double)docs / t, (double)bytes / 1e6 / t);
}

void print_formats_help(FILE *f, int corpus)
{
    fputs("Formats, from the content (the name's extension as a hint; --input-format forces\n"
          "one): text in UTF-8 or another charset (GB18030/GBK, Big5, UTF-16 with or without\n"
          "BOM, Shift_JIS, EUC-KR ...: detected, or --encoding); HTML (.html .htm: the\n"
          "article's text and title, without menus, navigation and footers); Word .docx and\n"
          "OpenDocument .odt (paragraphs, tables, footnotes); PDF (text in reading order,\n"
          "pages kept: reports say \"page 3\").\n",
          f);
    if (corpus)
        fputs("WARC and WET crawls (.warc, .warc.gz): one document per HTML or text record,\n"
              "named by its URI. An extracted file without text is skipped with a warning\n"
              "and counted.\n",
              f);
    fputs("Offsets are into the decoded or extracted text (tongyuan extract FILE prints it);\n"
          "for text in another charset, *_file_off/*_file_len give bytes of the original.\n",
          f);
}

void cli_reader_from_opts(ty_reader_opts_t *ro, const ty_opts_t *o)
{
    ro->format = o->input_format;
    ro->encoding = o->encoding;
    ro->utf8_mode = o->utf8_mode;
}
