/*
 * fuzz_warc.c — arbitrary bytes → the document reader (input.c) as a WARC file (warc.c: record
 * framing, WARC and HTTP headers, chunked and gzip bodies; then extract.c and html.c for each
 * record, with the memory of blocks repeated across the pages of a site).
 *
 * Input: the bytes of a file named *.warc, read as WARC whatever they start with
 * (--input-format warc); gzip or zstd data when they start with those magic numbers.
 *
 * Invariants checked:
 *   - the reader ends, with at most one result per 8 input bytes (a record needs more) plus
 *     a few, and stays at its end;
 *   - a record has a name, the file as its origin, line 0, and UTF-8 text without NUL bytes
 *     once ty_doc_load_mem() has accepted it;
 *   - every error message names the file; record errors name the record.
 */
#include <unistd.h>

#include "fuzz.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_warc.%ld.warc", (long)getpid());
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    int plain =
        !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b) &&
        !(size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    ro.format = TY_FORMAT_WARC;
    ty_reader_t *r = ty_reader_new(&ro);
    FZ_CHECK(r != NULL);
    FZ_CHECK(ty_reader_add(r, path) == TY_OK);
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    FZ_CHECK(d != NULL);
    ty_record_t rec;
    size_t results = 0;
    int rc;
    while ((rc = ty_reader_next(r, &rec)) != 0) {
        results++;
        if (!plain && results > 10000)
            break; /* a compression bomb: enough */
        FZ_CHECK(!plain || results <= size / 8 + 4);
        if (rc < 0) {
            FZ_CHECK(strstr(ty_reader_errmsg(r), path) != NULL);
            continue;
        }
        FZ_CHECK(rec.name && rec.name[0] && rec.text && rec.origin);
        FZ_CHECK(strcmp(rec.origin, path) == 0 && rec.line == 0);
        FZ_CHECK(rec.info.charset && rec.info.title);
        if (ty_doc_load_mem(d, rec.name, rec.text, rec.len, &o) == TY_OK)
            FZ_CHECK(fz_utf8_ok(rec.text, rec.len));
    }
    FZ_CHECK(!plain || ty_reader_next(r, &rec) == 0);
    ty_doc_free(d);
    ty_reader_free(r);
    unlink(path);
    return 0;
}
