/*
 * test_normalize.c — normalize.c: from UTF-8 bytes to comparison tokens.
 *
 * What must hold, on real Chinese and mixed-script text: equal text after NFKC, case folding
 * and Traditional→Simplified gives equal token ids; punctuation, symbols and spaces give no
 * token; one token per CJK character, one per letter/digit run; every token's code point and
 * byte span points at exactly the original characters it came from.
 */
#include <stdint.h>

#include "check.h"
#include "tongyuan.h"

#define MAXTOK 4096

static ty_opts_t opts(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    return o;
}

/* Decode one code point of valid UTF-8 (the test's own decoder, not the library's). */
static uint32_t dec(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    size_t l = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    uint32_t c = s[0] & (0x7Fu >> l);
    for (size_t i = 1; i < l; i++)
        c = (c << 6) | (s[i] & 0x3Fu);
    *len = l;
    return c;
}

/* code points in s[0..n) of valid UTF-8 */
static size_t ncp(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Token ids of text s (strict mode; the load must succeed). Returns the count. */
static size_t ids_of(const char *s, uint32_t *out)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    int rc = ty_doc_load_mem(d, "mem", s, strlen(s), &o);
    CHECKF(rc == TY_OK, "load \"%s\": %s", s, ty_doc_errmsg(d));
    size_t n = ty_doc_ntokens(d);
    CHECKF(n <= MAXTOK, "too many tokens");
    for (size_t i = 0; i < n && i < MAXTOK; i++) {
        ty_token_t t;
        ty_doc_token(d, i, &t);
        out[i] = t.id;
    }
    ty_doc_free(d);
    return n;
}

/* a and b give the same token stream */
#define CHECK_SAME_TOKENS(a, b) check_same(__FILE__, __LINE__, a, b)
static void check_same(const char *file, int line, const char *a, const char *b)
{
    static uint32_t x[MAXTOK], y[MAXTOK];
    size_t n = ids_of(a, x), m = ids_of(b, y);
    int same = n == m && memcmp(x, y, n * sizeof(uint32_t)) == 0;
    size_t i = 0;
    while (i < n && i < m && x[i] == y[i])
        i++;
    ck_report(same, file, line,
              "\"%s\" and \"%s\" differ: %zu vs %zu tokens, first difference at token %zu "
              "(0x%x vs 0x%x)",
              a, b, n, m, i, i < n ? x[i] : 0, i < m ? y[i] : 0);
}

#define CHECK_DIFFERENT_TOKENS(a, b) check_different(__FILE__, __LINE__, a, b)
static void check_different(const char *file, int line, const char *a, const char *b)
{
    static uint32_t x[MAXTOK], y[MAXTOK];
    size_t n = ids_of(a, x), m = ids_of(b, y);
    ck_report(n != m || memcmp(x, y, n * sizeof(uint32_t)) != 0, file, line,
              "\"%s\" and \"%s\" should give different tokens", a, b);
}

/* The tokens of text are exactly the substrings expect[0..n), in order. */
#define CHECK_TOKENS(text, ...)                                                           \
    do {                                                                                  \
        const char *ck_exp[] = {__VA_ARGS__};                                             \
        check_tokens(__FILE__, __LINE__, text, ck_exp, sizeof ck_exp / sizeof ck_exp[0]); \
    } while (0)
static void check_tokens(const char *file, int line, const char *text, const char **expect,
                         size_t n)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    int rc = ty_doc_load_mem(d, "mem", text, strlen(text), &o);
    ck_report(rc == TY_OK, file, line, "load \"%s\": %s", text, ty_doc_errmsg(d));
    size_t nt = ty_doc_ntokens(d);
    ck_report(nt == n, file, line, "\"%s\": %zu tokens, expected %zu", text, nt, n);
    size_t from = 0; /* where the next expected token is searched for */
    for (size_t i = 0; i < nt && i < n; i++) {
        ty_token_t t;
        ty_doc_token(d, i, &t);
        const char *at = strstr(text + from, expect[i]);
        size_t el = strlen(expect[i]);
        size_t eb = at ? (size_t)(at - text) : 0;
        ck_report(at && t.byte_off == eb && t.byte_len == el, file, line,
                  "\"%s\" token %zu: bytes %u+%u = \"%.*s\", expected \"%s\" at byte %zu", text, i,
                  t.byte_off, t.byte_len, (int)t.byte_len, text + t.byte_off, expect[i], eb);
        ck_report(t.cp_off == ncp(text, t.byte_off) &&
                      t.cp_len == ncp(text + t.byte_off, t.byte_len),
                  file, line, "\"%s\" token %zu: code points %u+%u, expected %zu+%zu", text, i,
                  t.cp_off, t.cp_len, ncp(text, t.byte_off), ncp(text + t.byte_off, t.byte_len));
        if (at)
            from = eb + el;
    }
    ck_report(ty_doc_ncodepoints(d) == ncp(text, strlen(text)), file, line,
              "\"%s\": %zu code points, expected %zu", text, ty_doc_ncodepoints(d),
              ncp(text, strlen(text)));
    ty_doc_free(d);
}

/* ---- NFKC and case folding ---------------------------------------------------------------- */

static void test_fullwidth_latin_folds_to_ascii(void)
{
    CHECK_EQ_HEX(ty_normalize_cp(0xFF21), 'a'); /* Ａ */
    CHECK_EQ_HEX(ty_normalize_cp(0xFF41), 'a'); /* ａ */
    CHECK_EQ_HEX(ty_normalize_cp(0xFF11), '1'); /* １ */
    CHECK_SAME_TOKENS("ＡＢＣ１２３", "abc123");
    CHECK_SAME_TOKENS("ＡＢＣ１２３", "ABC123");
    CHECK_SAME_TOKENS("在ＧＩＭＰ　２中", "在GIMP 2中");
    /* one word token, not one per character */
    uint32_t x[MAXTOK];
    CHECK_EQ_UINT(ids_of("ＡＢＣ１２３", x), 1);
}

static void test_compat_ideographs_and_halfwidth_kana(void)
{
    /* CJK compatibility ideographs decompose canonically to the unified ideograph: even NFC
     * maps them, and they turn up in text converted from legacy encodings. U+F900 becomes
     * U+8C48 豈, which is Traditional: Traditional→Simplified then gives 岂 */
    CHECK_EQ_HEX(ty_normalize_cp(0xF900), 0x5C82);  /* 豈 → 豈 → 岂 */
    CHECK_EQ_HEX(ty_normalize_cp(0x2F800), 0x4E3D); /* 丽 (supplement) → 丽 */
    CHECK_EQ_HEX(ty_normalize_cp(0x2F00), 0x4E00);  /* Kangxi radical ⼀ → 一 */
    CHECK_EQ_HEX(ty_normalize_cp(0xFF71), 0x30A2);  /* half-width ｱ → ア */
    CHECK_SAME_TOKENS("ｱｲｳ", "アイウ");
}

static void test_combining_sequences_equal_precomposed(void)
{
    CHECK_SAME_TOKENS("caf\xc3\xa9", "cafe\xcc\x81");
    CHECK_SAME_TOKENS("CAF\xc3\x89", "cafe\xcc\x81");
}

static void test_case_fold(void)
{
    CHECK_SAME_TOKENS("Hello", "hello");
    CHECK_SAME_TOKENS("HELLO World", "hello world");
    CHECK_SAME_TOKENS("使用GIMP和Shift键", "使用gimp和SHIFT键");
    CHECK_SAME_TOKENS("Straße", "STRASSE");        /* full case folding: ß → ss */
    CHECK_SAME_TOKENS("ПРИВЕТ мир", "привет МИР"); /* Cyrillic */
    CHECK_SAME_TOKENS("ΣΟΦΊΑ", "σοφία");
    CHECK_EQ_HEX(ty_normalize_cp('A'), 'a');
    CHECK_EQ_HEX(ty_normalize_cp('z'), 'z');
    CHECK_DIFFERENT_TOKENS("hello", "hellp");
}

/* ---- Traditional → Simplified ------------------------------------------------------------- */

static void test_trad_to_simp(void)
{
    CHECK_SAME_TOKENS("這個問題", "这个问题");
    CHECK_SAME_TOKENS("後", "后");
    CHECK_SAME_TOKENS("發", "发");
    CHECK_SAME_TOKENS("裡", "里");
    CHECK_SAME_TOKENS("裏", "里");
    CHECK_SAME_TOKENS("我們學習國語，說來容易。", "我们学习国语，说来容易。");
    CHECK_SAME_TOKENS("網路設定檔案與電腦", "网路设定档案与电脑");
    CHECK_EQ_HEX(ty_normalize_cp(0x5F8C), 0x540E); /* 後 → 后 */
    CHECK_EQ_HEX(ty_normalize_cp(0x767C), 0x53D1); /* 發 → 发 */
    CHECK_EQ_HEX(ty_normalize_cp(0x88E1), 0x91CC); /* 裡 → 里 */
    CHECK_EQ_HEX(ty_normalize_cp(0x540E), 0x540E); /* simplified stays */
    /* different characters stay different */
    CHECK_DIFFERENT_TOKENS("这个问题", "那个问题");
}

/* Whole real documents: Traditional text and its OpenCC conversion give the same tokens. */
static void check_same_files(const char *a, const char *b, size_t min_tokens)
{
    ty_opts_t o = opts();
    ty_doc_t *x = ty_doc_new(), *y = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_file(x, ck_data(a), &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_file(y, ck_data(b), &o), TY_OK);
    size_t n = ty_doc_ntokens(x);
    CHECK_EQ_UINT(n, ty_doc_ntokens(y));
    CHECKF(n >= min_tokens, "%s: only %zu tokens", a, n);
    size_t diff = 0;
    const char *tx = ty_doc_text(x, NULL), *ty = ty_doc_text(y, NULL);
    for (size_t i = 0; i < n && i < ty_doc_ntokens(y); i++) {
        ty_token_t s, t;
        ty_doc_token(x, i, &s);
        ty_doc_token(y, i, &t);
        if (s.id != t.id)
            CHECKF(diff++ > 5, "%s vs %s token %zu: %.*s (0x%x) vs %.*s (0x%x)", a, b, i,
                   (int)s.byte_len, tx + s.byte_off, s.id, (int)t.byte_len, ty + t.byte_off, t.id);
    }
    CHECK_EQ_UINT(diff, 0);
    ty_doc_free(x);
    ty_doc_free(y);
}

static void test_trad_real_text(void)
{
    check_same_files("src-00001.txt", "src-00001.t2s.txt", 900); /* classical poems */
    check_same_files("src-00596.txt", "src-00596.s2t.txt", 700); /* GIMP help */
}

/* ---- what is dropped ---------------------------------------------------------------------- */

static void test_punct_and_space_dropped(void)
{
    CHECK_SAME_TOKENS("你好，世界。再见！", "你好,世界.再见!");
    CHECK_SAME_TOKENS("你好，世界。再见！", "你好世界再见");
    CHECK_SAME_TOKENS("你好，世界。再见！", "　　你好 世界\n\n再见\r\n");
    CHECK_SAME_TOKENS("你好\xe3\x80\x80世界", "你好世界"); /* U+3000 ideographic space */
    CHECK_SAME_TOKENS("「你好」『世界』《再见》（注）、；：？…—·", "你好世界再见注");
    CHECK_SAME_TOKENS("GIMP 2.0：新功能", "GIMP,2,0新功能");
    CHECK_SAME_TOKENS("😀中文🎉", "中文");
    uint32_t x[MAXTOK];
    CHECK_EQ_UINT(
        ids_of("，。！？、；：「」『』《》（）…—　 \t\r\n,.!?;:'\"()[]{}<>/\\|@#$%^&*~`+=-_", x),
        0);
    static const uint32_t dropped[] = {
        ' ',    '\t',   '\n',   '\r',   '.',    ',',     '!',    '?',    ';',    ':',
        '-',    '(',    ')',    '"',    '\'',   0x3000,  0x3001, 0x3002, 0xFF0C, 0xFF01,
        0xFF1F, 0xFF1B, 0xFF1A, 0x300C, 0x300D, 0x300E,  0x300F, 0x300A, 0x300B, 0xFF08,
        0xFF09, 0x2026, 0x2014, 0x00B7, 0x00A0, 0x1F600, 0xFFFD, 0x200B, 0};
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        CHECKF(ty_normalize_cp(dropped[i]) == 0, "U+%04X should be dropped, gives U+%04X",
               dropped[i], ty_normalize_cp(dropped[i]));
}

/* ---- token boundaries --------------------------------------------------------------------- */

static void test_one_token_per_cjk_character(void)
{
    CHECK_TOKENS("中文分词测试", "中", "文", "分", "词", "测", "试");
    CHECK_TOKENS("𠀀𠀁中", "𠀀", "𠀁", "中"); /* CJK extension B: 4 bytes each */
    CHECK_TOKENS("ひらがな", "ひ", "ら", "が", "な");
    CHECK_TOKENS("カタカナ", "カ", "タ", "カ", "ナ");
    CHECK_TOKENS("한국어", "한", "국", "어");
    CHECK_TOKENS("〇一二", "〇", "一", "二");
    /* CJK ids are the code point; different characters, different ids */
    uint32_t x[MAXTOK];
    CHECK_EQ_UINT(ids_of("中𠀀", x), 2);
    CHECK_EQ_HEX(x[0], 0x4E2D);
    CHECK_EQ_HEX(x[1], 0x20000);
}

static void test_one_token_per_word(void)
{
    CHECK_TOKENS("abc 123 x1y2", "abc", "123", "x1y2");
    CHECK_TOKENS("abc中文def", "abc", "中", "文", "def");
    CHECK_TOKENS("foo-bar", "foo", "bar");
    CHECK_TOKENS("3.14", "3", "14");
    CHECK_TOKENS("使用GIMP2.0和Shift键", "使", "用", "GIMP2", "0", "和", "Shift", "键");
    CHECK_TOKENS("naïve Ünïcödé", "naïve", "Ünïcödé");
    CHECK_TOKENS("roff.7,也就是", "roff", "7", "也", "就", "是");
    uint32_t x[MAXTOK], y[MAXTOK];
    CHECK_EQ_UINT(ids_of("abc", x), 1);
    CHECKF(x[0] & 0x80000000u, "word id 0x%x has no top bit", x[0]);
    CHECK_EQ_UINT(ids_of("中", y), 1);
    CHECKF(!(y[0] & 0x80000000u), "CJK id 0x%x has the top bit", y[0]);
    /* order and length matter inside a word */
    CHECK_DIFFERENT_TOKENS("ab", "ba");
    CHECK_DIFFERENT_TOKENS("a", "aa");
    CHECK_DIFFERENT_TOKENS("abc", "abcd");
    CHECK_DIFFERENT_TOKENS("ab cd", "abc d");
}

/* Offsets against the original bytes, with 3- and 4-byte characters, emoji, combining marks
 * and full-width forms before and inside the tokens. */
static void test_token_offsets_mixed(void)
{
    const char *s = "　　GIMP 2.0：😀新𠀀功能 café（cafe\xcc\x81）ＡＢ12\n";
    CHECK_TOKENS(s, "GIMP", "2", "0", "新", "𠀀", "功", "能", "café", "cafe\xcc\x81", "ＡＢ12");
    /* the same, written out by hand: code point and byte offsets of every token */
    static const uint32_t cp[][2] = {{2, 4},  {7, 1},  {9, 1},  {12, 1}, {13, 1},
                                     {14, 1}, {15, 1}, {17, 4}, {22, 5}, {28, 4}};
    static const uint32_t by[][2] = {{6, 4},  {11, 1}, {13, 1}, {21, 3}, {24, 4},
                                     {28, 3}, {31, 3}, {35, 5}, {43, 6}, {52, 8}};
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "mem", s, strlen(s), &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 10);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 33);
    for (size_t i = 0; i < 10 && i < ty_doc_ntokens(d); i++) {
        ty_token_t t;
        CHECK_EQ_INT(ty_doc_token(d, i, &t), TY_OK);
        CHECKF(t.cp_off == cp[i][0] && t.cp_len == cp[i][1] && t.byte_off == by[i][0] &&
                   t.byte_len == by[i][1],
               "token %zu: cp %u+%u bytes %u+%u, expected cp %u+%u bytes %u+%u", i, t.cp_off,
               t.cp_len, t.byte_off, t.byte_len, cp[i][0], cp[i][1], by[i][0], by[i][1]);
    }
    ty_doc_free(d);
    /* a combining mark stays inside its word, wherever it is */
    CHECK_TOKENS("e\xcc\x81t\xc3\xa9 x\xcc\xa3\xcc\x87y", "e\xcc\x81t\xc3\xa9",
                 "x\xcc\xa3\xcc\x87y");
}

/* ---- ty_normalize_cp ---------------------------------------------------------------------- */

static void test_normalize_cp_edges(void)
{
    CHECK_EQ_HEX(ty_normalize_cp(0), 0);
    CHECK_EQ_HEX(ty_normalize_cp(0xD800), 0); /* surrogates are not characters */
    CHECK_EQ_HEX(ty_normalize_cp(0xDFFF), 0);
    CHECK_EQ_HEX(ty_normalize_cp(0x110000), 0);
    CHECK_EQ_HEX(ty_normalize_cp(0xFFFFFFFFu), 0);
    CHECK_EQ_HEX(ty_normalize_cp(0x4E2D), 0x4E2D);   /* 中 */
    CHECK_EQ_HEX(ty_normalize_cp(0x3007), 0x3007);   /* 〇 */
    CHECK_EQ_HEX(ty_normalize_cp(0x20000), 0x20000); /* 𠀀 */
    CHECK_EQ_HEX(ty_normalize_cp('7'), '7');
}

/* normalize(normalize(c)) == normalize(c) for every code point, and the result is a valid,
 * non-surrogate code point */
static void test_normalize_cp_idempotent(void)
{
    for (uint32_t c = 1; c <= 0x10FFFF; c++) {
        uint32_t n = ty_normalize_cp(c);
        if (!n)
            continue;
        uint32_t m = ty_normalize_cp(n);
        CHECKF(m == n && n <= 0x10FFFF && !(n >= 0xD800 && n <= 0xDFFF),
               "U+%04X -> U+%04X -> U+%04X", c, n, m);
    }
}

/* On real files: token spans tile the text in order at character boundaries, code point
 * offsets agree with the bytes, CJK token ids are ty_normalize_cp() of their character, and
 * what lies between tokens is only characters that normalize to nothing. */
static void check_file_invariants(const char *file)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_file(d, ck_data(file), &o), TY_OK);
    size_t len;
    const unsigned char *s = (const unsigned char *)ty_doc_text(d, &len);
    size_t nt = ty_doc_ntokens(d), bad = 0;
    CHECKF(nt > 100, "%s: %zu tokens", file, nt);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), ncp((const char *)s, len));
    size_t b = 0, cp = 0; /* scan position (bytes, code points) */
    for (size_t i = 0; i < nt && bad < 5; i++) {
        ty_token_t t;
        ty_doc_token(d, i, &t);
        int ok = t.byte_off >= b && t.byte_off + t.byte_len <= len && t.byte_len > 0 &&
                 (s[t.byte_off] & 0xC0) != 0x80 &&
                 (t.byte_off + t.byte_len == len || (s[t.byte_off + t.byte_len] & 0xC0) != 0x80);
        if (!CHECKF(ok, "%s token %zu: bad byte span %u+%u", file, i, t.byte_off, t.byte_len)) {
            bad++;
            break;
        }
        while (b < t.byte_off) { /* the gap: dropped characters only */
            size_t l;
            uint32_t c = dec(s + b, &l);
            if (!CHECKF(ty_normalize_cp(c) == 0,
                        "%s: U+%04X at byte %zu is between tokens "
                        "but normalizes to U+%04X",
                        file, c, b, ty_normalize_cp(c)))
                bad++;
            b += l;
            cp++;
        }
        if (!CHECKF(t.cp_off == cp && t.cp_len == ncp((const char *)s + b, t.byte_len),
                    "%s token %zu: cp %u+%u, expected %zu+%zu", file, i, t.cp_off, t.cp_len, cp,
                    ncp((const char *)s + b, t.byte_len)))
            bad++;
        if (t.cp_len == 1 && !(t.id & 0x80000000u)) {
            size_t l;
            uint32_t c = dec(s + b, &l);
            if (!CHECKF(t.id == ty_normalize_cp(c),
                        "%s token %zu: U+%04X has id 0x%x, "
                        "ty_normalize_cp gives 0x%x",
                        file, i, c, t.id, ty_normalize_cp(c)))
                bad++;
        } else {
            CHECKF(t.id & 0x80000000u, "%s token %zu: %u code points but no word bit", file, i,
                   t.cp_len);
        }
        b += t.byte_len;
        cp += t.cp_len;
    }
    ty_doc_free(d);
}

static void test_real_files_invariants(void)
{
    static const char *files[] = {"src-00596.txt", "src-00596.s2t.txt", "src-00001.txt",
                                  "src-00387.txt", "sus-00243.txt",     "sus-00180.txt",
                                  "sus-00017.txt", "hay-00031.txt",     "hay-00207.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        check_file_invariants(files[i]);
}

int main(void)
{
    RUN(test_fullwidth_latin_folds_to_ascii);
    RUN(test_compat_ideographs_and_halfwidth_kana);
    RUN(test_combining_sequences_equal_precomposed);
    RUN(test_case_fold);
    RUN(test_trad_to_simp);
    RUN(test_trad_real_text);
    RUN(test_punct_and_space_dropped);
    RUN(test_one_token_per_cjk_character);
    RUN(test_one_token_per_word);
    RUN(test_token_offsets_mixed);
    RUN(test_normalize_cp_edges);
    RUN(test_normalize_cp_idempotent);
    RUN(test_real_files_invariants);
    return ck_summary("test_normalize");
}
