/*
 * args.c — the command-line options of the front ends (the `tongyuan` commands and
 * tongyuan-serve): one parser, ty_args_parse(), over a table each command declares
 * (ty_argdef_t: name, kind, where the value goes, its range), so that "--name=value" and
 * "--name value", "--", the range checks, the messages and the suggestion of the closest
 * option are written once; and the library's own options (ty_opts_t, ty_reader_opts_t) as
 * tables, with their help text. Messages are returned, never printed: the front end
 * prefixes them with its command and prints them.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "internal.h"

/* ---- one value -------------------------------------------------------------------------- */

static void put_int(void *dst, size_t size, long long v)
{
    if (size == 1) {
        signed char x = (signed char)v;
        memcpy(dst, &x, 1);
    } else if (size == 2) {
        short x = (short)v;
        memcpy(dst, &x, 2);
    } else if (size == 4) {
        int32_t x = (int32_t)(uint32_t)(unsigned long long)v;
        memcpy(dst, &x, 4);
    } else {
        int64_t x = (int64_t)v;
        memcpy(dst, &x, 8);
    }
}

/* "a|b|c" as "a, b or c" */
static void choices_text(const char *c, char *out, size_t n)
{
    size_t o = 0, bars = 0;
    for (const char *p = c; *p; p++)
        bars += *p == '|';
    for (const char *p = c; *p && o + 5 < n; p++) {
        if (*p != '|') {
            out[o++] = *p;
            continue;
        }
        const char *sep = --bars ? ", " : " or ";
        for (; *sep && o + 1 < n; sep++)
            out[o++] = *sep;
    }
    out[o] = 0;
}

/* the index of v among the '|'-separated names of c, or -1 */
static int choice_index(const char *c, const char *v)
{
    size_t vl = strlen(v);
    for (int i = 0; *c; i++) {
        const char *e = strchr(c, '|');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == vl && strncmp(c, v, l) == 0)
            return i;
        if (!e)
            break;
        c = e + 1;
    }
    return -1;
}

static int parse_bytes(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10), mul = 1;
    if (end != s && (*end == 'k' || *end == 'K'))
        mul = 1ULL << 10, end++;
    else if (end != s && (*end == 'm' || *end == 'M'))
        mul = 1ULL << 20, end++;
    else if (end != s && (*end == 'g' || *end == 'G'))
        mul = 1ULL << 30, end++;
    if (end == s || *end || errno || s[0] == '-' || v == 0 || v > (SIZE_MAX >> 2) / mul)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

/* the value v of option d (named as given: opt) into d->dst: TY_OK or TY_EINVAL */
static int set_value(const ty_argdef_t *d, const char *opt, const char *v, char *msg,
                     size_t msg_size)
{
    char *end;
    errno = 0;
    switch (d->kind) {
    case TY_ARGK_INT:
    case TY_ARGK_MB: {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || (double)x < d->lo || (double)x > d->hi) {
            snprintf(msg, msg_size, "%s: expected a whole number%s between %lld and %lld, got '%s'",
                     opt, d->kind == TY_ARGK_MB ? " of megabytes" : "", (long long)d->lo,
                     (long long)d->hi, v);
            return TY_EINVAL;
        }
        put_int(d->dst, d->size, d->kind == TY_ARGK_MB ? x << 20 : x);
        return TY_OK;
    }
    case TY_ARGK_BYTES: {
        size_t x;
        if (parse_bytes(v, &x) != 0) {
            snprintf(msg, msg_size, "%s: expected a size in bytes (e.g. 8M), got '%s'", opt, v);
            return TY_EINVAL;
        }
        put_int(d->dst, d->size, (long long)x);
        return TY_OK;
    }
    case TY_ARGK_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !(x >= d->lo && x <= d->hi)) {
            snprintf(msg, msg_size, "%s: expected a number between %g and %g, got '%s'", opt, d->lo,
                     d->hi, v);
            return TY_EINVAL;
        }
        memcpy(d->dst, &x, sizeof x);
        return TY_OK;
    }
    case TY_ARGK_STRING:
        if (d->set && !*v) {
            snprintf(msg, msg_size, "%s: needs a value, got ''", opt);
            return TY_EINVAL;
        }
        memcpy(d->dst, &v, sizeof v);
        return TY_OK;
    case TY_ARGK_ENUM: {
        int k = choice_index(d->choices, v);
        if (k < 0) {
            char c[200];
            choices_text(d->choices, c, sizeof c);
            snprintf(msg, msg_size, "%s: expected %s, got '%s'", opt, c, v);
            return TY_EINVAL;
        }
        put_int(d->dst, d->size, d->values ? d->values[k] : k);
        return TY_OK;
    }
    case TY_ARGK_CALL: {
        char m[200] = "";
        if (d->fn(d->dst, v, m, sizeof m) == 0)
            return TY_OK;
        snprintf(msg, msg_size, "%s: %s", opt, m);
        return TY_EINVAL;
    }
    default: return TY_EINVAL;
    }
}

/* ---- the table ---------------------------------------------------------------------------- */

/* the entry of defs (or a sub-table) that argument a names: *inline_v is the value after '='
 * in "--name=value" (NULL when there is none) */
static const ty_argdef_t *lookup(const ty_argdef_t *defs, const char *a, const char **inline_v)
{
    for (const ty_argdef_t *d = defs; d->kind != TY_ARGK_END; d++) {
        if (d->kind == TY_ARGK_TABLE) {
            const ty_argdef_t *r = lookup(d->dst, a, inline_v);
            if (r)
                return r;
            continue;
        }
        size_t l = strlen(d->name);
        if (strncmp(a, d->name, l) == 0 && (a[l] == 0 || a[l] == '=')) {
            *inline_v = a[l] ? a + l + 1 : NULL;
            return d;
        }
        if (d->alias && strcmp(a, d->alias) == 0) {
            *inline_v = NULL;
            return d;
        }
    }
    return NULL;
}

const ty_argdef_t *ty_args_find(const ty_argdef_t *defs, const char *name)
{
    const char *v;
    const ty_argdef_t *d = lookup(defs, name, &v);
    return d && !v ? d : NULL;
}

/* edit distance of a[0..n) and b (insert, delete, replace, swap of neighbours) */
static size_t distance(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    size_t D[64][64];
    for (size_t i = 0; i <= n; i++)
        D[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        D[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t c = D[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (D[i - 1][j] + 1 < c)
                c = D[i - 1][j] + 1;
            if (D[i][j - 1] + 1 < c)
                c = D[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                D[i - 2][j - 2] + 1 < c)
                c = D[i - 2][j - 2] + 1;
            D[i][j] = c;
        }
    return D[n][m];
}

/* the known name closest to a[0..n): the nearest by edit distance, if at most a third of
 * its length (and 3) away, or the one name a is the start of */
static void closest(const ty_argdef_t *defs, const char *a, size_t n, const char **best, size_t *bd)
{
    for (const ty_argdef_t *d = defs; d->kind != TY_ARGK_END; d++) {
        if (d->kind == TY_ARGK_TABLE) {
            closest(d->dst, a, n, best, bd);
            continue;
        }
        size_t l = strlen(d->name);
        size_t e = n >= 3 && n < l && strncmp(a, d->name, n) == 0 ? 1 : distance(a, n, d->name);
        if (e < *bd && e <= 3 && e * 3 <= l) {
            *best = d->name;
            *bd = e;
        }
    }
}

int ty_args_parse(const ty_argdef_t *defs, int argc, char **argv, const char **pos, int *npos,
                  char *msg, size_t msg_size)
{
    int opts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (opts && strcmp(a, "--") == 0) {
            opts = 0;
            continue;
        }
        if (!opts || a[0] != '-' || a[1] == 0) {
            if (!pos) {
                snprintf(msg, msg_size, "unexpected argument '%s'", a);
                return TY_EINVAL;
            }
            pos[(*npos)++] = a;
            continue;
        }
        const ty_argdef_t *d = lookup(defs, a, &v);
        if (!d) {
            const char *best = NULL;
            size_t bd = 64, n = strcspn(a, "=");
            closest(defs, a, n, &best, &bd);
            if (best)
                snprintf(msg, msg_size, "unknown option '%s'; did you mean %s?", a, best);
            else
                snprintf(msg, msg_size, "unknown option '%s'", a);
            return TY_ENOTFOUND;
        }
        if (d->kind == TY_ARGK_FLAG || d->kind == TY_ARGK_STOP) {
            if (v) {
                snprintf(msg, msg_size, "%s: takes no value, got '%s'", d->name, v);
                return TY_EINVAL;
            }
            put_int(d->dst, d->size, d->set);
            if (d->kind == TY_ARGK_STOP)
                return TY_OK;
            continue;
        }
        if (!v) {
            if (i + 1 >= argc) {
                snprintf(msg, msg_size, "%s: needs a value", a);
                return TY_EINVAL;
            }
            v = argv[++i];
        }
        int rc = set_value(d, d->name, v, msg, msg_size);
        if (rc != TY_OK)
            return rc;
    }
    return TY_OK;
}

/* ---- the numeric fields of the option structs (internal.h) ------------------------------- */

static double get_num(const void *src, int kind, size_t size)
{
    if (kind == TY__OPT_DOUBLE) {
        double d;
        memcpy(&d, src, sizeof d);
        return d;
    }
    if (size == 4) {
        uint32_t u;
        memcpy(&u, src, 4);
        return kind == TY__OPT_INT ? (double)(int32_t)u : (double)u;
    }
    uint64_t u;
    memcpy(&u, src, 8);
    return kind == TY__OPT_INT ? (double)(int64_t)u : (double)u;
}

void ty__opts_reset(void *o, size_t size, ty__optrows_t r)
{
    memset(o, 0, size);
    for (size_t i = 0; i < r.n; i++) {
        char *dst = (char *)o + r.f[i].off;
        if (r.f[i].kind == TY__OPT_DOUBLE)
            memcpy(dst, &r.f[i].def, sizeof r.f[i].def);
        else
            put_int(dst, r.f[i].size, (long long)r.f[i].def);
    }
}

/* x as a whole number when it is one ("100000", not "1e+05") */
static void num_text(double x, char *out, size_t n)
{
    if (x == (double)(long long)x)
        snprintf(out, n, "%lld", (long long)x);
    else
        snprintf(out, n, "%g", x);
}

int ty__opts_verdict(const void *o, ty__optrows_t r, const char *bad, const char *encoding,
                     char *msg, size_t msg_size)
{
    char m[TY_ERRMSG_SIZE] = "";
    for (size_t i = 0; i < r.n && !*m; i++) {
        double v = get_num((const char *)o + r.f[i].off, r.f[i].kind, r.f[i].size);
        if (v >= r.f[i].lo && v <= r.f[i].hi)
            continue;
        char lo[32], hi[32];
        num_text(r.f[i].lo, lo, sizeof lo);
        num_text(r.f[i].hi, hi, sizeof hi);
        snprintf(m, sizeof m, "%s must be between %s and %s", r.f[i].field, lo, hi);
    }
    char cs[32];
    if (!*m && bad)
        snprintf(m, sizeof m, "%s", bad);
    else if (!*m && encoding && *encoding && ty__charset_canon(encoding, cs, sizeof cs) != 0)
        snprintf(m, sizeof m, "encoding '%s' is not a charset iconv knows (iconv -l lists them)",
                 encoding);
    if (!*m)
        return TY_OK;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", m);
    return TY_EINVAL;
}

size_t ty__opts_table(void *o, ty__optrows_t r, ty_argdef_t *defs)
{
    static const ty_arg_kind_t kinds[] = {[TY__OPT_INT] = TY_ARGK_INT,
                                          [TY__OPT_UINT] = TY_ARGK_INT,
                                          [TY__OPT_DOUBLE] = TY_ARGK_DOUBLE,
                                          [TY__OPT_MB] = TY_ARGK_MB};
    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (!r.f[i].flag)
            continue;
        double lo = r.f[i].lo, hi = r.f[i].hi;
        if (r.f[i].kind == TY__OPT_MB) { /* whole megabytes inside the range in bytes */
            lo = ceil(lo / (1 << 20));
            hi = floor(hi / (1 << 20));
        }
        defs[k++] =
            (ty_argdef_t)TY_ARGDEF(r.f[i].flag, NULL, kinds[r.f[i].kind], (char *)o + r.f[i].off,
                                   r.f[i].size, lo, hi, 0, NULL, NULL, NULL);
    }
    defs[k] = (ty_argdef_t)TY_ARG_END;
    return k;
}

/* ---- the library's option structs as tables ---------------------------------------------- */

static int input_format_arg(void *dst, const char *v, char *msg, size_t msg_size)
{
    if (ty_format_parse(v, dst) == TY_OK)
        return 0;
    snprintf(msg, msg_size, "expected auto, text, html, docx, odt, pdf, warc or jsonl, got '%s'",
             v);
    return -1;
}

/* ty_opts_t's numeric fields. The defaults were chosen on the development set (make eval)
 * with a sweep over k, gaps and lengths; see README "Parameters". */
#define F(field, flag, kind, lo, hi, def) TY__OPTF(ty_opts_t, field, flag, kind, lo, hi, def)
static const ty__optfield_t opts_fields[] = {
    F(k, "-k", TY__OPT_INT, 2, 16, 4),
    F(w, "-w", TY__OPT_INT, 1, 256, 1),
    F(max_occ, "--max-occ", TY__OPT_INT, 1, 1000000, 32),
    F(max_gap, "--max-gap", TY__OPT_INT, 0, 100000, 60),
    F(gap_cost, "--gap-cost", TY__OPT_DOUBLE, 0, 100, 0.4),
    F(drift_cost, "--drift-cost", TY__OPT_DOUBLE, 0, 100, 0.25),
    F(min_chain, "--min-chain", TY__OPT_INT, 0, 1000000, 12),
    F(merge_gap, "--merge-gap", TY__OPT_INT, 0, 100000, 60),
    F(min_len, "--min-len", TY__OPT_INT, 0, 100000000, 25),
    F(min_score, "--min-score", TY__OPT_DOUBLE, 0, 1, 0.25),
    F(snap, "--snap", TY__OPT_INT, 0, 1000, 12),
    F(max_doc_bytes, "--max-size", TY__OPT_MB, 1, 4294967295.0, 64 << 20),
};
#undef F
_Static_assert(sizeof opts_fields / sizeof *opts_fields + 4 <= TY_OPTS_NARGS,
               "ty_opts_args' table size");

void ty_opts_init(ty_opts_t *o)
{
    ty__opts_reset(o, sizeof *o, TY__ROWS(opts_fields));
    o->utf8_mode = TY_UTF8_STRICT;
}

int ty_opts_check(const ty_opts_t *o, char *msg, size_t msg_size)
{
    const char *bad = o->utf8_mode != TY_UTF8_STRICT && o->utf8_mode != TY_UTF8_REPLACE
                          ? "utf8_mode must be TY_UTF8_STRICT or TY_UTF8_REPLACE"
                      : o->input_format < TY_FORMAT_AUTO || o->input_format > TY_FORMAT_WARC
                          ? "input_format must be one of TY_FORMAT_*"
                          : NULL;
    return ty__opts_verdict(o, TY__ROWS(opts_fields), bad, o->encoding, msg, msg_size);
}

void ty_opts_args(ty_opts_t *o, ty_argdef_t defs[TY_OPTS_NARGS])
{
    static const int utf8[] = {TY_UTF8_STRICT, TY_UTF8_REPLACE};
    size_t n = ty__opts_table(o, TY__ROWS(opts_fields), defs);
    const ty_argdef_t rest[] = {
        TY_ARG_CALL("--input-format", &o->input_format, input_format_arg),
        TY_ARG_STRING("--encoding", NULL, o->encoding, 0), /* checked by ty_opts_check */
        TY_ARG_ENUM("--invalid-utf8", o->utf8_mode, "error|replace", utf8),
        TY_ARG_END,
    };
    memcpy(defs + n, rest, sizeof rest);
}

void ty_reader_opts_args(ty_reader_opts_t *ro, ty_argdef_t defs[TY_READER_NARGS])
{
    static const int stdin_fmt[] = {TY_STDIN_AUTO, TY_STDIN_TEXT, TY_STDIN_JSONL};
    const ty_argdef_t t[TY_READER_NARGS] = {
        TY_ARG_STRING("--text-field", NULL, ro->text_field, 0),
        TY_ARG_STRING("--id-field", NULL, ro->id_field, 0),
        TY_ARG_ENUM("--stdin-format", ro->stdin_format, "auto|text|jsonl", stdin_fmt),
        TY_ARG_END,
    };
    memcpy(defs, t, sizeof t);
}

int ty_opts_help(ty_buf_t *b)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_buf_printf(
        b,
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
    return b->err;
}
