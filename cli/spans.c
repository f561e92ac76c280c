/*
 * spans.c — `tongyuan dedup --mode spans|spans-exact`: passage-level cleaning. cmd_dedup
 * (dedup.c) parses the options and lists the inputs; this file feeds the documents to a
 * ty_spans_t and writes one JSON object per document as it comes back ({"id","text",
 * "removed"}), the cleaned documents (--write-kept) and the summary. All decisions are the
 * library's (src/spans.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "corpus.h"

typedef struct {
    ty_spans_t *sp;
    FILE *out, *kept;
    int fail, quiet;
    int writer; /* rank 0 (or alone): writes the output and the messages */
    size_t errors;
    ty_buf_t b;
} sui_t;

static int on_doc(void *user, const ty_spans_event_t *ev)
{
    sui_t *u = user;
    const char *name = ty_spans_name(u->sp, ev->doc);
    if (ev->kind == TY_SPANS_ERROR) {
        u->errors++;
        if (u->writer && (u->errors <= 100 || u->fail))
            fprintf(stderr, "tongyuan: %s%s\n", cli_flags(ev->msg), u->fail ? "" : " (skipped)");
        return u->fail;
    }
    if (!u->writer) /* another rank of an MPI job: rank 0 writes the same */
        return 0;
    ty_buf_t *b = &u->b;
    b->len = 0;
    ty_buf_puts(b, "{\"id\":");
    ty_buf_json_str(b, name, strlen(name));
    ty_buf_puts(b, ",\"text\":");
    ty_buf_json_str(b, ev->kept, ev->kept_len);
    if (u->kept && ev->kept_len) { /* --write-kept: the same {"id","text"} closed there */
        size_t head = b->len;
        ty_buf_puts(b, "}\n");
        cli_buf_write(b, u->kept);
        b->len = head;
    }
    ty_buf_puts(b, ",\"removed\":[");
    for (size_t i = 0; i < ev->nremoved; i++) {
        const ty_span_t *s = &ev->removed[i];
        const char *src = ty_spans_name(u->sp, s->src);
        ty_buf_printf(b, "%s{\"sus_off\":%zu,\"sus_len\":%zu,\"src\":", i ? "," : "", s->sus_off,
                      s->sus_len);
        ty_buf_json_str(b, src, strlen(src));
        ty_buf_printf(b, ",\"src_off\":%zu,\"src_len\":%zu,\"score\":%.4f}", s->src_off, s->src_len,
                      s->score);
    }
    ty_buf_puts(b, "]}\n");
    cli_buf_write(b, u->out);
    return 0;
}

int cli_dedup_spans(const cli_spans_args_t *a)
{
    sui_t u = {0};
    u.fail = a->fail;
    u.quiet = a->quiet;
    u.writer = !a->mpi || a->mpi->rank == 0;
    char msg[256];
    if (ty_spans_opts_check(a->o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return EXIT_ERROR;
    }
    u.sp = ty_spans_new(a->o, a->to, on_doc, &u);
    if (!u.sp) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return EXIT_ERROR;
    }
    cli_out_t out = {0}, kept = {0};
    int status = 0;
    if (a->mpi && a->mpi->attach(a->mpi->ctx, u.sp))
        status = EXIT_ERROR;
    if (!status && u.writer &&
        (cli_out_open(&out, "-o", a->out_path ? a->out_path : "-") ||
         (a->kept_path && cli_out_open(&kept, "--write-kept", a->kept_path))))
        status = EXIT_ERROR;
    u.out = out.f;
    u.kept = kept.f;
    double t0 = cli_now();
    int lrc = TY_OK; /* the library's error */
    size_t docs = 0;
    uint64_t bytes = 0;
    while (!status) {
        ty_record_t rec;
        int rc = ty_reader_next(a->rd, &rec);
        if (rc == 0)
            break;
        if (rc < 0) {
            u.errors++;
            if (u.writer)
                fprintf(stderr, "tongyuan: %s%s\n", cli_flags(ty_reader_errmsg(a->rd)),
                        u.fail ? "" : " (skipped)");
            if (u.fail)
                status = EXIT_ERROR;
            continue;
        }
        docs++;
        bytes += rec.len;
        if ((lrc = ty_spans_add(u.sp, rec.name, rec.text, rec.len)) != TY_OK) {
            if (!u.fail && u.writer)
                fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_spans_errmsg(u.sp)));
            status = EXIT_ERROR;
        }
    }
    if (!status && (lrc = ty_spans_finish(u.sp)) != TY_OK) {
        if (u.writer)
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_spans_errmsg(u.sp)));
        status = EXIT_ERROR;
    }
    if (a->mpi)
        a->mpi->done(a->mpi->ctx, lrc);
    if (!status && (cli_out_close(&kept) || cli_out_close(&out)))
        status = EXIT_ERROR;
    cli_out_abort(&kept);
    cli_out_abort(&out);
    double secs = cli_now() - t0, t = secs > 1e-6 ? secs : 1e-6;
    if (!status && !u.quiet && u.writer) {
        ty_spans_stats_t st;
        ty_spans_stats(u.sp, &st);
        size_t ok = st.docs - st.errors;
        fprintf(stderr,
                "dedup: %zu documents, %zu characters removed (%.2f%%) from %zu documents, "
                "%zu skipped; %.1f s, %.0f docs/s, %.1f MB/s\n",
                ok, st.removed_cp, st.cp ? 100.0 * (double)st.removed_cp / (double)st.cp : 0.0,
                st.changed, u.errors, secs, (double)docs / t, (double)bytes / 1e6 / t);
        if (a->verbose)
            fprintf(stderr,
                    "dedup: %zu candidate pairs aligned, %zu minimizers, about %.0f MB held\n",
                    st.candidates, st.minimizers, (double)st.mem_bytes / 1e6);
    }
    ty_spans_free(u.sp);
    ty_buf_free(&u.b);
    return status;
}
