/*
 * fuzz_dedup_state.c — arbitrary bytes → ty_dedup_load_state(), the reader of the state file
 * `dedup --save-index` writes (src/dedup_state.c, the end of src/dedup.c).
 *
 * Byte 0 picks the mode (% 3: exact, near, spun); the rest is written to DIR/dedup.state of a
 * temporary directory and loaded by a handle with the options the seeds were made with
 * (ty_dedup_opts_init(), batch 16, near: 4 bands x 2 rows). Invariants: the load returns
 * TY_OK or an error with a message (TY_ECORRUPT / TY_EVERSION / TY_EIO messages name the
 * file); a loaded state then takes two more documents — one text twice — and finishes, and
 * every decision names a document of the run (dup_of in range; the second copy removed).
 *
 * Seeds (fuzz/corpus/fuzz_dedup_state/): states of 18 short dev-set documents — four texts
 * with three light copies each in the first batch (spun: four summaries carried over), then
 * a partial last batch — one per mode, made by
 *   tongyuan dedup --mode M --batch 16 --bands 4 --rows 2 seeds.jsonl --save-index DIR
 * with the mode's number put in front of DIR/dedup.state.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/fuzz_dedup_state.%ld", (long)getpid());
    mkdir(dir, 0777);
}

/* The input's file and the directory removed after each input: libFuzzer ends with _Exit(),
 * so nothing registered with atexit() would run. */
static void cleanup(const char *path)
{
    char lock[512];
    snprintf(lock, sizeof lock, "%s/dedup.lock", dir);
    unlink(lock);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    char path[512];
    snprintf(path, sizeof path, "%s/dedup.state", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    ty_dedup_opts_t o;
    ty_dedup_opts_init(&o);
    o.mode = data[0] % 3;
    o.batch = 16;
    o.bands = 4; /* near: 8 permutations, small seeds */
    o.rows = 2;
    ty_opts_t to;
    ty_opts_init(&to);
    ty_dedup_t *dd = ty_dedup_new(&o, &to, NULL, NULL);
    FZ_CHECK(dd != NULL);
    int rc = ty_dedup_load_state(dd, dir);
    if (rc) {
        FZ_CHECK(rc == TY_ECORRUPT || rc == TY_EVERSION || rc == TY_EIO || rc == TY_ENOMEM ||
                 rc == TY_ENOTFOUND);
        FZ_CHECK(ty_dedup_errmsg(dd)[0] != 0);
        if (rc != TY_ENOMEM)
            FZ_CHECK(strstr(ty_dedup_errmsg(dd), "dedup.state") != NULL);
        ty_dedup_free(dd);
        cleanup(path);
        return 0;
    }
    size_t old = ty_dedup_count(dd);
    static const char t1[] = "山区小学迎来新图书馆，孩子们乐开了花。十一月的清晨，寒意已经很浓。";
    rc = ty_dedup_add(dd, "new-1", t1, sizeof t1 - 1);
    if (!rc)
        rc = ty_dedup_add(dd, "new-2", t1, sizeof t1 - 1);
    if (!rc)
        rc = ty_dedup_finish(dd);
    /* a stored text that does not decompress is found when it is aligned: an error, no crash */
    if (!rc) {
        size_t n = ty_dedup_count(dd);
        FZ_CHECK(n == old + 2);
        for (size_t i = 0; i < n; i++) {
            ty_dedup_result_t res;
            FZ_CHECK(ty_dedup_result(dd, i, &res) == TY_OK);
            if (res.err)
                continue;
            FZ_CHECK(res.keep ? res.dup_of == SIZE_MAX : res.dup_of < n);
            FZ_CHECK(ty_dedup_name(dd, i) != NULL);
        }
        ty_dedup_result_t r2;
        FZ_CHECK(ty_dedup_result(dd, old + 1, &r2) == TY_OK && !r2.keep);
    } else {
        FZ_CHECK(ty_dedup_errmsg(dd)[0] != 0);
    }
    ty_dedup_free(dd);
    cleanup(path);
    return 0;
}
