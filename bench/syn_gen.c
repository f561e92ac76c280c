/* bench/syn_gen.c — scale_gen.py's documents, the same bytes, about fifty times faster.
 *
 * usage: syn_gen POOL N [START [SEED [MUTATE]]]   (JSONL on standard output)
 *   POOL: the file bench/syn_pool.py writes (the common characters, then the sentences).
 *
 * Only the big benchmarks need it (bench/syn.sh): 10,000,000 documents take scale_gen.py
 * about 70 minutes on two processes. scale_gen.py stays the definition; this is a port of
 * its document loop, and bench/syn.sh compares the two on a sample before it trusts this one
 * (`syn_check`). Document i depends only on (seed, i) through CPython's random.Random:
 * MT19937 seeded by init_by_array with the seed's 32-bit words, random() from two draws
 * (53 bits), randrange/randint by getrandbits(bit_length(n)) with rejection, gauss() by
 * Box-Muller with the cosine branch first. json.dumps(ensure_ascii=False) escapes only '"',
 * '\\' and control characters. Lengths and the final cut at 6,000 count code points. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CPython's Mersenne Twister (Modules/_randommodule.c) ---- */
enum { MT_N = 624, MT_M = 397 };
typedef struct {
    uint32_t s[MT_N];
    int i;
} mt_t;

static void mt_init(mt_t *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < MT_N; i++)
        m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = MT_N;
}

static void mt_init_by_array(mt_t *m, const uint32_t *key, int len)
{
    mt_init(m, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        m->s[i] =
            (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++, j++;
        if (i >= MT_N)
            m->s[0] = m->s[MT_N - 1], i = 1;
        if (j >= len)
            j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N)
            m->s[0] = m->s[MT_N - 1], i = 1;
    }
    m->s[0] = 0x80000000u;
}

static uint32_t mt_next(mt_t *m)
{
    static const uint32_t mag01[2] = {0, 0x9908b0dfu};
    if (m->i >= MT_N) {
        int k;
        uint32_t y;
        for (k = 0; k < MT_N - MT_M; k++) {
            y = (m->s[k] & 0x80000000u) | (m->s[k + 1] & 0x7fffffffu);
            m->s[k] = m->s[k + MT_M] ^ (y >> 1) ^ mag01[y & 1];
        }
        for (; k < MT_N - 1; k++) {
            y = (m->s[k] & 0x80000000u) | (m->s[k + 1] & 0x7fffffffu);
            m->s[k] = m->s[k + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1];
        }
        y = (m->s[MT_N - 1] & 0x80000000u) | (m->s[0] & 0x7fffffffu);
        m->s[MT_N - 1] = m->s[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1];
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

/* random.Random(seed) for a non-negative integer seed */
static void py_seed(mt_t *m, uint64_t seed)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    mt_init_by_array(m, key, key[1] ? 2 : 1);
}

static double py_random(mt_t *m)
{
    uint32_t a = mt_next(m) >> 5, b = mt_next(m) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* _randbelow_with_getrandbits(n), n < 2^32 */
static uint32_t py_below(mt_t *m, uint32_t n)
{
    int k = 0;
    while (k < 32 && (n >> k))
        k++;
    uint32_t r;
    do
        r = mt_next(m) >> (32 - k);
    while (r >= n);
    return r;
}

/* ---- the pool ---- */
typedef struct {
    uint32_t *cp; /* code points */
    size_t n;
} str_t;

static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        int more = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
        uint32_t v = more == 0 ? c : more == 1 ? c & 0x1f : more == 2 ? c & 0x0f : c & 0x07;
        for (int j = 1; j <= more && i + (size_t)j < len; j++)
            v = (v << 6) | (s[i + (size_t)j] & 0x3f);
        out[n++] = v;
        i += (size_t)more + 1;
    }
    return n;
}

static int load_pool(const char *path, str_t *common, str_t **sents, size_t *ns)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0, nsent = 0, scap = 0;
    ssize_t got;
    str_t *ss = NULL;
    int first = 1;
    while ((got = getline(&line, &cap, f)) > 0) {
        if (line[got - 1] == '\n')
            got--;
        str_t s = {malloc(((size_t)got + 1) * sizeof(uint32_t)), 0};
        if (!s.cp)
            return -1;
        s.n = utf8_decode((const unsigned char *)line, (size_t)got, s.cp);
        if (first) {
            *common = s;
            first = 0;
            continue;
        }
        if (nsent == scap) {
            scap = scap ? scap * 2 : 1024;
            if (!(ss = realloc(ss, scap * sizeof(*ss))))
                return -1;
        }
        ss[nsent++] = s;
    }
    free(line);
    fclose(f);
    *sents = ss;
    *ns = nsent;
    return first || !nsent ? -1 : 0;
}

/* ---- output ---- */
static void put_cp(uint32_t c, FILE *o)
{
    if (c == '"' || c == '\\') {
        putc('\\', o), putc((int)c, o);
    } else if (c < 0x20) {
        switch (c) {
        case '\n': fputs("\\n", o); break;
        case '\r': fputs("\\r", o); break;
        case '\t': fputs("\\t", o); break;
        case '\b': fputs("\\b", o); break;
        case '\f': fputs("\\f", o); break;
        default: fprintf(o, "\\u%04x", c);
        }
    } else if (c < 0x80) {
        putc((int)c, o);
    } else if (c < 0x800) {
        putc((int)(0xc0 | (c >> 6)), o), putc((int)(0x80 | (c & 0x3f)), o);
    } else if (c < 0x10000) {
        putc((int)(0xe0 | (c >> 12)), o), putc((int)(0x80 | ((c >> 6) & 0x3f)), o);
        putc((int)(0x80 | (c & 0x3f)), o);
    } else {
        putc((int)(0xf0 | (c >> 18)), o), putc((int)(0x80 | ((c >> 12) & 0x3f)), o);
        putc((int)(0x80 | ((c >> 6) & 0x3f)), o), putc((int)(0x80 | (c & 0x3f)), o);
    }
}

static int is_cjk(uint32_t c) { return c >= 0x4e00 && c <= 0x9fff; }

/* a whole number of at most 2^40 (START + N stays far from overflow) */
static int arg_u64(const char *s, const char *what, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end || *s == '-' || errno || x > (1ull << 40)) {
        fprintf(stderr, "syn_gen: %s '%s' is not a whole number from 0 to 2^40\n", what, s);
        return -1;
    }
    *v = x;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 6) {
        fprintf(stderr, "usage: syn_gen POOL N [START [SEED [MUTATE]]]\n");
        return 2;
    }
    uint64_t n = 0, start = 0, seed = 1;
    double mutate = 0.08;
    if (arg_u64(argv[2], "N", &n) || (argc > 3 && arg_u64(argv[3], "START", &start)) ||
        (argc > 4 && arg_u64(argv[4], "SEED", &seed)))
        return 2;
    if (argc > 5) {
        char *end;
        mutate = strtod(argv[5], &end);
        if (end == argv[5] || *end || !(mutate >= 0 && mutate <= 1)) {
            fprintf(stderr, "syn_gen: MUTATE '%s' is not a number from 0 to 1\n", argv[5]);
            return 2;
        }
    }
    str_t common = {NULL, 0}, *sents = NULL;
    size_t ns = 0;
    if (load_pool(argv[1], &common, &sents, &ns)) {
        fprintf(stderr, "syn_gen: %s: cannot read the pool (bench/syn_pool.py writes it)\n",
                argv[1]);
        return 1;
    }
    static uint32_t text[6000]; /* the first 6,000 code points: scale_gen's cut */
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    mt_t m;
    for (uint64_t i = start; i < start + n; i++) {
        py_seed(&m, seed * 1000003u + i);
        /* gauss(7.2, 0.6), its first value */
        double x2pi = py_random(&m) * 6.283185307179586;
        double g2rad = sqrt(-2.0 * log(1.0 - py_random(&m)));
        double e = exp(7.2 + cos(x2pi) * g2rad * 0.6);
        long target = (long)(e < 300 ? 300 : e > 6000 ? 6000 : e);
        size_t len = 0, npars = 0;
        long cps = 0;
        uint32_t npar = 2 + py_below(&m, 11);
        while (cps < target) {
            uint32_t k = 1 + py_below(&m, 8);
            if (npars && len < 6000)
                text[len++] = '\n';
            for (uint32_t j = 0; j < k; j++) {
                const str_t *s = &sents[py_below(&m, (uint32_t)ns)];
                for (size_t c = 0; c < s->n; c++) {
                    uint32_t v = s->cp[c];
                    if (mutate != 0 && is_cjk(v) && py_random(&m) < mutate)
                        v = common.cp[py_below(&m, (uint32_t)common.n)];
                    if (len < 6000)
                        text[len++] = v;
                }
                cps += (long)s->n;
                if (cps >= target)
                    break;
            }
            npars++;
            if (npars >= npar && cps >= 300)
                break;
        }
        printf("{\"id\": \"syn-%09llu\", \"text\": \"", (unsigned long long)(i + 1));
        for (size_t c = 0; c < len; c++)
            put_cp(text[c], stdout);
        fputs("\"}\n", stdout);
    }
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "syn_gen: write error\n");
        return 1;
    }
    return 0;
}
