/*
 * test_jsonl_fast.c — the JSONL fast path (src/jsonl_fast.c) must never give a result
 * different from jansson: for every line, ty__jsonl_parse() with the fast path and without
 * it returns the same status, name and text (and the fast path really takes the plain lines).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "../../fuzz/jsonl_both.h"
#include "jsonl_fast.h"

/* Parse line both ways; check they agree. Returns the status. */
static int both(const char *line, size_t len)
{
    jsonl_both_t j;
    jsonl_both(&j, "t.jsonl", 7, line, len);
    const ty_record_t *ra = &j.ra, *rb = &j.rb;
    CHECKF(j.x == j.y, "status %d (fast) != %d (jansson) for %.*s", j.x, j.y, (int)len, line);
    if (j.x == 1 && j.y == 1) {
        CHECKF(strcmp(ra->name, rb->name) == 0, "name '%s' != '%s' for %.*s", ra->name, rb->name,
               (int)len, line);
        CHECKF(ra->len == rb->len && memcmp(ra->text, rb->text, ra->len) == 0,
               "text differs for %.*s", (int)len, line);
        CHECK(ra->text[ra->len] == 0);
    }
    jsonl_both_free(&j);
    return j.x;
}

static const char *LINES[] = {
    "{\"id\":\"a\",\"text\":\"同源检测\"}",
    "  {\"text\" : \"x y\" , \"id\" : \"b\"}  ",
    "{\"text\":\"line\\nbreak \\\"q\\\" back\\\\slash \\/ \\t tab \\b\\f\\r\"}",
    "{\"text\":\"\\u4e2d\\u6587 and \\ud83d\\ude00\",\"id\":\"u\"}",
    "{\"text\":\"a\",\"id\":null}",
    "{\"text\":\"a\",\"id\":12345}",
    "{\"text\":\"a\",\"id\":-7}",
    "{\"text\":\"a\",\"id\":1.5}",
    "{\"text\":\"a\",\"id\":true}",
    "{\"text\":\"a\",\"meta\":{\"x\":[1,2]}}",
    "{\"text\":\"a\",\"n\":01}",
    "{\"text\":\"a\",\"n\":1.}",
    "{\"text\":\"a\",\"n\":-0.25}",
    "{\"text\":\"a\",\"n\":1e5}",
    "{\"text\":\"a\",\"n\":123456789012345678901234567890}",
    "{\"text\":\"a\",\"n\":-}",
    "{\"text\":\"a\",\"ok\":false,\"z\":null}",
    "{\"text\":\"first\",\"text\":\"second\"}",
    "{\"id\":\"1\",\"id\":\"2\",\"text\":\"t\"}",
    "{\"id\":\"1\",\"id\":null,\"text\":\"t\"}",
    "{\"text\":5}",
    "{\"text\":null}",
    "{\"id\":\"x\"}",
    "{}",
    "[\"text\"]",
    "\"text\"",
    "{\"text\":\"a\"} trailing",
    "{\"text\":\"a\",}",
    "{\"text\":\"a\" \"id\":\"b\"}",
    "{\"text\":\"unterminated}",
    "{\"text\":\"bad \\x escape\"}",
    "{\"text\":\"nul \\u0000 inside\"}",
    "{\"text\":\"lone \\udc00 low\"}",
    "{\"text\":\"lone \\ud800 high\"}",
    "{\"text\":\"short \\u12\"}",
    "{\"text\":\"tab\there\"}",
    "{\"te\\u0078t\":\"escaped key\"}",
    "{\"text\":\"ok\",\"other\":\"\xff bad utf8 elsewhere\"}",
    "{\"text\":\"\xe4\xb8\"}",
    "{\"text\":\"\xed\xa0\x80 surrogate bytes\"}",
    "{\"text\":\"\xc0\xaf overlong\"}",
    "{\"text\":\"a\",\"id\":\"with \\u0000 nul\"}",
    "{\"text\":\"\"}",
    "{ }",
    "",
    "   ",
    "{",
    "{\"text\":\"a\"}}",
    "{\"text\":\"a\",\"arr\":[]}",
    "{\"text\":\"a\",\"n\":0}",
    "{\"text\":\"a\",\"n\":-0}",
    "{\"text\":\"a\",\"n\":nul}",
    "{\"text\":\"a\",\"n\":truex}",
};

static void test_fixed_lines_agree(void)
{
    int fast_taken = 0;
    for (size_t i = 0; i < sizeof LINES / sizeof LINES[0]; i++)
        both(LINES[i], strlen(LINES[i]));
    /* and the fast path really serves the plain lines */
    ty_jsonl_fast_t f;
    memset(&f, 0, sizeof f);
    fast_taken += ty__jsonl_fast(&f, LINES[0], strlen(LINES[0]), "text", "id");
    fast_taken += ty__jsonl_fast(&f, LINES[2], strlen(LINES[2]), "text", "id");
    fast_taken += ty__jsonl_fast(&f, LINES[3], strlen(LINES[3]), "text", "id");
    CHECK_EQ_INT(fast_taken, 3);
    CHECK_EQ_STR(f.text, "中文 and \xf0\x9f\x98\x80");
    CHECK(!ty__jsonl_fast(&f, LINES[5], strlen(LINES[5]), "text", "id")); /* integer id */
    ty__jsonl_fast_free(&f);
}

/* Every line cut at every length, and with one byte changed: the two parsers agree. */
static void test_mutations_agree(void)
{
    char buf[256];
    unsigned seed = 12345;
    const char *muts = "\"\\{}[],:0-1e.ux \t\xff\xe4n";
    for (size_t i = 0; i < sizeof LINES / sizeof LINES[0]; i++) {
        size_t n = strlen(LINES[i]);
        if (n >= sizeof buf)
            continue;
        for (size_t cut = 0; cut <= n; cut++)
            both(LINES[i], cut);
        for (int r = 0; r < 200; r++) {
            memcpy(buf, LINES[i], n);
            seed = seed * 1103515245u + 12345u;
            size_t at = n ? (seed >> 8) % n : 0;
            seed = seed * 1103515245u + 12345u;
            if (n)
                buf[at] = muts[(seed >> 8) % strlen(muts)];
            both(buf, n);
        }
    }
}

int main(void)
{
    RUN(test_fixed_lines_agree);
    RUN(test_mutations_agree);
    return ck_summary("test_jsonl_fast");
}
