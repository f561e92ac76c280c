/*
 * encoding.c — plain text in any charset → UTF-8: GB18030/GBK/GB2312, Big5, UTF-16/32,
 * Shift_JIS, EUC-KR and the rest iconv knows, told apart by a byte order mark, a declaration
 * (HTML <meta>, an HTTP header in a WARC record), uchardet, or a name the user forces
 * (--encoding). The decoded text keeps, for each code point, its byte offset in the original,
 * so that a report can name bytes of the file as it is on disk.
 *
 * The rules, in order (the first that applies decides):
 *   1. --encoding NAME: that charset, strictly (an invalid byte is an error naming its offset);
 *      --encoding utf-8 is the strict UTF-8 of before: the bytes go on unchanged.
 *   2. a byte order mark: UTF-8 (kept, unchanged), UTF-16LE/BE, UTF-32LE/BE.
 *   3. a declared charset: decoded strictly; bytes that do not fit it are an error that names
 *      the declaration and what the bytes look like (a lying charset is not guessed past).
 *   4. NUL bytes: UTF-16 or UTF-32 without a byte order mark when nearly every unit is a common
 *      character in one byte order; otherwise the bytes go on unchanged (a binary file: the
 *      tokenizer refuses it, naming the NUL).
 *   5. valid UTF-8: unchanged (the common case: one validation pass, no copy).
 *   6. uchardet: "UTF-8" means damaged UTF-8 — unchanged, so that the tokenizer reports the
 *      first bad byte (or replaces bad bytes with --invalid-utf8 replace) as it always did;
 *      another charset is used when there is enough evidence (16 bytes outside ASCII), it
 *      decodes strictly and the result is plausible (under 2% controls, private-use or
 *      unassigned code points).
 *   7. UTF-16 without a byte order mark and without NUL bytes (Chinese text): as in 4.
 *   8. otherwise an error suggesting --encoding — or, with --invalid-utf8 replace, the bytes
 *      unchanged.
 * uchardet 0.0.7 (Debian 12) gives no confidence figure: the evidence and plausibility
 * checks of rule 6 stand in for one.
 *
 * Offsets: iconv converts the whole text to UTF-32 in one call (fast); each code point's
 * length in the original comes from the charset's byte structure (GB18030: 1, 2 or 4 bytes;
 * Big5, GBK, EUC-KR: 1 or 2; ...), checked by the count of code points. Where that does not
 * hold (stateful charsets, Big5-HKSCS's characters that decode to two code points, charsets
 * without a rule here) the text is converted again one character at a time (about 12 MB/s).
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "extlib.h"
#include "extract.h"

/* ---- charset names ------------------------------------------------------------------------ */

static void lower_copy(const char *s, char *out, size_t outsz)
{
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '"' || s[i] == '\'')
        s++;
    for (; s[i] && i + 1 < outsz; i++) {
        char c = s[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[i] = 0;
    while (i && (out[i - 1] == ' ' || out[i - 1] == '\t' || out[i - 1] == '"' ||
                 out[i - 1] == '\'' || out[i - 1] == ';'))
        out[--i] = 0;
}

int ty__charset_canon(const char *label, char *out, size_t outsz)
{
    static const struct {
        const char *label, *name;
    } A[] = {
        {"utf-8", "UTF-8"},
        {"utf8", "UTF-8"},
        {"unicode-1-1-utf-8", "UTF-8"},
        {"gb2312", "GB18030"},
        {"gbk", "GB18030"},
        {"x-gbk", "GB18030"},
        {"gb_2312-80", "GB18030"},
        {"chinese", "GB18030"},
        {"csgb2312", "GB18030"},
        {"iso-ir-58", "GB18030"},
        {"cp936", "GB18030"},
        {"ms936", "GB18030"},
        {"windows-936", "GB18030"},
        {"euc-cn", "GB18030"},
        {"gb18030", "GB18030"},
        {"big5", "BIG5-HKSCS"},
        {"big5-hkscs", "BIG5-HKSCS"},
        {"x-x-big5", "BIG5-HKSCS"},
        {"cn-big5", "BIG5-HKSCS"},
        {"csbig5", "BIG5-HKSCS"},
        {"cp950", "CP950"},
        {"shift_jis", "CP932"},
        {"shift-jis", "CP932"},
        {"sjis", "CP932"},
        {"ms_kanji", "CP932"},
        {"windows-31j", "CP932"},
        {"x-sjis", "CP932"},
        {"cp932", "CP932"},
        {"euc-kr", "CP949"},
        {"uhc", "CP949"},
        {"ks_c_5601-1987", "CP949"},
        {"windows-949", "CP949"},
        {"cp949", "CP949"},
        {"iso-8859-1", "WINDOWS-1252"},
        {"latin1", "WINDOWS-1252"},
        {"l1", "WINDOWS-1252"},
        {"us-ascii", "WINDOWS-1252"},
        {"ascii", "WINDOWS-1252"},
        {"windows-1252", "WINDOWS-1252"},
        {"utf-16", "UTF-16"},
        {"utf-16le", "UTF-16LE"},
        {"utf-16be", "UTF-16BE"},
        {"utf-32", "UTF-32"},
        {"utf-32le", "UTF-32LE"},
        {"utf-32be", "UTF-32BE"},
    };
    char l[64];
    if (!label)
        return -1;
    lower_copy(label, l, sizeof l);
    if (!l[0])
        return -1;
    for (size_t i = 0; i < sizeof A / sizeof A[0]; i++)
        if (strcmp(l, A[i].label) == 0) {
            snprintf(out, outsz, "%s", A[i].name);
            return 0;
        }
    /* anything else iconv knows, upper-cased as iconv spells it */
    for (size_t i = 0; i < outsz && (i == 0 || l[i - 1]); i++)
        out[i] = (char)(l[i] >= 'a' && l[i] <= 'z' ? l[i] - 32 : l[i]);
    if (outsz)
        out[outsz - 1] = 0;
    iconv_t cd = iconv_open("UTF-32LE", out);
    if (cd == (iconv_t)-1)
        return -1;
    iconv_close(cd);
    return 0;
}

static int is_utf8_name(const char *cs) { return strcasecmp(cs, "UTF-8") == 0; }

/* ---- byte structure of a charset (for the offsets) ---------------------------------------- */

enum {
    CS_OTHER,
    CS_SINGLE,
    CS_GB18030,
    CS_DBCS,
    CS_SJIS,
    CS_EUCJP,
    CS_UTF16LE,
    CS_UTF16BE,
    CS_UTF32
};

static int cs_kind(const char *cs)
{
    if (!strcasecmp(cs, "GB18030"))
        return CS_GB18030;
    if (!strcasecmp(cs, "BIG5-HKSCS") || !strcasecmp(cs, "BIG5") || !strcasecmp(cs, "CP950") ||
        !strcasecmp(cs, "CP949") || !strcasecmp(cs, "UHC") || !strcasecmp(cs, "EUC-KR") ||
        !strcasecmp(cs, "GBK") || !strcasecmp(cs, "CP936") || !strcasecmp(cs, "GB2312") ||
        !strcasecmp(cs, "EUC-CN"))
        return CS_DBCS;
    if (!strcasecmp(cs, "CP932") || !strcasecmp(cs, "SHIFT_JIS") || !strcasecmp(cs, "SJIS"))
        return CS_SJIS;
    if (!strcasecmp(cs, "EUC-JP"))
        return CS_EUCJP;
    if (!strcasecmp(cs, "UTF-16LE"))
        return CS_UTF16LE;
    if (!strcasecmp(cs, "UTF-16BE"))
        return CS_UTF16BE;
    if (!strcasecmp(cs, "UTF-32LE") || !strcasecmp(cs, "UTF-32BE"))
        return CS_UTF32;
    if (!strncasecmp(cs, "ISO-8859-", 9) || !strncasecmp(cs, "WINDOWS-125", 11) ||
        !strncasecmp(cs, "KOI8-", 5) || !strcasecmp(cs, "IBM866") || !strcasecmp(cs, "CP866") ||
        !strcasecmp(cs, "TIS-620") || !strcasecmp(cs, "VISCII") || !strncasecmp(cs, "MAC-", 4) ||
        !strcasecmp(cs, "MACINTOSH"))
        return CS_SINGLE;
    return CS_OTHER;
}

/* Bytes of the character at p (left > 0 bytes) in a charset of kind k; 0 when unknown. */
static size_t char_len(int k, const unsigned char *p, size_t left)
{
    unsigned b = p[0];
    switch (k) {
    case CS_SINGLE: return 1;
    case CS_GB18030:
        if (b < 0x80)
            return 1;
        return left >= 2 && p[1] >= 0x30 && p[1] <= 0x39 ? 4 : 2;
    case CS_DBCS: return b < 0x80 ? 1 : 2;
    case CS_SJIS: return b < 0x80 || (b >= 0xA1 && b <= 0xDF) ? 1 : 2;
    case CS_EUCJP: return b < 0x80 ? 1 : b == 0x8F ? 3 : 2;
    case CS_UTF16LE: return left >= 2 && p[1] >= 0xD8 && p[1] <= 0xDB ? 4 : 2;
    case CS_UTF16BE: return b >= 0xD8 && b <= 0xDB ? 4 : 2;
    case CS_UTF32: return 4;
    default: return 0;
    }
}

/* ---- conversion --------------------------------------------------------------------------- */

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Where a strict conversion stopped, for messages. */
typedef struct {
    size_t at;  /* byte offset of the input (from the start of the whole buffer) */
    int eilseq; /* 1: a byte sequence invalid in the charset; 0: the text ends inside one */
} bad_t;

/* buf[skip, len) in charset cs → UTF-32 code points (malloc()ed) and, per code point, its
 * byte offset in buf (off[n] = len). 0, 1 with *bad (not valid in cs), or -1 (out of
 * memory). */
static int to_utf32(const char *cs, const char *buf, size_t len, size_t skip, uint32_t **cps,
                    uint32_t **offs, size_t *ncp, bad_t *bad)
{
    *cps = NULL;
    *offs = NULL;
    *ncp = 0;
    iconv_t cd = iconv_open("UTF-32LE", cs);
    if (cd == (iconv_t)-1)
        return -1;
    size_t n = len - skip, cap = n + 4; /* at most one code point a byte */
    uint32_t *u = malloc(cap * sizeof(uint32_t)), *off = NULL;
    if (!u) {
        iconv_close(cd);
        return -1;
    }
    char *in = (char *)buf + skip, *o = (char *)u;
    size_t il = n, ol = cap * sizeof(uint32_t);
    int rc = 0;
    if (iconv(cd, &in, &il, &o, &ol) == (size_t)-1) {
        bad->at = (size_t)(in - buf);
        bad->eilseq = errno != EINVAL;
        rc = errno == E2BIG ? -1 : 1;
    } else {
        o = (char *)u + (cap * sizeof(uint32_t) - ol);
        size_t fl = ol; /* a stateful charset's closing sequence */
        (void)iconv(cd, NULL, NULL, &o, &fl);
        ol = fl;
    }
    size_t m = (cap * sizeof(uint32_t) - ol) / 4;
    if (!rc) {
        off = malloc((m + 1) * sizeof(uint32_t));
        if (!off)
            rc = -1;
    }
    if (!rc) {
        /* offsets from the byte structure, checked by the count */
        int k = cs_kind(cs);
        size_t i = skip, c = 0;
        if (k != CS_OTHER) {
            while (i < len && c < m) {
                size_t l = char_len(k, (const unsigned char *)buf + i, len - i);
                off[c++] = (uint32_t)i;
                i += l;
            }
        }
        if (k == CS_OTHER || i != len || c != m) {
            /* one character at a time: feed 1, 2, ... bytes until one converts */
            iconv(cd, NULL, NULL, NULL, NULL);
            i = skip;
            c = 0;
            while (i < len && !rc) {
                uint32_t tmp[8];
                size_t got = 0, k2;
                for (k2 = 1; k2 <= 8 && i + k2 <= len; k2++) {
                    char *ip = (char *)buf + i, *op = (char *)tmp;
                    size_t il2 = k2, ol2 = sizeof tmp;
                    size_t r = iconv(cd, &ip, &il2, &op, &ol2);
                    if (r != (size_t)-1 && il2 == 0) {
                        got = (sizeof tmp - ol2) / 4;
                        break;
                    }
                    if (r == (size_t)-1 && errno != EINVAL) {
                        k2 = 9;
                        break;
                    }
                }
                if (k2 > 8 || i + k2 > len || c + got > m) {
                    rc = 1; /* cannot happen after a clean whole conversion: be safe */
                    bad->at = i;
                    bad->eilseq = 1;
                    break;
                }
                for (size_t g = 0; g < got; g++)
                    off[c++] = (uint32_t)i; /* both code points of a pair point at it */
                i += k2;
            }
            if (!rc && c != m) {
                rc = 1;
                bad->at = i;
                bad->eilseq = 1;
            }
        }
        if (!rc)
            off[m] = (uint32_t)len;
    }
    iconv_close(cd);
    if (rc) {
        free(u);
        free(off);
        return rc;
    }
    *cps = u;
    *offs = off;
    *ncp = m;
    return 0;
}

/* Share of code points no text holds: controls (but tab, line breaks, form feed), U+FFFD,
 * private use, unassigned, noncharacters. 1 if above 2% (and more than one). */
static int implausible(const uint32_t *u, size_t n, uint32_t *example)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = u[i];
        int b;
        if (c < 0x20)
            b = !(c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v');
        else if (c < 0x7F)
            b = 0;
        else if (c < 0xA0)
            b = 1;
        else if (c == 0xFFFD || (c >= 0xE000 && c <= 0xF8FF) || c >= 0xF0000 ||
                 (c & 0xFFFE) == 0xFFFE || (c >= 0xFDD0 && c <= 0xFDEF))
            b = 1;
        else
            b = utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_CN;
        if (b && !bad)
            *example = c;
        bad += (size_t)b;
    }
    return bad > 1 && bad * 50 > n;
}

/* Code points → out->text (UTF-8) and out->file_off. Takes u and off. */
static int finish(ty__text_t *out, uint32_t *u, uint32_t *off, size_t n, const char *cs)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += u[i] < 0x80 ? 1 : u[i] < 0x800 ? 2 : u[i] < 0x10000 ? 3 : 4;
    char *t = malloc(bytes + 1);
    if (!t) {
        free(u);
        free(off);
        return TY_ENOMEM;
    }
    size_t p = 0;
    for (size_t i = 0; i < n; i++)
        p += put_utf8(t + p, u[i]);
    t[p] = 0;
    free(u);
    out->text = t;
    out->len = p;
    out->file_off = off;
    out->nfile_off = n + 1;
    snprintf(out->charset, sizeof out->charset, "%s", cs);
    return TY_OK;
}

/* ---- guesses ------------------------------------------------------------------------------ */

static int common_unit(unsigned u)
{
    return (u >= 0x09 && u <= 0x0D) || (u >= 0x20 && u <= 0x7E) || (u >= 0xA0 && u <= 0x24F) ||
           (u >= 0x370 && u <= 0x4FF) || (u >= 0x2000 && u <= 0x206F) ||
           (u >= 0x3000 && u <= 0x30FF) || (u >= 0x3400 && u <= 0x4DBF) ||
           (u >= 0x4E00 && u <= 0x9FFF) || (u >= 0xAC00 && u <= 0xD7AF) ||
           (u >= 0xFF00 && u <= 0xFFEF);
}

/* UTF-16 (or UTF-32) without a byte order mark: the byte order in which at least 90% of the
 * units are common characters (and clearly more than in the other), or NULL. */
static const char *guess_utf16(const unsigned char *b, size_t len)
{
    if (len >= 8 && len % 4 == 0) {
        size_t le = 0, be = 0, n = len / 4;
        for (size_t i = 0; i < len; i += 4) {
            uint32_t l = b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 |
                         (uint32_t)b[i + 3] << 24;
            uint32_t g = b[i + 3] | (uint32_t)b[i + 2] << 8 | (uint32_t)b[i + 1] << 16 |
                         (uint32_t)b[i] << 24;
            le += l < 0x10000 && common_unit(l) && l;
            be += g < 0x10000 && common_unit(g) && g;
        }
        if (le * 10 >= n * 9 && le > be)
            return "UTF-32LE";
        if (be * 10 >= n * 9 && be > le)
            return "UTF-32BE";
    }
    if (len < 4 || len % 2)
        return NULL;
    size_t le = 0, be = 0, n = len / 2;
    for (size_t i = 0; i < len; i += 2) {
        le += common_unit(b[i] | (unsigned)b[i + 1] << 8) != 0;
        be += common_unit(b[i + 1] | (unsigned)b[i] << 8) != 0;
    }
    if (le * 10 >= n * 9 && le > be + n / 10)
        return "UTF-16LE";
    if (be * 10 >= n * 9 && be > le + n / 10)
        return "UTF-16BE";
    return NULL;
}

/* First invalid UTF-8 byte, or len when valid (the tokenizer's decoder: RFC 3629). */
size_t ty__utf8_valid_upto(const unsigned char *s, size_t len)
{
    size_t i = 0;
    uint32_t c;
    while (i < len) {
        int l = ty__utf8_decode(s + i, len - i, &c);
        if (!l)
            return i;
        i += (size_t)l;
    }
    return len;
}

/* uchardet's guess into out ("" when it has none, or uchardet cannot be loaded: then its
 * message is in why, if not NULL). */
static void detect(const char *buf, size_t len, char *out, size_t outsz, char *why)
{
    char err[TY_ERRMSG_SIZE];
    out[0] = 0;
    const ty__libuchardet_t *U = ty__lib_uchardet(err);
    if (!U) {
        if (why)
            snprintf(why, 160, "%.150s", err);
        return;
    }
    uchardet_t u = U->uchardet_new();
    if (!u)
        return;
    /* a few MB tell as much as the whole file */
    size_t n = len < (4u << 20) ? len : (4u << 20);
    if (U->uchardet_handle_data(u, buf, n) == 0) {
        U->uchardet_data_end(u);
        const char *cs = U->uchardet_get_charset(u);
        snprintf(out, outsz, "%s", cs ? cs : "");
    }
    U->uchardet_delete(u);
}

static size_t non_ascii(const unsigned char *b, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += b[i] >= 0x80;
    return n;
}

static void keep_as_is(ty__text_t *out, char *buf, size_t len)
{
    out->text = buf;
    out->len = len;
    buf[len] = 0;
    snprintf(out->charset, sizeof out->charset, "UTF-8");
}

/* Decode with cs from byte skip on; 0 done, 1 not valid in cs (*bad), 2 implausible
 * (*example), <0 error. */
static int try_charset(ty__text_t *out, const char *buf, size_t len, size_t skip, const char *cs,
                       int check, bad_t *bad, uint32_t *example)
{
    uint32_t *u, *off;
    size_t n;
    int r = to_utf32(cs, buf, len, skip, &u, &off, &n, bad);
    if (r == 1 && strcmp(cs, "BIG5-HKSCS") == 0) {
        /* Big5 with the ETEN extensions (kana, Cyrillic in C6A1-C8FE) that Taiwanese files
         * and Python's big5 codec use: CP950 reads them (as private use: the plausibility
         * check still applies); the first error reported stays HKSCS's */
        bad_t b2;
        cs = "CP950";
        r = to_utf32(cs, buf, len, skip, &u, &off, &n, &b2);
    }
    if (r < 0)
        return TY_ENOMEM;
    if (r)
        return 1;
    if (check && implausible(u, n, example)) {
        free(u);
        free(off);
        return 2;
    }
    return finish(out, u, off, n, cs) == TY_OK ? 0 : TY_ENOMEM;
}

/* try_charset with no bytes skipped, ending the decode when it settles it: buf freed, TY_OK
 * (decoded) or TY_ENOMEM (with the message); 1 or 2 (as try_charset) to try on. */
static int try_settle(ty__text_t *out, char *buf, size_t len, const char *cs, int check, bad_t *bad,
                      uint32_t *example, const char *name, char *err)
{
    int r = try_charset(out, buf, len, 0, cs, check, bad, example);
    if (r > 0)
        return r;
    free(buf);
    return r == 0 ? TY_OK : ty__err(err, TY_ENOMEM, "%s: out of memory", name);
}

static const char *plain(const char *cs)
{
    /* the names people type, for messages */
    return !strcasecmp(cs, "BIG5-HKSCS") ? "big5" : !strcasecmp(cs, "GB18030") ? "gb18030" : cs;
}

int ty__decode(ty__text_t *out, char *buf, size_t len, const ty__xopts_t *o, const char *declared,
               const char *by, char *err)
{
    const unsigned char *b = (const unsigned char *)buf;
    const char *name = o->name ? o->name : "";
    char cs[32];
    bad_t bad = {0, 0};
    uint32_t ex = 0;
    int r;
    buf[len] = 0;
    /* 1. forced */
    if (o->encoding && *o->encoding) {
        if (ty__charset_canon(o->encoding, cs, sizeof cs) != 0) {
            free(buf);
            return ty__err(err, TY_EINVAL, "encoding=%s: not a charset iconv knows", o->encoding);
        }
        if (is_utf8_name(cs)) {
            keep_as_is(out, buf, len);
            return TY_OK;
        }
        r = try_charset(out, buf, len, 0, cs, 0, &bad, &ex);
        free(buf);
        if (r == 1)
            return ty__err(err, TY_EENCODING, "%s: not valid %s (encoding) at byte %zu%s", name,
                           o->encoding, bad.at,
                           bad.eilseq ? "" : ": the text ends inside a character");
        return r == 0 ? TY_OK : ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    }
    /* 2. byte order mark */
    const char *bom = NULL;
    size_t skip = 0;
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        keep_as_is(out, buf, len);
        return TY_OK;
    }
    if (len >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0)
        bom = "UTF-32LE", skip = 4;
    else if (len >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF)
        bom = "UTF-32BE", skip = 4;
    else if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE)
        bom = "UTF-16LE", skip = 2;
    else if (len >= 2 && b[0] == 0xFE && b[1] == 0xFF)
        bom = "UTF-16BE", skip = 2;
    if (bom) {
        r = try_charset(out, buf, len, skip, bom, 0, &bad, &ex);
        free(buf);
        if (r == 1)
            return ty__err(err, TY_EENCODING, "%s: %s (byte order mark) broken at byte %zu%s", name,
                           bom, bad.at,
                           bad.eilseq ? " (an unpaired surrogate)"
                                      : ": the text ends inside a character");
        return r == 0 ? TY_OK : ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    }
    size_t valid = ty__utf8_valid_upto((const unsigned char *)b, len);
    int has_nul = memchr(buf, 0, len) != NULL;
    /* 3. declared */
    if (declared && *declared && ty__charset_canon(declared, cs, sizeof cs) == 0) {
        char seen[32] = "";
        if (is_utf8_name(cs)) {
            if (valid == len || o->utf8_mode == TY_UTF8_REPLACE) {
                keep_as_is(out, buf, len);
                return TY_OK;
            }
            bad.at = valid;
            bad.eilseq = 1;
            r = 1;
        } else {
            if ((r = try_settle(out, buf, len, cs, 0, &bad, &ex, name, err)) <= 0)
                return r;
        }
        if (o->utf8_mode != TY_UTF8_REPLACE) {
            if (valid == len)
                snprintf(seen, sizeof seen, "UTF-8");
            else
                detect(buf, len, seen, sizeof seen, NULL);
            free(buf);
            char hint[96] = "give encoding=NAME to read it";
            if (seen[0])
                snprintf(hint, sizeof hint, "it looks like %s: encoding=%s reads it", plain(seen),
                         plain(seen));
            return ty__err(err, TY_EENCODING,
                           "%s: declares charset %s (%s), but byte %zu is not %s (%s)", name,
                           declared, by, bad.at, declared, hint);
        }
        /* replace mode: guess as if nothing were declared */
    }
    /* 4. NUL bytes: UTF-16/32 without a mark, or binary */
    if (has_nul) {
        const char *g = guess_utf16(b, len);
        if (g && (r = try_settle(out, buf, len, g, 1, &bad, &ex, name, err)) <= 0)
            return r;
        keep_as_is(out, buf, len);
        return TY_OK;
    }
    /* 5. UTF-8 */
    if (valid == len) {
        keep_as_is(out, buf, len);
        return TY_OK;
    }
    /* 6. uchardet */
    char guess[32], whybuf[160] = "";
    detect(buf, len, guess, sizeof guess, whybuf);
    if (guess[0] && ty__charset_canon(guess, cs, sizeof cs) == 0 && is_utf8_name(cs)) {
        keep_as_is(out, buf, len); /* damaged UTF-8: the tokenizer names the bad byte */
        return TY_OK;
    }
    size_t evidence = non_ascii(b, len);
    const char *why = whybuf[0] ? whybuf : NULL;
    if (guess[0] && ty__charset_canon(guess, cs, sizeof cs) == 0) {
        if (evidence < 16) {
            snprintf(whybuf, sizeof whybuf, "only %zu bytes outside ASCII: too few to tell",
                     evidence);
            why = whybuf;
        } else {
            if ((r = try_settle(out, buf, len, cs, 1, &bad, &ex, name, err)) <= 0)
                return r;
            if (r == 1)
                snprintf(whybuf, sizeof whybuf, "it looks like %s, but byte %zu is not %s",
                         plain(cs), bad.at, plain(cs));
            else
                snprintf(whybuf, sizeof whybuf, "read as %s it holds unlikely characters (U+%04X)",
                         plain(cs), (unsigned)ex);
            why = whybuf;
        }
    }
    /* 7. UTF-16 of Chinese text, without a mark */
    const char *g = guess_utf16(b, len);
    if (g && (r = try_settle(out, buf, len, g, 1, &bad, &ex, name, err)) <= 0)
        return r;
    /* 8. give up */
    if (o->utf8_mode == TY_UTF8_REPLACE) {
        keep_as_is(out, buf, len);
        return TY_OK;
    }
    free(buf);
    return ty__err(err, TY_EENCODING,
                   "%s: not UTF-8 (byte %zu), and its charset cannot be told (%s): give "
                   "encoding=NAME (gb18030, big5, utf-16le, shift_jis ...) or "
                   "utf8_mode=TY_UTF8_REPLACE",
                   name, valid, why ? why : "no guess");
}

int ty__utf8_repair(char **s, size_t *n)
{
    const unsigned char *u = (const unsigned char *)*s;
    size_t at = ty__utf8_valid_upto(u, *n);
    if (at == *n)
        return 0;
    /* each invalid byte becomes U+FFFD (3 bytes): at most 3 times as long */
    char *o = malloc(*n * 3 + 1);
    if (!o)
        return -1;
    size_t k = 0, i = 0;
    while (i < *n) {
        size_t v = ty__utf8_valid_upto(u + i, *n - i);
        memcpy(o + k, u + i, v);
        k += v;
        i += v;
        if (i < *n) {
            memcpy(o + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        }
    }
    o[k] = 0;
    free(*s);
    *s = o;
    *n = k;
    return 0;
}
