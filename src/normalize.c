/*
 * normalize.c — from UTF-8 bytes to comparison tokens.
 *
 * Each code point is decoded (strictly validated), looked up in a table generated at build
 * time from utf8proc and OpenCC (tools/mknormtab.c: NFKC, case fold, Traditional→Simplified)
 * and then either dropped (space, punctuation, symbol), made a token of its own (Han and the
 * other scripts without word spaces) or appended to the current letter/digit run. Every token
 * records the code-point and byte span it came from, so results point into the original file.
 *
 * Shortcut taken on purpose: code points outside the BMP (rare: CJK extension B+, emoji) are
 * normalized by utf8proc at run time, without the Traditional→Simplified step.
 */
#include <string.h>

#include "classify.h"
#include "internal.h"

#include "normtab.inc"

#define TY_WORD_BIT 0x80000000u

/* Table value (class << 24 | code point) for any code point. */
static uint32_t lookup(uint32_t c)
{
    if (c < 0x10000)
        return ty_normtab[c];
    utf8proc_int32_t buf[8];
    utf8proc_ssize_t n = ty_norm_seq(c, buf, 8);
    if (n < 0)
        return 0;
    if (n == 0)
        return (uint32_t)TY_CLS_IGNORE << 24;
    if (n > 1)
        return ((uint32_t)TY_CLS_EXPAND << 24) | (uint32_t)buf[0];
    if (buf[0] < 0x10000) /* e.g. compatibility ideographs: finish with the table (T→S) */
        return ty_normtab[buf[0]];
    int cls = ty_classify((uint32_t)buf[0]);
    return cls == TY_CLS_DROP ? 0 : ((uint32_t)cls << 24) | (uint32_t)buf[0];
}

uint32_t ty_normalize_cp(uint32_t c)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    uint32_t v = lookup(c);
    if ((v >> 24) == TY_CLS_EXPAND) { /* the first code point of the expansion that counts */
        utf8proc_int32_t buf[32];
        utf8proc_ssize_t m = ty_norm_seq(c, buf, 32);
        for (utf8proc_ssize_t j = 0; j < m; j++) {
            uint32_t w = lookup((uint32_t)buf[j]);
            if ((w >> 24) != TY_CLS_DROP && (w >> 24) != TY_CLS_IGNORE)
                return w & 0x1FFFFF;
        }
        return 0;
    }
    return (v >> 24) == TY_CLS_IGNORE ? 0 : v & 0x1FFFFF;
}

typedef struct {
    ty_doc_t *d;
    int in_word;
    uint64_t wh; /* running hash of the current word */
} tk_t;

static int grow_to(ty_doc_t *d, size_t need)
{
    size_t m = d->mtok ? d->mtok * 2 : 1024;
    if (m < need) /* need is a bound already (the CJK run's): not rounded up again */
        m = need;
    uint32_t **arrs[] = TY__DOC_TOKEN_ARRAYS(d);
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
        uint32_t *p = realloc(*arrs[i], m * sizeof(uint32_t));
        if (!p)
            return TY_ENOMEM;
        *arrs[i] = p;
    }
    d->mtok = m;
    return TY_OK;
}

static int grow(ty_doc_t *d) { return grow_to(d, 0); }

static inline uint32_t word_id(uint64_t h) { return (uint32_t)(ty__mix64(h) >> 33) | TY_WORD_BIT; }

static inline void end_word(tk_t *t)
{
    if (t->in_word) {
        t->d->tok[t->d->ntok - 1] = word_id(t->wh);
        t->in_word = 0;
    }
}

/* Feed one normalized table value v for the character at (cpo, bo, blen). */
static inline int feed(tk_t *t, uint32_t v, uint32_t cpo, uint32_t bo, uint32_t blen)
{
    ty_doc_t *d = t->d;
    uint32_t cls = v >> 24, c = v & 0x1FFFFF;
    if (cls == TY_CLS_IGNORE) { /* a mark inside a word belongs to it */
        if (t->in_word) {
            d->cp_end[d->ntok - 1] = cpo + 1;
            d->byte_end[d->ntok - 1] = bo + blen;
        }
        return TY_OK;
    }
    if (cls == TY_CLS_DROP) {
        end_word(t);
        return TY_OK;
    }
    if (cls == TY_CLS_WORD && t->in_word) { /* extend the current run */
        t->wh = (t->wh + c) * 0x9E3779B97F4A7C15ULL;
        d->cp_end[d->ntok - 1] = cpo + 1;
        d->byte_end[d->ntok - 1] = bo + blen;
        return TY_OK;
    }
    end_word(t);
    if (d->ntok == d->mtok && grow(d))
        return TY_ENOMEM;
    size_t i = d->ntok++;
    d->cp_off[i] = cpo;
    d->cp_end[i] = cpo + 1;
    d->byte_off[i] = bo;
    d->byte_end[i] = bo + blen;
    if (cls == TY_CLS_WORD) {
        t->in_word = 1;
        t->wh = (0x51ED270B27A8ULL + c) * 0x9E3779B97F4A7C15ULL;
        d->tok[i] = 0; /* set by end_word() */
    } else {
        d->tok[i] = c;
    }
    return TY_OK;
}

int ty__tokenize(ty_doc_t *d, const ty_opts_t *o)
{
    const unsigned char *s = (const unsigned char *)d->text;
    size_t n = d->len, i = 0;
    uint32_t ncp = 0;
    tk_t t = {d, 0, 0};
    d->ntok = 0;
    while (i < n) {
        uint32_t c, v;
        size_t l;
        unsigned b = s[i];
        if ((b & 0xF0) == 0xE0 && !t.in_word) {
            /* A run of 3-byte characters (Chinese text between ASCII): a tight loop that
             * writes every character's token and advances the count only for those kept, so
             * that CJK punctuation in the run costs no branch misprediction. Every character
             * is looked up in the table: measured, that is faster than a Han bitmap in front
             * of it (whose test mispredicts at each punctuation mark). It leaves at
             * anything else (ASCII, other lengths, invalid bytes, characters that are not
             * Han-like or punctuation), which the general path below then handles. */
            size_t room = d->ntok + (n - i) / 3 + 1;
            if (room > d->mtok && grow_to(d, room))
                return ty__err(d->err, TY_ENOMEM, "%s: out of memory", d->name);
            uint32_t *tok = d->tok, *co = d->cp_off, *ce = d->cp_end, *bo = d->byte_off,
                     *be = d->byte_end;
            size_t nt = d->ntok;
            while (i + 2 < n) {
                unsigned b0 = s[i];
                if ((b0 & 0xF0) != 0xE0 ||
                    ((s[i + 1] & 0xC0u) | ((s[i + 2] & 0xC0u) << 8)) != 0x8080u)
                    break;
                uint32_t cc = ((b0 & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
                if (cc < 0x800 || (cc & 0xF800) == 0xD800)
                    break;
                uint32_t vv = ty_normtab16[cc];
                if (vv == 1)
                    break; /* a word character, an expansion or an ignorable: general path */
                uint32_t k = vv != 0;
                tok[nt] = vv;
                co[nt] = ncp;
                ce[nt] = ncp + 1;
                bo[nt] = (uint32_t)i;
                be[nt] = (uint32_t)(i + 3);
                nt += k; /* 1 keeps the token, 0 (dropped) lets the next one overwrite it */
                i += 3;
                ncp++;
            }
            d->ntok = nt;
            if (i >= n)
                break;
            b = s[i];
        }
        if (b < 0x80) {
            /* ASCII: a space or punctuation ends the word; a letter or digit that starts a
             * word takes the whole ASCII run of them in one loop (the word stays open, so a
             * following accented or full-width letter still extends it). Anything else
             * (controls, marks) goes the general way. */
            uint32_t va = ty_normtab[b], ka = va >> 24;
            if (ka == TY_CLS_DROP) {
                end_word(&t);
                i++;
                ncp++;
                continue;
            }
            if (ka == TY_CLS_WORD && !t.in_word && (d->ntok < d->mtok || !grow(d))) {
                uint64_t wh = (0x51ED270B27A8ULL + (va & 0x1FFFFF)) * 0x9E3779B97F4A7C15ULL;
                size_t j = i + 1;
                while (j < n && s[j] < 0x80) {
                    uint32_t w = ty_normtab[s[j]];
                    if ((w >> 24) != TY_CLS_WORD)
                        break;
                    wh = (wh + (w & 0x1FFFFF)) * 0x9E3779B97F4A7C15ULL;
                    j++;
                }
                size_t k = d->ntok++;
                d->tok[k] = 0; /* set by end_word() */
                d->cp_off[k] = ncp;
                d->cp_end[k] = ncp + (uint32_t)(j - i);
                d->byte_off[k] = (uint32_t)i;
                d->byte_end[k] = (uint32_t)j;
                t.in_word = 1;
                t.wh = wh;
                ncp += (uint32_t)(j - i);
                i = j;
                continue;
            }
            c = b;
            l = 1;
        } else if ((b & 0xF0) == 0xE0 && i + 2 < n &&
                   ((s[i + 1] & 0xC0u) | ((s[i + 2] & 0xC0u) << 8)) == 0x8080u &&
                   (c = ((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu)) >=
                       0x800 &&
                   (c & 0xF800) != 0xD800) {
            l = 3; /* the common case in Chinese text: a valid 3-byte sequence */
        } else {
            l = (size_t)ty__utf8_decode(s + i, n - i, &c);
            if (l == 0) {
                if (o->utf8_mode == TY_UTF8_STRICT) {
                    size_t line, col;
                    ty__line_col(d->text, i, &line, &col);
                    return ty__err(d->err, TY_EUTF8,
                                   "%s: invalid UTF-8 at line %zu, column %zu (byte %zu: 0x%02x)",
                                   d->name, line, col, i, s[i]);
                }
                end_word(&t); /* U+FFFD stand-in: one code point, not compared */
                i++;
                ncp++;
                continue;
            }
        }
        v = c < 0x10000 ? ty_normtab[c] : lookup(c);
        uint32_t cls = v >> 24;
        if (cls == TY_CLS_CHAR && d->ntok < d->mtok) {
            /* a CJK character: its own token */
            end_word(&t);
            size_t k = d->ntok++;
            d->tok[k] = v & 0x1FFFFF;
            d->cp_off[k] = ncp;
            d->cp_end[k] = ncp + 1;
            d->byte_off[k] = (uint32_t)i;
            d->byte_end[k] = (uint32_t)(i + l);
        } else if (cls == TY_CLS_DROP) {
            end_word(&t);
        } else if (cls == TY_CLS_IGNORE) {
            /* no token; a mark inside a word belongs to it, and the word goes on */
            if (t.in_word) {
                d->cp_end[d->ntok - 1] = ncp + 1;
                d->byte_end[d->ntok - 1] = (uint32_t)(i + l);
            }
        } else if (cls == TY_CLS_WORD && t.in_word) {
            t.wh = (t.wh + (v & 0x1FFFFF)) * 0x9E3779B97F4A7C15ULL;
            d->cp_end[d->ntok - 1] = ncp + 1;
            d->byte_end[d->ntok - 1] = (uint32_t)(i + l);
        } else if (cls == TY_CLS_EXPAND) {
            utf8proc_int32_t buf[32];
            utf8proc_ssize_t m = ty_norm_seq(c, buf, 32);
            for (utf8proc_ssize_t j = 0; j < m && j < 32; j++) {
                uint32_t w = lookup((uint32_t)buf[j]);
                if ((w >> 24) == TY_CLS_EXPAND) /* does not happen with Unicode data; be safe */
                    w = ((uint32_t)TY_CLS_WORD << 24) | (w & 0x1FFFFF);
                if (feed(&t, w, ncp, (uint32_t)i, (uint32_t)l))
                    return ty__err(d->err, TY_ENOMEM, "%s: out of memory", d->name);
            }
        } else if (feed(&t, v, ncp, (uint32_t)i, (uint32_t)l)) {
            return ty__err(d->err, TY_ENOMEM, "%s: out of memory", d->name);
        }
        i += l;
        ncp++;
    }
    end_word(&t);
    d->ncp = ncp;
    return TY_OK;
}
