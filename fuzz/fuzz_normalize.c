/*
 * fuzz_normalize.c — arbitrary bytes → ty_doc_load_mem(), in strict and in replace mode.
 *
 * The whole input is the document. Its first byte also selects a few options (it is part of
 * the text all the same, so a seed file is just a text file):
 *   bits 0-1 == 3  also load with max_doc_bytes = size - 1 (expect TY_ETOOBIG) and = size;
 *   bit 2          load with name NULL instead of "fuzz".
 *
 * Invariants checked:
 *   - the outcome is the one the input calls for: TY_EBINARY iff it has a NUL byte, else
 *     TY_EUTF8 in strict mode iff it is not well-formed UTF-8, else TY_OK; a failure leaves a
 *     message and no tokens;
 *   - on success the text is the input, ncodepoints counts code points (an invalid byte is
 *     one), and every token is non-empty, within the text, with byte offsets on code point
 *     starts that agree with its code point offsets, spanning only well-formed UTF-8;
 *   - tokens are in text order: each starts at or after the end of the one before, except
 *     that several tokens may share one code point (a character whose NFKC form expands,
 *     "½" → 1 ⁄ 2, makes several tokens with that character's offsets);
 *   - loading the same bytes again (same handle or a new one) gives identical tokens, and
 *     replace mode gives the same tokens as strict mode on well-formed input.
 */
#include "fuzz.h"

/* Check d's tokens against the input; returns them (caller frees) with *n. */
static ty_token_t *check_doc(const ty_doc_t *d, const uint8_t *data, const fz_text_t *tx, size_t *n)
{
    size_t len;
    const char *text = ty_doc_text(d, &len);
    FZ_CHECK(len == tx->len);
    FZ_CHECK(len == 0 || memcmp(text, data, len) == 0);
    FZ_CHECK(ty_doc_ncodepoints(d) == tx->ncp);
    ty_token_t *t = fz_tokens(d, n);
    for (size_t i = 0; i < *n; i++) {
        const ty_token_t *k = &t[i];
        FZ_CHECK(k->byte_len >= 1 && k->cp_len >= 1);
        FZ_CHECK(k->cp_len <= k->byte_len);
        FZ_CHECK((size_t)k->byte_off + k->byte_len <= tx->len);
        FZ_CHECK(k->cp_off < tx->ncp);
        FZ_CHECK((size_t)k->cp_off + k->cp_len <= tx->ncp);
        /* byte spans decode: on code point starts, agreeing with the code point offsets */
        FZ_CHECK(fz_at_cp(tx, k->byte_off, k->cp_off));
        FZ_CHECK(fz_at_cp(tx, (size_t)k->byte_off + k->byte_len, (size_t)k->cp_off + k->cp_len));
        for (uint32_t b = k->byte_off; b < k->byte_off + k->byte_len; b++)
            FZ_CHECK(!tx->bad[b]); /* an invalid byte is never compared */
        /* ids: a code point (per-character scripts) or a word hash with the top bit set */
        FZ_CHECK(k->id != 0);
        FZ_CHECK(k->id < 0x110000 || (k->id & 0x80000000u));
        if (i == 0)
            continue;
        const ty_token_t *p = &t[i - 1];
        uint32_t pend = p->byte_off + p->byte_len, pcend = p->cp_off + p->cp_len;
        FZ_CHECK(k->byte_off >= p->byte_off && k->cp_off >= p->cp_off);
        if (k->byte_off < pend) {
            /* overlap only within the previous token's last code point (an expansion;
             * the new token may go on as a word: "½c" → "1", "2c") */
            FZ_CHECK(k->cp_off == pcend - 1);
        } else {
            FZ_CHECK(k->cp_off >= pcend);
        }
    }
    FZ_CHECK(ty_doc_token(d, *n, &(ty_token_t){0}) == TY_EINVAL);
    return t;
}

static int same_tokens(const ty_token_t *a, size_t na, const ty_token_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(ty_token_t)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned sel = size ? data[0] : 0;
    const char *name = (sel & 4) ? NULL : "fuzz";
    fz_text_t tx;
    fz_text_init(&tx, data, size);
    ty_token_t *strict_tok = NULL;
    size_t strict_n = 0;
    int strict_ok = 0;

    for (int mode = TY_UTF8_STRICT; mode <= TY_UTF8_REPLACE; mode++) {
        ty_opts_t o;
        ty_opts_init(&o);
        o.utf8_mode = mode;
        int want = tx.has_nul                                    ? TY_EBINARY
                   : (mode == TY_UTF8_STRICT && tx.ninvalid > 0) ? TY_EUTF8
                                                                 : TY_OK;
        ty_doc_t *d = ty_doc_new();
        FZ_CHECK(d != NULL);
        int rc = ty_doc_load_mem(d, name, data, size, &o);
        FZ_CHECK(rc == want);
        FZ_CHECK(strcmp(ty_doc_name(d), name ? name : "") == 0);
        if (rc != TY_OK) {
            FZ_CHECK(ty_doc_errmsg(d)[0] != 0);
            FZ_CHECK(ty_doc_ntokens(d) == 0);
            ty_doc_free(d);
            continue;
        }
        FZ_CHECK(ty_doc_errmsg(d)[0] == 0);
        size_t n1, n2, n3;
        ty_token_t *t1 = check_doc(d, data, &tx, &n1);

        /* the same bytes again into the same handle, then into a new one */
        FZ_CHECK(ty_doc_load_mem(d, name, data, size, &o) == TY_OK);
        ty_token_t *t2 = check_doc(d, data, &tx, &n2);
        FZ_CHECK(same_tokens(t1, n1, t2, n2));
        ty_doc_t *d2 = ty_doc_new();
        FZ_CHECK(d2 != NULL);
        FZ_CHECK(ty_doc_load_mem(d2, name, data, size, &o) == TY_OK);
        ty_token_t *t3 = check_doc(d2, data, &tx, &n3);
        FZ_CHECK(same_tokens(t1, n1, t3, n3));

        if (mode == TY_UTF8_STRICT) {
            strict_ok = 1;
            strict_tok = t1;
            strict_n = n1;
            t1 = NULL;
        } else if (strict_ok) {
            FZ_CHECK(same_tokens(strict_tok, strict_n, t1, n1));
        }

        /* size limit: one byte under is refused, exactly the size is accepted */
        if ((sel & 3) == 3 && size >= 2) {
            o.max_doc_bytes = size - 1;
            FZ_CHECK(ty_doc_load_mem(d2, name, data, size, &o) == TY_ETOOBIG);
            FZ_CHECK(ty_doc_errmsg(d2)[0] != 0);
            o.max_doc_bytes = size;
            FZ_CHECK(ty_doc_load_mem(d2, name, data, size, &o) == TY_OK);
            ty_token_t *t4 = check_doc(d2, data, &tx, &n3);
            FZ_CHECK(same_tokens(t2, n2, t4, n3));
            free(t4);
        }
        free(t1);
        free(t2);
        free(t3);
        ty_doc_free(d);
        ty_doc_free(d2);
    }
    free(strict_tok);
    fz_text_free(&tx);
    return 0;
}
