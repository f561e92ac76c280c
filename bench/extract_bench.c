/*
 * extract_bench.c — the reading side of `make bench` part "extract": every document of the
 * PATHs through the library's reader (input.c: files, directories, WARC; extract.c: charsets,
 * HTML, DOCX/ODT, PDF), as index, check and dedup read them — without tokenizing, so that the
 * figure is the reading and extraction alone.
 *
 * usage: extract_bench REPS PATH...
 * Prints one line: input_bytes documents text_bytes skipped best_seconds (the best of REPS).
 * Built and run by bench/extract_bench.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tongyuan.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: extract_bench REPS PATH...\n");
        return 2;
    }
    int reps = atoi(argv[1]);
    double best = 1e30;
    unsigned long long bytes = 0, docs = 0, text = 0, skipped = 0;
    for (int r = 0; r < (reps > 0 ? reps : 1); r++) {
        ty_reader_opts_t o;
        ty_reader_opts_init(&o);
        ty_reader_t *rd = ty_reader_new(&o);
        if (!rd)
            return 2;
        for (int i = 2; i < argc; i++)
            if (ty_reader_add(rd, argv[i]) != TY_OK) {
                fprintf(stderr, "extract_bench: %s\n", ty_reader_errmsg(rd));
                return 2;
            }
        docs = text = skipped = 0;
        double t0 = now();
        ty_record_t rec;
        int rc;
        while ((rc = ty_reader_next(rd, &rec)) != 0) {
            if (rc < 0) {
                if (!skipped)
                    fprintf(stderr, "extract_bench: %s\n", ty_reader_errmsg(rd));
                skipped++;
                continue;
            }
            docs++;
            text += rec.len;
        }
        double t = now() - t0;
        bytes = ty_reader_size(rd);
        ty_reader_free(rd);
        if (t < best)
            best = t;
    }
    printf("%llu %llu %llu %llu %.6f\n", bytes, docs, text, skipped, best);
    return 0;
}
