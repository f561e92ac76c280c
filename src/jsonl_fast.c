/*
 * jsonl_fast.c — a fast path for the common JSONL line: one flat object whose text and id
 * members are plain strings.
 *
 * Why: jansson builds every string a byte at a time and a hash table per object; on corpora
 * of ~700-character documents that was half of `dedup --mode near` and 40 % of `index build`.
 * This scanner reads the line once, copies the two members it needs and skips the rest.
 *
 * It is deliberately partial: whatever it is not sure about — nested objects or arrays, a
 * number as the id, \u0000, invalid UTF-8, raw control characters, anything after the
 * closing brace, a syntax error — it answers "not mine" (0) and the caller parses the line
 * with jansson, which then also produces the error message. So the fast path can change
 * speed, never results: tests/unit/test_input.c and fuzz/fuzz_jsonl.c compare the two.
 * Duplicate members: the last one wins, as in jansson.
 */
#include <string.h>

#include "internal.h"
#include "jsonl_fast.h"

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex4(const char *p, const char *e, uint32_t *v)
{
    if (e - p < 4)
        return -1;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        x = x << 4 | (uint32_t)h;
    }
    *v = x;
    return 0;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* What a one-character JSON escape \c stands for (0: none; \u is read apart). */
static const char unescaped[256] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                    ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};

/* Scan a string starting after its opening quote. If out != NULL, decode it into *out
 * (NUL-terminated, *olen bytes). Returns the position after the closing quote, or NULL when
 * the fast path declines. */
static const char *string(const char *p, const char *e, char **out, size_t *cap, size_t *olen)
{
    /* find the end first: the decoded string is never longer than the raw one */
    const char *q = p;
    int esc = 0;
    while (q < e && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return NULL; /* raw control character: jansson's call */
        if (c == '\\') {
            esc = 1;
            q += 2;
            continue;
        }
        if (c >= 0x80) {
            uint32_t cp;
            int l = ty__utf8_decode((const unsigned char *)q, (size_t)(e - q), &cp);
            if (!l)
                return NULL;
            q += l;
            continue;
        }
        q++;
    }
    if (q >= e)
        return NULL;
    if (!out)
        return q + 1;
    size_t n = (size_t)(q - p);
    if (grow(out, cap, n + 1))
        return NULL;
    char *o = *out;
    if (!esc) {
        memcpy(o, p, n);
        o[n] = 0;
        *olen = n;
        return q + 1;
    }
    size_t k = 0;
    for (const char *s = p; s < q;) {
        if (*s != '\\') {
            o[k++] = *s++;
            continue;
        }
        s++;
        char c1 = unescaped[(unsigned char)*s];
        if (c1) {
            o[k++] = c1;
            s++;
            continue;
        }
        if (*s != 'u')
            return NULL;
        uint32_t v, w;
        if (hex4(s + 1, q, &v))
            return NULL;
        s += 5;
        if (v >= 0xD800 && v <= 0xDBFF) { /* a surrogate pair */
            if (q - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, q, &w) || w < 0xDC00 ||
                w > 0xDFFF)
                return NULL;
            v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00);
            s += 6;
        } else if ((v >= 0xDC00 && v <= 0xDFFF) || v == 0) {
            return NULL; /* lone low surrogate, or NUL: jansson's call */
        }
        k += put_utf8(o + k, v);
    }
    o[k] = 0;
    *olen = k;
    return q + 1;
}

/* Skip a scalar that is not a string: true, false, null, or a number of the strict JSON
 * grammar that jansson reads without overflow (at most 15 digits, no exponent). NULL:
 * decline. */
static const char *scalar(const char *p, const char *e, int *is_null)
{
    *is_null = 0;
    if (e - p >= 4 && memcmp(p, "null", 4) == 0) {
        *is_null = 1;
        return p + 4;
    }
    if (e - p >= 4 && memcmp(p, "true", 4) == 0)
        return p + 4;
    if (e - p >= 5 && memcmp(p, "false", 5) == 0)
        return p + 5;
    const char *q = p;
    int digits = 0;
    if (q < e && *q == '-')
        q++;
    if (q < e && *q == '0') {
        q++;
        digits++;
    } else if (q < e && *q >= '1' && *q <= '9') {
        while (q < e && *q >= '0' && *q <= '9') {
            q++;
            digits++;
        }
    } else {
        return NULL;
    }
    if (q < e && *q == '.') {
        q++;
        if (q >= e || *q < '0' || *q > '9')
            return NULL;
        while (q < e && *q >= '0' && *q <= '9') {
            q++;
            digits++;
        }
    }
    if (digits > 15 || (q < e && (*q == 'e' || *q == 'E')))
        return NULL;
    return q;
}

int ty__jsonl_fast(ty_jsonl_fast_t *f, const char *line, size_t len, const char *text_field,
                   const char *id_field)
{
    const char *p = line, *e = line + len;
    size_t tf = strlen(text_field), idf = strlen(id_field);
    int have_text = 0;
    f->id_kind = TY_FAST_ID_NONE;
    p = ws(p, e);
    if (p >= e || *p != '{')
        return 0;
    p = ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p >= e || *p != '"')
                return 0;
            const char *k = ++p;
            while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
                   (unsigned char)*p < 0x80)
                p++;
            if (p >= e || *p != '"')
                return 0; /* escaped, non-ASCII or odd keys: jansson */
            size_t kl = (size_t)(p - k);
            p = ws(p + 1, e);
            if (p >= e || *p != ':')
                return 0;
            p = ws(p + 1, e);
            if (p >= e)
                return 0;
            int is_text = kl == tf && memcmp(k, text_field, kl) == 0;
            int is_id = kl == idf && memcmp(k, id_field, kl) == 0;
            if (*p == '"') {
                if (is_text) {
                    p = string(p + 1, e, &f->text, &f->text_cap, &f->text_len);
                    have_text = 1;
                } else if (is_id) {
                    p = string(p + 1, e, &f->id, &f->id_cap, &f->id_len);
                    f->id_kind = TY_FAST_ID_STRING;
                } else { /* decoded too, so a bad escape is declined as jansson would */
                    size_t sl;
                    p = string(p + 1, e, &f->scratch, &f->scratch_cap, &sl);
                }
                if (!p)
                    return 0;
            } else if (*p == '{' || *p == '[') {
                return 0; /* nested values: jansson */
            } else {
                int is_null;
                p = scalar(p, e, &is_null);
                if (!p)
                    return 0;
                if (is_text)
                    return 0; /* text is not a string: jansson words the error */
                if (is_id) {
                    if (!is_null)
                        return 0; /* an integer id: jansson formats it */
                    f->id_kind = TY_FAST_ID_NONE;
                }
            }
            p = ws(p, e);
            if (p < e && *p == ',') {
                p = ws(p + 1, e);
                continue;
            }
            if (p < e && *p == '}') {
                p++;
                break;
            }
            return 0;
        }
    }
    if (ws(p, e) != e || !have_text)
        return 0;
    if (f->id_kind == TY_FAST_ID_STRING && memchr(f->id, 0, f->id_len))
        return 0;
    return 1;
}

void ty__jsonl_fast_free(ty_jsonl_fast_t *f)
{
    TY_FREE(f->text, f->id, f->scratch);
    memset(f, 0, sizeof(*f));
}
