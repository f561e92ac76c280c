/*
 * html.c — an HTML page → its article: the main text in reading order, one block a line, and
 * the <title>. Navigation, menus, headers, footers, sidebars, link lists, scripts, styles,
 * forms and comments are left out, so that two articles of one site are not "reuse" of each
 * other through the menu and footer they share.
 *
 * Parsing is libxml2's HTML parser (a well-kept, forgiving HTML 4 parser that builds a tree
 * of any tag soup, with its own limits on depth and size); the text reaches it as UTF-8
 * (encoding.c decoded it: <meta> is ignored by the parser, HTML_PARSE_IGNORE_ENC).
 *
 * The boilerplate rule works on blocks (the text between block-level tags: p, div, li, td,
 * h1-h6, br ...), after jusText (Pomikálek 2011) with changes for Chinese, where a
 * word count means nothing and sentences are short:
 *   1. context-free class of each block:
 *        bad      inside nav, footer, aside, a header outside the article, a form control,
 *                 an element with role=navigation/banner/contentinfo/complementary, or a
 *                 class/id word such as nav, menu, footer, sidebar, breadcrumb, share,
 *                 related, comment, copyright, ad (the words readability and boilerpipe
 *                 use); or a short block (under 60 tokens) that states copyright (版权所有,
 *                 Copyright, ©, ICP备 — a footer in a table layout without class names); or
 *                 a link density (characters inside <a href>) above 0.33
 *        good     at least 20 tokens (a CJK character or a word is a token) with sentence
 *                 punctuation, or 50 tokens; inside <article>, <main> or a content class
 *                 (article, content, post, entry, zhengwen ...) 8 tokens (poems, lists)
 *        short    under 8 tokens (near-good inside a content element)
 *        neargood the rest
 *   2. context: a short block between two good ones is good, between two bad ones bad; a
 *      near-good block is good unless both neighbours are bad; a short or near-good heading
 *      followed (within 200 tokens) by a good block is good (the headline).
 *   3. the article's container, after readability: every prose block (not bad, sentence
 *      punctuation, 8+ tokens) votes its tokens for its container (its element, a
 *      paragraph's parent) and half for the container's parent. The winner's blocks are the
 *      article — all that are not bad alone, so that an advert inside the article does not
 *      cut it in two, as it does in jusText — with the headline, date and source lines just
 *      before it; good blocks elsewhere stay only as a run of half the article's tokens.
 *      Without any prose: jusText's longest run of good blocks (joined across MAX_GAP bad
 *      tokens), and runs holding a quarter of its tokens.
 *   4. a page where nothing is good keeps every block that is not bad alone (a page of one
 *      short line keeps it, a page of links nothing).
 * Blocks already seen on another page of the same site (ty__sites_t: a WARC crawl holds many
 * pages of each host; blocks of up to REPEAT_MAX tokens) are template text: they do not vote
 * in step 3 and are dropped outside the article's container (bad in jusText's steps when
 * there is no container) — but never inside it: a page that repeats a paragraph of another
 * page of its site keeps it, since finding such repeats is what tongyuan is for.
 * Also bad: a teaser (prose right after a link of its own in the same <li>: related articles
 * with summaries) and a short block that states copyright (a footer without class names).
 * The thresholds were set, and are measured, on generated pages of several layouts
 * (scripts/html_eval.py: semantic HTML5, div soup with class names, old table layouts
 * without any; make eval-html).
 */
#include <string.h>
#include <strings.h>

#include "extlib.h"
#include "extract.h"
#include "hash.h"

#define GOOD_TOKENS 20 /* with punctuation */
#define LONG_TOKENS 50 /* without */
#define SHORT_TOKENS 8
#define MAX_LINK_DENSITY 0.33
#define HEADING_REACH 200
#define MAX_GAP 60    /* bad tokens a run of good blocks may cross */
#define REPEAT_MAX 60 /* longer blocks are not dropped for being repeated on the site */

enum { C_BAD, C_SHORT, C_NEARGOOD, C_GOOD };

typedef struct {
    size_t beg, end;   /* the block's text in the walk's buffer */
    size_t tokens;     /* CJK characters + words */
    size_t chars;      /* characters that are not space */
    size_t link_chars; /* of them, inside <a href> */
    size_t punct;      /* sentence punctuation */
    int heading;       /* 1..6 for h1..h6 */
    int boiler;        /* inside a boilerplate element */
    int content;       /* inside <article>, <main> or an element whose class/id says content */
    const xmlNode *el; /* the element whose own text the block is */
    const xmlNode *li; /* the list item it is in, if any */
    int in;            /* inside the article's container (classify) */
    int repeated;      /* seen on another page of the site */
    int cls;
} block_t;

typedef struct {
    ty__str_t buf; /* text of all blocks */
    TY_VEC(block_t) b;
    block_t cur; /* block being filled */
    int in_link, boiler, content, heading, depth, pre;
    const xmlNode *el, *li; /* the innermost block element and list item open */
    int in_word; /* the last character counted was a letter or digit (words are tokens) */
    const ty__libxml_t *X;
    int oom;
} walk_t;

/* ---- site memory (repeated blocks) -------------------------------------------------------- */

/* Per (site, block text) hash: the last page that held it and how many did (saturating). */
typedef struct {
    uint32_t page;
    uint8_t seen;
} site_blk_t;

static inline size_t site_home(uint64_t k) { return (size_t)(k ^ (k >> 29)); }
TY_HASH_MAP_INIT(site_tab, uint64_t, site_blk_t, site_home)

struct ty__sites {
    site_tab_t t; /* hash of (site, block text) -> its pages; 0 = empty */
    uint32_t pages;
};

ty__sites_t *ty__sites_new(void) { return calloc(1, sizeof(ty__sites_t)); }

void ty__sites_free(ty__sites_t *s)
{
    if (!s)
        return;
    site_tab_free(&s->t);
    free(s);
}

static uint64_t fnv(const char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

/* Slot of key k (inserted if absent and there is room); -1 when full. 4M blocks remembered
 * are enough: then new ones are not added (nor when growing fails). */
static long sites_slot(ty__sites_t *s, uint64_t k)
{
    site_tab_t *t = &s->t;
    if (t->n * 2 >= t->cap && t->cap < (1u << 22))
        (void)site_tab_resize(t, t->cap ? t->cap * 2 : 4096);
    if (!t->cap)
        return -1;
    size_t x = site_tab_slot(t->key, t->cap, k);
    if (!t->key[x]) {
        if (t->n * 2 >= t->cap)
            return -1;
        t->key[x] = k;
        t->val[x] = (site_blk_t){0, 0};
        t->n++;
    }
    return (long)x;
}

/* Mark the blocks of this page seen on earlier pages of its site; remember them all. */
static void sites_mark(ty__sites_t *s, const char *site, walk_t *w)
{
    if (!s || !site)
        return;
    uint32_t page = ++s->pages;
    uint64_t sh = fnv(site, strlen(site), 0xcbf29ce484222325ULL);
    for (size_t i = 0; i < w->b.n; i++) {
        block_t *b = &w->b.a[i];
        if (!b->tokens || b->tokens > REPEAT_MAX)
            continue;
        uint64_t k = fnv(w->buf.a + b->beg, b->end - b->beg, sh) | 1;
        long x = sites_slot(s, k);
        if (x < 0)
            continue;
        site_blk_t *v = &s->t.val[x];
        if (v->seen && v->page != page)
            b->repeated = 1;
        if (v->page != page && v->seen < 255)
            v->seen++;
        v->page = page;
    }
}

/* ---- the walk ------------------------------------------------------------------------------ */

static int name_is(const xmlNode *n, const char *s)
{
    return n->name && strcasecmp((const char *)n->name, s) == 0;
}

static int name_in(const xmlNode *n, const char *const *list)
{
    for (; *list; list++)
        if (name_is(n, *list))
            return 1;
    return 0;
}

static const char *const SKIP[] = {"script", "style",  "noscript", "template", "iframe",
                                   "object", "embed",  "svg",      "math",     "canvas",
                                   "select", "button", "textarea", "input",    "head",
                                   "map",    "audio",  "video",    NULL};
static const char *const BLOCK[] = {
    "address", "article", "aside", "blockquote", "body",    "center",   "dd",         "details",
    "dialog",  "dir",     "div",   "dl",         "dt",      "fieldset", "figcaption", "figure",
    "footer",  "form",    "h1",    "h2",         "h3",      "h4",       "h5",         "h6",
    "header",  "hgroup",  "hr",    "html",       "li",      "main",     "menu",       "nav",
    "ol",      "p",       "pre",   "section",    "summary", "table",    "tbody",      "td",
    "tfoot",   "th",      "thead", "tr",         "ul",      "caption",  "legend",     "option",
    "br",      NULL};
static const char *const BOILER_TAGS[] = {"nav", "footer", "aside", "menu", "form", NULL};

/* class/id words of boilerplate (readability's and boilerpipe's lists, plus the usual words
 * of Chinese sites: daohang, dh, bottom, copyright, friendlink) */
static const char *const NEG_WORDS[] = {
    "nav",       "navbar",  "navigation",    "menu",        "menubar",   "footer",     "foot",
    "sidebar",   "side",    "breadcrumb",    "breadcrumbs", "crumb",     "crumbs",     "share",
    "social",    "related", "recommend",     "comment",     "comments",  "advert",     "ad",
    "ads",       "adv",     "advertisement", "banner",      "copyright", "pagination", "pager",
    "widget",    "toolbar", "masthead",      "login",       "subscribe", "sponsor",    "popup",
    "modal",     "cookie",  "daohang",       "dh",          "bottom",    "friendlink", "links",
    "hot",       "rank",    "tags",          "tagcloud",    "topbar",    "sitemap",    "disclaimer",
    "statement", NULL};
static const char *const POS_WORDS[] = {"article", "content", "post",   "entry", "main",     "text",
                                        "body",    "story",   "detail", "news",  "zhengwen", NULL};

/* 1 if the attribute value holds one of the words (split at anything not a letter/digit;
 * a word also matches as the start of a compound such as "navlist" or "footer2"). */
static int has_word(const char *v, const char *const *words)
{
    if (!v)
        return 0;
    const char *p = v;
    while (*p) {
        while (*p &&
               !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            p++;
        const char *s = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            p++;
        size_t n = (size_t)(p - s);
        for (const char *const *w = words; n && *w; w++) {
            size_t l = strlen(*w);
            if (n == l && strncasecmp(s, *w, l) == 0)
                return 1;
            /* "navlist", "footer2", "menu_top": the word, then a digit or a known suffix */
            if (n > l && l >= 3 && strncasecmp(s, *w, l) == 0 &&
                ((s[l] >= '0' && s[l] <= '9') || strncasecmp(s + l, "list", 4) == 0 ||
                 strncasecmp(s + l, "bar", 3) == 0 || strncasecmp(s + l, "box", 3) == 0 ||
                 strncasecmp(s + l, "wrap", 4) == 0))
                return 1;
        }
    }
    return 0;
}

static char *attr(const ty__libxml_t *X, const xmlNode *n, const char *name)
{
    return (char *)X->xmlGetProp(n, (const xmlChar *)name);
}

/* The element's own boilerplate signal: 1 boilerplate, -1 content, 0 neither. */
static int boiler_of(const ty__libxml_t *X, const xmlNode *n, int in_content)
{
    if (name_in(n, BOILER_TAGS))
        return 1;
    if (name_is(n, "header") && !in_content)
        return 1;
    int r = 0;
    char *role = attr(X, n, "role"), *cls = attr(X, n, "class"), *id = attr(X, n, "id");
    char *hid = attr(X, n, "hidden"), *aria = attr(X, n, "aria-hidden");
    char *style = attr(X, n, "style");
    if (role && (strcasecmp(role, "navigation") == 0 || strcasecmp(role, "banner") == 0 ||
                 strcasecmp(role, "contentinfo") == 0 || strcasecmp(role, "complementary") == 0 ||
                 strcasecmp(role, "menu") == 0 || strcasecmp(role, "menubar") == 0 ||
                 strcasecmp(role, "search") == 0))
        r = 1;
    else if (hid || (aria && strcasecmp(aria, "true") == 0) ||
             (style && (strcasestr(style, "display:none") || strcasestr(style, "display: none") ||
                        strcasestr(style, "visibility:hidden"))))
        r = 2; /* hidden: not even a block */
    else if (has_word(cls, NEG_WORDS) || has_word(id, NEG_WORDS))
        r = 1;
    else if (name_is(n, "article") || name_is(n, "main") || has_word(cls, POS_WORDS) ||
             has_word(id, POS_WORDS))
        r = -1;
    X->xfree(role);
    X->xfree(cls);
    X->xfree(id);
    X->xfree(hid);
    X->xfree(aria);
    X->xfree(style);
    return r;
}

/* counts of one UTF-8 text piece into the current block */
static void count(block_t *b, const unsigned char *s, size_t n, int in_link, int *in_word)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = 0xFFFD;
        int l = ty__utf8_decode(s + i, n - i, &c);
        i += l ? (size_t)l : 1;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x3000) {
            *in_word = 0;
            continue;
        }
        b->chars++;
        if (in_link)
            b->link_chars++;
        int cjk = (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x9FFF) ||
                  (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
                  (c >= 0x20000 && c <= 0x3FFFF);
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= 0xC0 && c < 0x2000);
        if (c == 0x3002 || c == 0xFF0C || c == 0x3001 || c == 0xFF1B || c == 0xFF01 ||
            c == 0xFF1F || c == 0xFF1A || c == 0x2026 || c == ',' || c == '.' || c == ';' ||
            c == '!' || c == '?')
            b->punct++;
        if (cjk) {
            b->tokens++;
            *in_word = 0;
        } else if (alnum) {
            if (!*in_word)
                b->tokens++;
            *in_word = 1;
        } else {
            *in_word = 0;
        }
    }
}

/* A footer's words: copyright notices, licence numbers of Chinese sites, reprint rules. */
static int footer_words(const char *p, size_t n)
{
    static const char *const W[] = {"版权所有",
                                    "版权归",
                                    "Copyright",
                                    "COPYRIGHT",
                                    "copyright",
                                    "©",
                                    "ICP备",
                                    "ICP证",
                                    "公网安备",
                                    "All Rights Reserved",
                                    "all rights reserved",
                                    "未经授权",
                                    "转载请注明",
                                    NULL};
    for (const char *const *w = W; *w; w++)
        if (memmem(p, n, *w, strlen(*w)))
            return 1;
    return 0;
}

/* End the current block (if it holds anything) and start the next, which belongs to the
 * element now open (its boilerplate signal and heading level). */
static void flush(walk_t *w)
{
    block_t *c = &w->cur;
    ty__str_trim_end(&w->buf);
    size_t b = c->beg, e = w->buf.n;
    while (b < e && (w->buf.a[b] == ' ' || w->buf.a[b] == '\n'))
        b++;
    if (e > b && c->chars) {
        c->beg = b;
        c->end = e;
        if (c->tokens < REPEAT_MAX && footer_words(w->buf.a + b, e - b))
            c->boiler = 1;
        if (ty_vec_push(w->b, *c))
            w->oom = 1;
        ty__str_putc(&w->buf, '\n');
    } else {
        w->buf.n = c->beg; /* nothing worth a block: drop what was written */
        if (w->buf.a)
            w->buf.a[w->buf.n] = 0;
    }
    memset(c, 0, sizeof *c);
    c->beg = w->buf.n;
    c->boiler = w->boiler;
    c->content = w->content;
    c->heading = w->heading;
    c->el = w->el;
    c->li = w->li;
    w->in_word = 0;
}

static void walk(walk_t *w, const xmlNode *n)
{
    for (; n && !w->oom; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->type == XML_CDATA_SECTION_NODE)
                continue; /* script and style bodies */
            const char *t = (const char *)n->content;
            if (!t)
                continue;
            size_t l = strlen(t);
            ty__str_put_ws(&w->buf, t, l, w->pre);
            count(&w->cur, (const unsigned char *)t, l, w->in_link, &w->in_word);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (name_in(n, SKIP))
            continue;
        if (w->depth > 200)
            continue; /* libxml2 stops at 256 levels anyway */
        int sig = boiler_of(w->X, n, w->content);
        if (sig == 2)
            continue;
        int block = name_in(n, BLOCK);
        int h = (n->name && (n->name[0] == 'h' || n->name[0] == 'H') && n->name[1] >= '1' &&
                 n->name[1] <= '6' && !n->name[2])
                    ? n->name[1] - '0'
                    : 0;
        int save_boiler = w->boiler, save_link = w->in_link, save_h = w->heading, save_pre = w->pre,
            save_content = w->content;
        const xmlNode *save_el = w->el, *save_li = w->li;
        /* a boilerplate signal on an inline element (a <span class="share"> inside a
         * paragraph) marks only the blocks inside it, not the paragraph around it */
        if (sig == 1)
            w->boiler = 1;
        if (sig == -1)
            w->content = 1;
        if (h)
            w->heading = h;
        if (name_is(n, "pre"))
            w->pre = 1;
        if (block && !name_is(n, "br"))
            w->el = n;
        if (name_is(n, "li"))
            w->li = n;
        if (name_is(n, "a")) {
            char *href = attr(w->X, n, "href");
            if (href)
                w->in_link = 1;
            w->X->xfree(href);
        }
        if (block)
            flush(w); /* the text before it; the new block takes the state set above */
        w->depth++;
        walk(w, n->children);
        w->depth--;
        w->boiler = save_boiler;
        w->content = save_content;
        w->in_link = save_link;
        w->heading = save_h;
        w->pre = save_pre;
        w->el = save_el;
        w->li = save_li;
        if (block)
            flush(w); /* its last block; what follows is the parent's again */
    }
}

/* ---- classification -------------------------------------------------------------------------- */

/* A block that is not boilerplate, not repeated and not linky (a page of one short line
 * keeps it; a page of links keeps nothing) */
static int alone_ok(const block_t *x)
{
    double ld = x->chars ? (double)x->link_chars / (double)x->chars : 0;
    return !x->boiler && !x->repeated && ld <= MAX_LINK_DENSITY && x->tokens > 0;
}

/* Nearest context-free class before (step -1) or after (step 1) block i among good and bad
 * (and near-good unless skip_near), short blocks skipped; the page's edges count as bad. */
static int neighbour(const int *c, size_t n, size_t i, int step, int skip_near)
{
    for (long j = (long)i + step; j >= 0 && j < (long)n; j += step) {
        if (c[j] == C_SHORT || (skip_near && c[j] == C_NEARGOOD))
            continue;
        return c[j];
    }
    return C_BAD;
}

/* 1 if a good block follows i within HEADING_REACH tokens */
static int good_follows(const block_t *b, size_t n, size_t i)
{
    size_t dist = 0;
    for (size_t j = i + 1; j < n && dist <= HEADING_REACH; j++) {
        if (b[j].cls == C_GOOD)
            return 1;
        dist += b[j].tokens;
    }
    return 0;
}

/* A run of good blocks from i: the index after its last good block, its tokens. Runs cross
 * up to MAX_GAP tokens of other blocks; stop (when < n) ends it early. */
static size_t run_of(const block_t *b, size_t n, size_t i, size_t stop, size_t *tokens)
{
    size_t tok = 0, gap = 0, last = i;
    for (size_t j = i; j < n && j != stop; j++) {
        if (b[j].cls == C_GOOD) {
            tok += b[j].tokens;
            gap = 0;
            last = j;
        } else if ((gap += b[j].tokens) > MAX_GAP) {
            break;
        }
    }
    *tokens = tok;
    return last + 1;
}

/* Paragraph-like elements: their container is their parent. */
static const char *const PARA[] = {"p",   "h1",         "h2",      "h3",         "h4",
                                   "h5",  "h6",         "li",      "dt",         "dd",
                                   "pre", "blockquote", "caption", "figcaption", NULL};

static int inside(const xmlNode *e, const xmlNode *c)
{
    for (int d = 0; e && d < 512; e = e->parent, d++)
        if (e == c)
            return 1;
    return 0;
}

/* readability's vote: each prose block (not bad alone, with sentence punctuation, at least
 * SHORT_TOKENS tokens) gives its tokens to its container (its element; a paragraph's parent)
 * and half to the container's parent; the element with the most wins. NULL without prose.
 * Scores are kept through the nodes' _private field (the tree is ours and freed after). */
static const xmlNode *choose_container(const block_t *b, size_t n, const int *cf, int *oom)
{
    TY_VEC(double) score = {0};
    TY_VEC(xmlNode *) node = {0};
    const xmlNode *best = NULL;
    double best_s = 0;
    for (size_t i = 0; i < n && !*oom; i++) {
        if (cf[i] == C_BAD || b[i].repeated || !b[i].punct || b[i].tokens < SHORT_TOKENS ||
            !b[i].el)
            continue;
        xmlNode *c = (xmlNode *)b[i].el;
        if (name_in(c, PARA) && c->parent && c->parent->type == XML_ELEMENT_NODE)
            c = c->parent;
        for (int up = 0; up < 2 && c && c->type == XML_ELEMENT_NODE; up++, c = c->parent) {
            size_t k = (size_t)(uintptr_t)c->_private;
            if (!k) {
                if (ty_vec_push(score, 0.0) || ty_vec_push(node, c)) {
                    *oom = 1;
                    break;
                }
                k = score.n;
                c->_private = (void *)(uintptr_t)k;
            }
            score.a[k - 1] += up ? (double)b[i].tokens / 2 : (double)b[i].tokens;
            if (score.a[k - 1] > best_s) {
                best_s = score.a[k - 1];
                best = c;
            }
        }
    }
    for (size_t k = 0; k < node.n; k++)
        node.a[k]->_private = NULL;
    free(score.a);
    free(node.a);
    return *oom ? NULL : best;
}

static void classify(walk_t *w)
{
    size_t n = w->b.n;
    block_t *b = w->b.a;
    int *cf = malloc((n ? n : 1) * sizeof(int)), *c1 = malloc((n ? n : 1) * sizeof(int));
    if (!cf || !c1) {
        free(cf);
        free(c1);
        w->oom = 1;
        return;
    }
    /* 1. context-free */
    for (size_t i = 0; i < n; i++) {
        block_t *x = &b[i];
        double ld = x->chars ? (double)x->link_chars / (double)x->chars : 0;
        /* a teaser: prose right after a link of its own in the same list item (related
         * articles with a summary each) */
        const block_t *pv = i ? &b[i - 1] : NULL;
        int teaser =
            pv && x->li && pv->li == x->li && pv->chars && pv->link_chars * 10 >= pv->chars * 9;
        if (x->boiler || ld > MAX_LINK_DENSITY || teaser)
            x->cls = C_BAD;
        else if ((x->tokens >= GOOD_TOKENS && x->punct) || x->tokens >= LONG_TOKENS)
            x->cls = C_GOOD;
        else if (x->tokens < SHORT_TOKENS)
            x->cls = x->content ? C_NEARGOOD : C_SHORT;
        else
            x->cls = x->content ? C_GOOD : C_NEARGOOD; /* poems, lists: short lines of prose */
        cf[i] = x->cls;
    }
    /* a short heading followed by good text counts as near-good */
    for (size_t i = 0; i < n; i++)
        if (b[i].heading && b[i].cls == C_SHORT && good_follows(b, n, i))
            b[i].cls = C_NEARGOOD;
    for (size_t i = 0; i < n; i++)
        c1[i] = b[i].cls;
    /* 2. context */
    for (size_t i = 0; i < n; i++) {
        if (c1[i] == C_SHORT) {
            int p = neighbour(c1, n, i, -1, 1), q = neighbour(c1, n, i, 1, 1);
            if (p == C_GOOD && q == C_GOOD)
                b[i].cls = C_GOOD;
            else if (p == C_BAD && q == C_BAD)
                b[i].cls = C_BAD;
            else
                b[i].cls = (p == C_BAD && neighbour(c1, n, i, -1, 0) == C_NEARGOOD) ||
                                   (q == C_BAD && neighbour(c1, n, i, 1, 0) == C_NEARGOOD)
                               ? C_GOOD
                               : C_BAD;
        } else if (c1[i] == C_NEARGOOD) {
            int p = neighbour(c1, n, i, -1, 1), q = neighbour(c1, n, i, 1, 1);
            b[i].cls = p == C_BAD && q == C_BAD ? C_BAD : C_GOOD;
        }
    }
    /* a heading that ended bad but was not bad alone, before good text: the headline */
    for (size_t i = 0; i < n; i++)
        if (b[i].heading && b[i].cls == C_BAD && cf[i] != C_BAD && good_follows(b, n, i))
            b[i].cls = C_GOOD;
    free(c1);
    /* 3. the article's container */
    const xmlNode *best = choose_container(b, n, cf, &w->oom);
    size_t best_tok = 0, tok;
    if (best) {
        size_t first = n;
        for (size_t i = 0; i < n; i++) {
            b[i].in = inside(b[i].el, best);
            if (!b[i].in)
                continue;
            b[i].cls = cf[i] == C_BAD ? C_BAD : C_GOOD;
            if (b[i].cls == C_GOOD) {
                best_tok += b[i].tokens;
                first = first < i ? first : i;
            }
        }
        /* the headline, date and source lines just before it */
        size_t dist = 0;
        for (size_t j = first; j-- > 0 && cf[j] != C_BAD && dist <= HEADING_REACH;) {
            b[j].cls = C_GOOD;
            b[j].in = 1;
            dist += b[j].tokens;
        }
        /* good runs outside it: a second part of the article, or prose of the template */
        for (size_t i = 0; i < n;) {
            if (b[i].cls != C_GOOD || b[i].in) {
                i++;
                continue;
            }
            size_t e = i, gap = 0;
            tok = 0;
            for (size_t j = i; j < n && !b[j].in; j++) {
                if (b[j].cls == C_GOOD) {
                    tok += b[j].tokens;
                    gap = 0;
                    e = j + 1;
                } else if ((gap += b[j].tokens) > MAX_GAP) {
                    break;
                }
            }
            for (size_t k = i; k < e; k++)
                if (b[k].cls == C_GOOD && !b[k].in && (tok * 2 < best_tok || b[k].repeated))
                    b[k].cls = C_SHORT; /* dropped */
            i = e;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (b[i].repeated)
                b[i].cls = C_BAD;
        /* no prose anywhere: jusText's runs of good blocks, the longest and those holding a
         * quarter of its tokens */
        size_t best_b = 0, best_e = 0;
        for (size_t i = 0; i < n;) {
            if (b[i].cls != C_GOOD) {
                i++;
                continue;
            }
            size_t e = run_of(b, n, i, n, &tok);
            if (tok > best_tok) {
                best_tok = tok;
                best_b = i;
                best_e = e;
            }
            i = e;
        }
        for (size_t i = 0; i < n;) {
            if (b[i].cls != C_GOOD || (i >= best_b && i < best_e)) {
                i++;
                continue;
            }
            size_t e = run_of(b, n, i, i < best_b ? best_b : n, &tok);
            if (tok * 4 < best_tok)
                for (size_t k = i; k < e; k++)
                    if (b[k].cls == C_GOOD)
                        b[k].cls = C_SHORT; /* dropped */
            i = e;
        }
    }
    free(cf);
    /* 4. nothing good (a page of short lines without a content container: jusText's
     * weak spot): every block that passes the context-free tests alone */
    if (!best_tok)
        for (size_t i = 0; i < n; i++)
            if (alone_ok(&b[i]))
                b[i].cls = C_GOOD;
}

/* ---- entry points --------------------------------------------------------------------------- */

/* Case-insensitive search for s in p[0, n). */
static const char *find_ci(const char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (strncasecmp(p + i, s, l) == 0)
            return p + i;
    return NULL;
}

int ty__html_meta_charset(const char *buf, size_t len, char *out, size_t outsz)
{
    size_t lim = len < 4096 ? len : 4096;
    const char *p = buf, *end = buf + lim;
    while (p < end) {
        const char *m = find_ci(p, (size_t)(end - p), "<meta");
        if (!m)
            return -1;
        const char *gt = memchr(m, '>', (size_t)(end - m));
        const char *e = gt ? gt : end;
        const char *c = find_ci(m, (size_t)(e - m), "charset");
        if (c) {
            c += 7;
            while (c < e && (*c == ' ' || *c == '='))
                c++;
            while (c < e && (*c == '"' || *c == '\''))
                c++;
            size_t k = 0;
            while (c + k < e && c[k] != '"' && c[k] != '\'' && c[k] != ';' && c[k] != ' ' &&
                   c[k] != '/' && c[k] != '>')
                k++;
            if (k && k < outsz) {
                memcpy(out, c, k);
                out[k] = 0;
                return 0;
            }
        }
        p = e;
    }
    return -1;
}

int ty__xml_text(const ty__libxml_t *X, const xmlNode *n, ty__str_t *s)
{
    memset(s, 0, sizeof(*s));
    xmlChar *t = X->xmlNodeGetContent(n);
    if (!t)
        return -1;
    ty__str_put_ws(s, (const char *)t, strlen((const char *)t), 0);
    X->xfree(t);
    ty__str_trim_end(s);
    return 0;
}

static char *title_of(const ty__libxml_t *X, const xmlNode *n, int depth)
{
    for (; n && depth < 64; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(n, "body"))
            return NULL; /* <title> lives in the head */
        if (name_is(n, "title")) {
            ty__str_t s;
            if (ty__xml_text(X, n, &s))
                return NULL;
            size_t lead = 0;
            while (lead < s.n && s.a[lead] == ' ')
                lead++;
            if (s.oom || s.n == lead) {
                free(s.a);
                return NULL;
            }
            memmove(s.a, s.a + lead, s.n - lead + 1);
            return s.a;
        }
        char *r = title_of(X, n->children, depth + 1);
        if (r)
            return r;
    }
    return NULL;
}

int ty__html_extract(ty__text_t *out, const char *html, size_t len, const ty__xopts_t *o, char *err)
{
    const char *name = o->name ? o->name : "";
    char why[TY_ERRMSG_SIZE];
    const ty__libxml_t *X = ty__lib_xml(why);
    if (!X)
        return ty__err(err, TY_EUNSUPPORTED, "%s: %s", name, why);
    if (len > (size_t)INT32_MAX)
        return ty__err(err, TY_ETOOBIG, "%s: HTML page too large", name);
    htmlDocPtr doc =
        X->htmlReadMemory(html, (int)len, NULL, "UTF-8",
                          HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                              HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC | HTML_PARSE_COMPACT);
    if (!doc)
        return ty__err(err, TY_ECORRUPT, "%s: not HTML that libxml2 can parse", name);
    const xmlNode *root = X->xmlDocGetRootElement(doc);
    walk_t w;
    memset(&w, 0, sizeof w);
    w.X = X;
    ty__str_put(&w.buf, "", 0);
    walk(&w, root);
    flush(&w);
    if (!w.oom && !w.buf.oom)
        sites_mark(o->sites, o->site, &w);
    if (!w.oom && !w.buf.oom)
        classify(&w);
    int rc = TY_OK;
    ty__str_t t = {0};
    for (size_t i = 0; !w.oom && i < w.b.n; i++)
        if (w.b.a[i].cls == C_GOOD) {
            ty__str_put(&t, w.buf.a + w.b.a[i].beg, w.b.a[i].end - w.b.a[i].beg);
            ty__str_putc(&t, '\n');
        }
    if (!t.a && !(t.a = calloc(1, 1)))
        t.oom = 1;
    char *title = root ? title_of(X, root, 0) : NULL;
    if (w.oom || w.buf.oom || t.oom || !t.a) {
        rc = ty__err(err, TY_ENOMEM, "%s: out of memory", name);
        free(t.a);
        free(title);
    } else {
        out->text = t.a;
        out->len = t.n;
        out->title = title;
    }
    free(w.buf.a);
    free(w.b.a);
    X->xmlFreeDoc(doc);
    return rc;
}
