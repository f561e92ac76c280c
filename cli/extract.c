/*
 * extract.c — `tongyuan extract PATH...`: the text tongyuan compares, as it reads it — text in
 * another charset decoded to UTF-8, the article of an HTML page, the paragraphs of a Word or
 * OpenDocument file, a PDF's pages (a form feed between them), the records of a WARC file.
 * Report offsets (src_byte_off, sus_off ...) are offsets into exactly this text, so this is
 * how a user slices what a report names; --format jsonl writes a corpus that index, check
 * and dedup read back as it is.
 *
 * It reads through the library's reader (input.c), the same path as index, check and dedup;
 * a document that cannot be read or has no text is reported on stderr and skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "corpus.h"
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: tongyuan extract [OPTIONS] PATH...\n"
        "Print the text of each document as tongyuan compares it: decoded to UTF-8,\n"
        "extracted from HTML, Word, OpenDocument, PDF and WARC files. Offsets in reports\n"
        "are offsets into this text.\n\n"
        "Options:\n"
        "  --format F         'text' (default): the text itself (with more than one\n"
        "                     document, each after a line '==> NAME <=='); 'jsonl': one\n"
        "                     {\"id\", \"text\", \"format\", \"charset\", \"title\", \"pages\"}\n"
        "                     object a document (input for index, check and dedup)\n"
        "  --max-size MB      refuse inputs larger than MB megabytes [64]\n"
        "  --input-format F   auto, text, html, docx, odt, pdf, warc or jsonl [auto]\n"
        "  --encoding NAME    charset of text and HTML [detected]\n"
        "  --invalid-utf8 M   error (default) or replace\n"
        "  -h, --help         this help\n\n");
    print_reader_help(f);
    fprintf(f, "\nExit status: 0 every document printed, 1 some skipped (reported on stderr),\n"
               "2 error.\n");
}

int cmd_extract(int argc, char **argv)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    int jsonl = 0, npos = 0;
    ty_argdef_t reader[TY_READER_NARGS], align[TY_OPTS_NARGS];
    ty_reader_opts_args(&ro, reader);
    ty_opts_args(&o, align);
    const ty_argdef_t defs[] = {TY_ARG_TABLE(reader), TY_ARG_TABLE(align),
                                TY_ARG_ENUM("--format", jsonl, "text|jsonl", NULL), TY_ARG_END};
    const char **pos;
    int rc = cli_args("extract", defs, argc, argv, &pos, &npos, usage);
    if (rc)
        return rc > 0 ? 0 : EXIT_ERROR;
    rc = EXIT_ERROR;
    if (!npos) {
        fprintf(stderr, "tongyuan: extract needs at least one PATH ('-': stdin)\n");
        goto done;
    }
    if (cli_opts_ready(&o, &ro))
        goto done;
    ty_reader_t *r = ty_reader_new(&ro);
    if (!r) {
        fprintf(stderr, "tongyuan: out of memory\n");
        goto done;
    }
    for (int p = 0; p < npos; p++)
        if (ty_reader_add(r, pos[p]) != TY_OK) {
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_reader_errmsg(r)));
            ty_reader_free(r);
            goto done;
        }
    for (size_t i = 0; ty_reader_note(r, i); i++)
        fprintf(stderr, "tongyuan: %s\n", ty_reader_note(r, i));
    /* text format: a "==> NAME <==" line before each document when there is more than one:
     * the first is held back until the second shows up (or the end does) */
    size_t docs = 0, skipped = 0, empty = 0;
    ty_buf_t b = {0}, first = {0};
    ty_doc_t *d = ty_doc_new(); /* the text is checked as compare checks it (UTF-8, NUL) */
    char *first_name = NULL;
    ty_record_t rec;
    int e;
    while ((e = ty_reader_next(r, &rec)) != 0) {
        if (e < 0) {
            fflush(stdout);
            fprintf(stderr, "tongyuan: %s%s (skipped)\n", e == TY_EEMPTY ? "warning: " : "",
                    cli_flags(ty_reader_errmsg(r)));
            skipped++;
            empty += e == TY_EEMPTY;
            continue;
        }
        if (!d || ty_doc_load_mem(d, rec.name, rec.text, rec.len, &o) != TY_OK) {
            fflush(stdout);
            fprintf(stderr, "tongyuan: %s (skipped)\n",
                    d ? cli_msg_at(cli_flags(ty_doc_errmsg(d)), rec.name, rec.origin)
                      : "out of memory");
            skipped++;
            continue;
        }
        b.len = 0;
        if (jsonl) {
            ty_buf_puts(&b, "{\"id\":");
            ty_buf_json_str(&b, rec.name, strlen(rec.name));
            ty_buf_puts(&b, ",\"text\":");
            ty_buf_json_str(&b, rec.text, rec.len);
            ty_buf_printf(&b, ",\"format\":\"%s\",\"charset\":", ty_format_name(rec.info.format));
            ty_buf_json_str(&b, rec.info.charset, strlen(rec.info.charset));
            ty_buf_puts(&b, ",\"title\":");
            ty_buf_json_str(&b, rec.info.title, strlen(rec.info.title));
            ty_buf_printf(&b, ",\"pages\":%u}\n", rec.info.pages);
        } else if (docs == 0) {
            ty_buf_put(&first, rec.text, rec.len); /* held back */
            first_name = strdup(rec.name);
        } else {
            if (docs == 1) {
                printf("==> %s <==\n", first_name ? first_name : "");
                cli_buf_write(&first, stdout);
                ty_buf_free(&first);
            }
            ty_buf_printf(&b, "\n==> %s <==\n", rec.name);
            ty_buf_put(&b, rec.text, rec.len);
        }
        if (b.len)
            cli_buf_write(&b, stdout);
        docs++;
    }
    if (first.len)
        cli_buf_write(&first, stdout);
    ty_buf_free(&first);
    free(first_name);
    ty_doc_free(d);
    ty_buf_free(&b);
    ty_reader_free(r);
    if (skipped)
        fprintf(stderr, "tongyuan: extract: %zu document%s, %zu skipped (%zu without text)\n", docs,
                docs == 1 ? "" : "s", skipped, empty);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tongyuan: error writing output\n");
        goto done;
    }
    rc = skipped ? EXIT_NONE : EXIT_FOUND;
done:
    free(pos);
    return rc;
}
