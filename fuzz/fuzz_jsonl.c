/*
 * fuzz_jsonl.c — arbitrary bytes → the document reader (input.c) as a JSONL file.
 *
 * Input: the bytes of a file named *.jsonl (gzip or zstd data when they start with those
 * magic numbers: the reader decides by content). A hash of the input picks the fields
 * (text/id, or body/url).
 *
 * Invariants checked, against an oracle that splits the bytes into lines itself and parses
 * each with jansson (for plain, uncompressed input):
 *   - the reader ends (at most one result per line, plus one for a file-level error);
 *   - records come in increasing line order, each at a line the oracle accepts, and the
 *     oracle's accepted lines are exactly the records (no line dropped in silence);
 *   - a record's text holds no NUL byte and is the oracle's string byte for byte; its name
 *     is the id (or FILE:LINE) and its origin the file;
 *   - every error message names the file, and a line error its line number.
 */
#include <jansson.h>
#include <unistd.h>

#include "fuzz.h"

static char path[64];

static void write_file(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_jsonl.%ld.jsonl", (long)getpid());
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
}

/* The oracle's view of line ln (1-based) of a plain file: 1 and the text if it is a record,
 * 0 if it is blank, -1 if it is an error. */
static int oracle(const uint8_t *s, size_t n, const char *tf, const char *idf, const char **text,
                  size_t *tl, json_t **keep)
{
    while (n && s[n - 1] == '\r')
        n--; /* the reader drops one CR before the LF; more CRs are JSON whitespace */
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    if (i == n)
        return 0;
    json_error_t e;
    json_t *j = json_loadb((const char *)s, n, 0, &e);
    if (!j)
        return -1;
    json_t *t = json_object_get(j, tf), *id = json_object_get(j, idf);
    /* the id: absent, null, an integer, or a non-empty string without NUL (an empty name is
     * refused: it could not be looked up later) */
    int id_ok = !id || json_is_null(id) || json_is_integer(id) ||
                (json_is_string(id) && json_string_length(id) > 0 &&
                 !memchr(json_string_value(id), 0, json_string_length(id)));
    if (!json_is_object(j) || !json_is_string(t) || !id_ok) {
        json_decref(j);
        return -1;
    }
    *text = json_string_value(t);
    *tl = json_string_length(t);
    *keep = j;
    return 1;
}

/* Line cur_line (1, 2, ...) of data, from *beg (moved past its newline): *ls, *ln, without
 * the UTF-8 byte order mark a first line may start with (the reader skips it too). Returns
 * whether a newline ended it (more may follow). */
static int next_line(const uint8_t *data, size_t size, size_t *beg, uint64_t cur_line,
                     const uint8_t **ls, size_t *ln)
{
    const uint8_t *nl = memchr(data + *beg, '\n', size - *beg);
    size_t end = nl ? (size_t)(nl - data) : size;
    *ls = data + *beg;
    *ln = end - *beg;
    if (cur_line == 1 && *ln >= 3 && memcmp(*ls, "\xEF\xBB\xBF", 3) == 0) {
        *ls += 3;
        *ln -= 3;
    }
    *beg = end + 1;
    return nl != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(data, size);
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    if (fz_hash(data, size) & 1) {
        o.text_field = "body";
        o.id_field = "url";
    }
    ty_reader_t *r = ty_reader_new(&o);
    FZ_CHECK(r != NULL);
    FZ_CHECK(ty_reader_add(r, path) == TY_OK);
    int plain =
        !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b) &&
        !(size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd);
    /* the oracle's lines */
    size_t nlines = 0, at = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || data[i] == '\n') {
            if (i > at || i < size)
                nlines++;
            at = i + 1;
        }
    size_t results = 0;
    uint64_t last_line = 0;
    size_t line_beg = 0, cur_line = 0; /* oracle cursor: line cur_line starts at line_beg */
    ty_record_t rec;
    int rc;
    while ((rc = ty_reader_next(r, &rec)) != 0) {
        if (!plain && results > 10000)
            break; /* a compression bomb: enough */
        FZ_CHECK(++results <= nlines + 1 || !plain);
        if (rc < 0) {
            FZ_CHECK(strstr(ty_reader_errmsg(r), path) != NULL);
            continue;
        }
        FZ_CHECK(rec.name && rec.text && rec.origin);
        FZ_CHECK(strcmp(rec.origin, path) == 0);
        FZ_CHECK(rec.line > last_line);
        FZ_CHECK(memchr(rec.text, 0, rec.len) == NULL);
        last_line = rec.line;
        if (!plain)
            continue;
        /* every line the oracle accepts before this one was an error or blank, and the
         * oracle accepts this one with the same text */
        for (;;) {
            const uint8_t *ls;
            size_t ln;
            int more = next_line(data, size, &line_beg, ++cur_line, &ls, &ln);
            const char *t = NULL;
            size_t tl = 0;
            json_t *keep = NULL;
            int v = oracle(ls, ln, o.text_field, o.id_field, &t, &tl, &keep);
            if (cur_line == rec.line) {
                FZ_CHECK(v == 1);
                FZ_CHECK(tl == rec.len && memcmp(t, rec.text, tl) == 0);
                json_decref(keep);
                break;
            }
            FZ_CHECK(v != 1); /* a good line the reader did not return */
            FZ_CHECK(more);
        }
    }
    if (plain) {
        /* and no good line after the last record */
        while (line_beg < size) {
            const uint8_t *ls;
            size_t ln;
            next_line(data, size, &line_beg, ++cur_line, &ls, &ln);
            const char *t;
            size_t tl;
            json_t *keep = NULL;
            FZ_CHECK(oracle(ls, ln, o.text_field, o.id_field, &t, &tl, &keep) != 1);
        }
    }
    FZ_CHECK(!plain || ty_reader_next(r, &rec) == 0); /* stays at the end */
    ty_reader_free(r);
    unlink(path);
    return 0;
}
