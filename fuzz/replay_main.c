/*
 * replay_main.c — a plain main() for the fuzz targets, so that their corpora replay as
 * regression tests with any compiler (no libFuzzer): every regular file in the directories
 * (or the files) named on the command line is passed once to LLVMFuzzerTestOneInput(), in name
 * order. A broken invariant aborts; a sanitizer build reports as usual.
 *
 * Prints "N inputs" on success. Each input is read into a buffer of exactly its size, so
 * that AddressSanitizer sees a read past its end.
 * usage: replay_TARGET DIR_OR_FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file; returns 0, or -1 if it cannot be read (message printed). */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || (n && fread(buf, 1, n, f) != n)) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (getenv("REPLAY_VERBOSE"))
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]))
                return 2;
            count++;
            continue;
        }
        struct dirent **ents;
        int ne = scandir(argv[i], &ents, NULL, alphasort);
        if (ne < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        int rc = 0;
        for (int e = 0; e < ne; e++) {
            char path[4096];
            int l = snprintf(path, sizeof(path), "%s/%s", argv[i], ents[e]->d_name);
            if (rc == 0 && ents[e]->d_name[0] != '.' && l > 0 && (size_t)l < sizeof(path) &&
                is_file(path)) {
                rc = run_file(path);
                count++;
            }
            free(ents[e]);
        }
        free(ents);
        if (rc)
            return 2;
    }
    printf("%zu inputs\n", count);
    return 0;
}
