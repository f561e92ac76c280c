/*
 * fuzz_encoding.c — arbitrary bytes → a plain text file in any charset (encoding.c): the byte
 * order marks, UTF-16/32 without one, uchardet's guesses, iconv's strict conversion and the
 * offsets back into the input.
 *
 * A hash of the input picks the charset: detected (most runs), or forced to GB18030, Big5,
 * UTF-16, Shift_JIS or UTF-8 (--encoding).
 *
 * Invariants checked (fz_load_extracted): a known outcome; decoded text well-formed; every
 * code point's byte offset in the input non-decreasing, from the start (after a BOM) to the
 * input's end; UTF-8 input handed on unchanged; a failure names the file. And: the same bytes
 * decode the same way twice.
 */
#include "fuzz.h"

/* Bytes that auto-detection may take for another format (a PDF, a zip, markup, a WARC, an OLE
 * file) — whatever their length: "PK\3\4" alone is a zip's signature. */
static int other_format(const uint8_t *d, size_t n)
{
    return (n >= 2 && !memcmp(d, "PK", 2)) || (n >= 4 && !memcmp(d, "%PDF", 4)) ||
           (n >= 5 && !memcmp(d, "WARC/", 5)) || (n && (d[0] == '<' || d[0] == 0xD0)) ||
           memchr(d, '<', n) || memmem(d, n < 1024 ? n : 1024, "%PDF-", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const forced[] = {"gb18030", "big5", "utf-16", "shift_jis", "utf-8"};
    uint64_t h = fz_hash(data, size);
    const char *enc = h % 4 == 0 ? forced[(h >> 8) % 5] : NULL;
    int a = fz_load_extracted(data, size, TY_FORMAT_TEXT, enc);
    int b = fz_load_extracted(data, size, TY_FORMAT_AUTO, enc);
    /* plain text by content: the same outcome, unless the bytes look like another format */
    if (!other_format(data, size))
        FZ_CHECK(a == b);
    return 0;
}
