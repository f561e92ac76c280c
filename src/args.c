/*
 * args.c — the command-line options the front ends share (the `tongyuan` commands and
 * tongyuan-serve): "--name=value" / "--name value", numbers in a range, the alignment and
 * input options of ty_opts_t, and their help text. Messages are returned, never printed:
 * the front end prefixes and prints them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tongyuan.h"

int ty_arg_long(const char *opt, const char *s, long lo, long hi, long *out, char *msg,
                size_t msg_size)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < lo || v > hi) {
        snprintf(msg, msg_size, "%s wants a whole number from %ld to %ld, not '%s'", opt, lo, hi,
                 s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int ty_arg_double(const char *opt, const char *s, double lo, double hi, double *out, char *msg,
                  size_t msg_size)
{
    char *end;
    errno = 0;
    double v = strtod(s ? s : "", &end);
    if (!s || !*s || *end || errno || !(v >= lo && v <= hi)) {
        snprintf(msg, msg_size, "%s wants a number from %g to %g, not '%s'", opt, lo, hi,
                 s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

const char *ty_arg_value(int argc, char **argv, int *i, const char *name, const char *short_name,
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

int ty_opts_arg(int argc, char **argv, int *i, ty_opts_t *o, char *msg, size_t msg_size)
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
        const char *v = ty_arg_value(argc, argv, i, T[t].name, NULL, &missing);
        if (missing) {
            snprintf(msg, msg_size, "%s needs a value", T[t].name);
            return -1;
        }
        if (!v)
            continue;
        char *field = (char *)o + T[t].off;
        if (T[t].type == 1) {
            double d;
            if (ty_arg_double(T[t].name, v, (double)T[t].lo, (double)T[t].hi, &d, msg, msg_size))
                return -1;
            memcpy(field, &d, sizeof d);
        } else {
            long l;
            if (ty_arg_long(T[t].name, v, T[t].lo, T[t].hi, &l, msg, msg_size))
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
    const char *v = ty_arg_value(argc, argv, i, "--input-format", NULL, &missing);
    if (!missing && v) {
        if (ty_format_parse(v, &o->input_format) != TY_OK) {
            snprintf(msg, msg_size,
                     "--input-format wants auto, text, html, docx, odt, pdf, warc or "
                     "jsonl, not '%s'",
                     v);
            return -1;
        }
        return 1;
    }
    if (!missing && (v = ty_arg_value(argc, argv, i, "--encoding", NULL, &missing)) != NULL) {
        o->encoding = v; /* checked by ty_opts_check */
        return 1;
    }
    if (missing) {
        snprintf(msg, msg_size, "%s needs a value", argv[*i]);
        return -1;
    }
    v = ty_arg_value(argc, argv, i, "--invalid-utf8", NULL, &missing);
    if (missing) {
        snprintf(msg, msg_size, "--invalid-utf8 needs a value (error or replace)");
        return -1;
    }
    if (v) {
        if (strcmp(v, "error") == 0)
            o->utf8_mode = TY_UTF8_STRICT;
        else if (strcmp(v, "replace") == 0)
            o->utf8_mode = TY_UTF8_REPLACE;
        else {
            snprintf(msg, msg_size, "--invalid-utf8 wants 'error' or 'replace', not '%s'", v);
            return -1;
        }
        return 1;
    }
    return 0;
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
