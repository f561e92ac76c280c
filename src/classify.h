/*
 * classify.h — which characters are compared, and how (private; shared by the tokenizer and
 * the build-time table generator tools/mknormtab.c).
 *
 * Han and the other scripts written without spaces between words make one token per
 * character: a spinner swaps words, so matching must survive at character grain. Letters
 * and digits of space-separated scripts make one token per run (a word). Everything else —
 * spaces, punctuation, symbols, controls — is dropped from the comparison stream, because
 * spinners rewrite punctuation (，→,) and layout freely.
 */
#ifndef TY_CLASSIFY_H
#define TY_CLASSIFY_H

#include <stdint.h>
#include <utf8proc.h>

/* DROP ends a word and makes no token; IGNORE (combining marks, soft hyphen, zero-width
 * characters) makes no token and does not end a word, so "in\u00ADformation" and
 * "cafe\u0301" read as "information" and "cafe". */
enum { TY_CLS_DROP = 0, TY_CLS_CHAR = 1, TY_CLS_WORD = 2, TY_CLS_EXPAND = 3, TY_CLS_IGNORE = 4 };

/* The normalization every character goes through: NFKD with case folding, combining marks
 * stripped (accents don't make text different for reuse), then recomposed (NFKC), so
 * Hangul syllables stay one code point. Writes at most cap code points to buf; returns how
 * many (0: the character is ignorable), or < 0 on error. */
static inline utf8proc_ssize_t ty_norm_seq(uint32_t c, utf8proc_int32_t *buf, utf8proc_ssize_t cap)
{
    utf8proc_ssize_t n =
        utf8proc_decompose_char((utf8proc_int32_t)c, buf, cap,
                                UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
                                    UTF8PROC_IGNORE | UTF8PROC_STRIPMARK,
                                NULL);
    if (n > cap)
        return -1;
    if (n > 1)
        n = utf8proc_normalize_utf32(buf, n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    return n;
}

static inline int ty_is_han(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F) || c == 0x3007;
}

/* Scripts without spaces between words: one token per character. */
static inline int ty_is_char_script(uint32_t c)
{
    return ty_is_han(c) || (c >= 0x3040 && c <= 0x30FF) || /* hiragana, katakana */
           (c >= 0x31F0 && c <= 0x31FF) ||                 /* katakana extensions */
           (c >= 0xAC00 && c <= 0xD7AF) ||                 /* Hangul syllables */
           (c >= 0x1100 && c <= 0x11FF) ||                 /* Hangul jamo */
           (c >= 0xA000 && c <= 0xA4CF) ||                 /* Yi */
           (c >= 0x0E00 && c <= 0x0EFF) ||                 /* Thai, Lao */
           (c >= 0x1000 && c <= 0x109F) ||                 /* Myanmar */
           (c >= 0x1780 && c <= 0x17FF);                   /* Khmer */
}

static inline int ty_classify(uint32_t c)
{
    if (c > 0x10FFFF)
        return TY_CLS_DROP;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return ty_is_char_script(c) ? TY_CLS_CHAR : TY_CLS_WORD;
    default: return ty_is_han(c) ? TY_CLS_CHAR : TY_CLS_DROP; /* unassigned Han-range code points */
    }
}

#endif
