/*
 * fuzz_pdf.c — arbitrary bytes → a PDF file (pdf.c: poppler-glib, a form feed between pages).
 *
 * Invariants checked (fz_load_extracted): a known outcome (a damaged file is TY_ECORRUPT, one
 * that needs a password TY_EUNSUPPORTED, no text TY_EEMPTY); text and title well-formed UTF-8;
 * a failure names the file; and a loaded PDF has as many pages as the form feeds in its text
 * plus one. Poppler is not instrumented (a system library): this target checks our side of
 * the call and that nothing poppler returns is taken on trust.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ty_opts_t o;
    ty_opts_init(&o);
    o.input_format = TY_FORMAT_PDF;
    if (fz_load_extracted(data, size, TY_FORMAT_PDF, NULL) != TY_OK)
        return 0;
    ty_doc_t *d = ty_doc_new();
    FZ_CHECK(d && ty_doc_load_bytes(d, "again", data, size, &o) == TY_OK);
    size_t len, ff = 0;
    const char *t = ty_doc_text(d, &len);
    for (size_t i = 0; i < len; i++)
        ff += t[i] == '\f';
    FZ_CHECK(ty_docinfo(d)->pages == ff + 1);
    ty_doc_free(d);
    return 0;
}
