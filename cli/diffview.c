/*
 * diffview.c — display segments of a passage from its exact runs (see diffview.h).
 *
 * The runs come from the aligner's chains: inside a passage, what lies between two
 * consecutive colinear runs was changed (both sides have tokens there), inserted (only the
 * suspect) or deleted (only the source). A run that jumps back in the source (shuffled
 * sentences) just starts a new stretch: what the suspect has before it is shown as inserted.
 */
#include "diffview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push(segs_t *s, int kind, int side, size_t b, size_t e)
{
    if (e <= b)
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
            fputs("tongyuan: out of memory\n", stderr);
            exit(2);
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

void diff_merged(const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p,
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

void diff_side(const ty_doc_t *d, int side, const ty_passage_t *p, const ty_match_t *r, size_t nr,
               segs_t *out)
{
    size_t tb = side ? p->sus_tok_beg : p->src_tok_beg;
    size_t te = side ? p->sus_tok_end : p->src_tok_end;
    size_t bb = side ? p->sus_byte_off : p->src_byte_off;
    size_t be = bb + (side ? p->sus_byte_len : p->src_byte_len);
    int other = side ? SEG_INS : SEG_DEL;
    size_t n = te > tb ? te - tb : 0;
    unsigned char *same = calloc(n ? n : 1, 1);
    if (!same) {
        fputs("tongyuan: out of memory\n", stderr);
        exit(2);
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
