/*
 * fuzz_html.c — arbitrary bytes → an HTML page (html.c through libxml2's HTML parser, after
 * encoding.c: the BOM, <meta charset> and detection).
 *
 * A hash of the input picks the charset: detected, or forced to GB18030 (--encoding).
 *
 * Invariants checked (fz_load_extracted): a known outcome (TY_EEMPTY for a page without an
 * article); the article text and the title well-formed UTF-8; a failure names the file.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = fz_hash(data, size);
    fz_load_extracted(data, size, TY_FORMAT_HTML, h % 5 == 0 ? "gb18030" : NULL);
    return 0;
}
