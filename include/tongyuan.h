/*
 * tongyuan.h — the one public header of libtongyuan (同源, "same source").
 *
 * tongyuan finds reused text — verbatim, edited or machine-spun — between documents.
 * The pipeline, one source file per stage:
 *
 *   normalize.c  UTF-8 → comparison tokens (NFKC, case fold, Traditional→Simplified,
 *                punctuation and spaces dropped; each token keeps its offsets)
 *   doc.c        loading a document from memory, a file or standard input
 *   extract.c    a file's bytes → UTF-8 text: charsets (encoding.c), HTML (html.c), Word
 *                and OpenDocument (docx.c), PDF (pdf.c); WARC records (warc.c, via input.c)
 *   sketch.c     k-mer hashes and (w,k)-minimizers over the token stream
 *   align.c      anchors → maximal exact runs → colinear chains with gap costs →
 *                passages (chains grouped by the region they tile, in any order) →
 *                refined passage ends
 *   report.c     passages → JSON lines, the text report with its diff view, the HTML
 *                report, into a caller's buffer (what the CLI, the server and a binding show)
 *   args.c       the command-line options the front ends share, messages returned
 *   thread.c     the parallel for the library's threaded stages and the front ends use
 *
 * Conventions (see docs/ and STYLE.md):
 *   - every function that can fail returns an int: TY_OK (0) or a negative TY_E* code;
 *     the handle it worked on then holds a one-line message (ty_*_errmsg()) naming the
 *     file and position where that applies.
 *   - handles are opaque; ty_*_free(NULL) is a no-op.
 *   - the library never prints and never exits.
 *   - thread safety: a handle is used by one thread at a time. A loaded ty_doc_t is
 *     read-only and may be shared by any number of threads that only read it.
 */
#ifndef TONGYUAN_H
#define TONGYUAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TY_VERSION_MAJOR 0
#define TY_VERSION_MINOR 1
#define TY_VERSION_PATCH 0
#define TY_VERSION_STRING "0.1.0"

/* Error codes. Append-only: a code's value never changes once released. */
enum {
    TY_OK = 0,
    TY_ENOMEM = -1,    /* out of memory */
    TY_EINVAL = -2,    /* invalid argument or option value */
    TY_EIO = -3,       /* a file could not be opened, read or written */
    TY_EUTF8 = -4,     /* input is not valid UTF-8 (strict mode) */
    TY_EBINARY = -5,   /* input contains NUL bytes: looks like a binary file */
    TY_ETOOBIG = -6,   /* input larger than opts.max_doc_bytes */
    TY_ECORRUPT = -7,  /* a stored file is damaged or not ours */
    TY_EVERSION = -8,  /* a stored file has another format version or parameters */
    TY_ENOTFOUND = -9, /* the named object does not exist */
    TY_EBUSY = -10,    /* in use: an index open for writing elsewhere (see ty_index_open) */
    TY_EEXIST = -11,   /* already there: a document name taken; a file that is not an index
                        * where a new index would be written */
    /* reading documents as people have them (extract.c) */
    TY_EEMPTY = -12,       /* extraction gave no text (a scanned PDF, a page of navigation only) */
    TY_EENCODING = -13,    /* the text's charset cannot be told, or the bytes do not fit it */
    TY_EUNSUPPORTED = -14, /* a format or feature not read (.doc, an encrypted PDF) */
    TY_ECANCELED = -15,    /* a caller's callback asked to stop (the work done so far is kept
                            * as the call documents) */
    TY_EREADONLY = -16,    /* a write to an index opened TY_INDEX_READ, or to a sharded index */
};

/* Static description of an error code ("out of memory", ...). Never NULL. */
const char *ty_strerror(int err);

/* Library version as a string, e.g. "0.1.0". */
const char *ty_version(void);

/* ---------------------------------------------------------------------------------------
 * Options. Plain struct: call ty_opts_init() for the defaults (found on the development
 * set), change fields, then ty_opts_check() before use. The CLI keeps no defaults of its own.
 */
enum {
    TY_UTF8_STRICT = 0,  /* invalid UTF-8 is an error (TY_EUTF8) naming file, line, byte */
    TY_UTF8_REPLACE = 1, /* each invalid byte counts as one U+FFFD code point, not compared */
};

/* Input formats. TY_FORMAT_AUTO: from the content (magic bytes), the file name as a hint. */
enum {
    TY_FORMAT_AUTO = 0,
    TY_FORMAT_TEXT = 1,  /* plain text in any charset (see ty_opts_t.encoding) */
    TY_FORMAT_JSONL = 2, /* one JSON object a line (the reader only) */
    TY_FORMAT_HTML = 3,  /* the main text of a page, without navigation, menus, footers */
    TY_FORMAT_DOCX = 4,  /* Word 2007+: paragraphs, tables, footnotes and endnotes */
    TY_FORMAT_ODT = 5,   /* OpenDocument text: the same */
    TY_FORMAT_PDF = 6,   /* text in reading order; a form feed between pages */
    TY_FORMAT_WARC = 7,  /* web archive: one document per response/conversion record (reader) */
};
/* "auto", "text", "jsonl", "html", "docx", "odt", "pdf", "warc"; "?" for another value. */
const char *ty_format_name(int format);
/* A name as above (also "htm", "xhtml", "txt") → *format; TY_OK or TY_EINVAL. */
int ty_format_parse(const char *name, int *format);

typedef struct ty_opts {
    int k;             /* k-mer length in tokens (seed length), 2..16 */
    int w;             /* minimizer window in k-mers; 1 = every k-mer (pairwise default) */
    int max_occ;       /* k-mers occurring more often than this in a source are seeded only
                        * where no run covers the suspect yet, at one occurrence */
    int max_gap;       /* longest gap (tokens) bridged inside one chain */
    double gap_cost;   /* chain cost per unmatched token in a gap */
    double drift_cost; /* chain cost per token of diagonal drift (indels) */
    int min_chain;     /* chains scoring below this (down to half of it) only fill passages */
    int merge_gap;     /* chains closer than this (tokens, both texts) join one passage, as do
                        * chains tiling one region in any order with no larger gap */
    int min_len;       /* passages whose matched tokens x score fall below this are not reported */
    double min_score;  /* passages with a lower score (0..1) are not reported */
    int snap;          /* passage ends move to a sentence/line end at most this many tokens away */
    int utf8_mode;     /* TY_UTF8_STRICT or TY_UTF8_REPLACE */
    size_t max_doc_bytes; /* larger inputs are refused with TY_ETOOBIG */
    int input_format;     /* ty_doc_load_file/_bytes: TY_FORMAT_* [TY_FORMAT_AUTO] */
    const char *encoding; /* plain text and HTML: this charset (iconv name; "utf-8": strict
                           * UTF-8, no detection), NULL to detect [NULL]; borrowed */
} ty_opts_t;

void ty_opts_init(ty_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL). */
int ty_opts_check(const ty_opts_t *o, char *msg, size_t msg_size);

/* ---------------------------------------------------------------------------------------
 * Documents: the original bytes plus their comparison tokens.
 */
typedef struct ty_doc ty_doc_t;

/* One comparison token. id: a CJK (or other per-character script) character after
 * normalization is its code point; a run of letters/digits is a 31-bit hash with the top bit
 * set. Offsets point into the document's text (ty_doc_text): the bytes as given for UTF-8
 * text, else the decoded or extracted text (ty_docinfo_t says how to reach the original). */
typedef struct ty_token {
    uint32_t id;
    uint32_t cp_off, cp_len;     /* in Unicode code points of the original text */
    uint32_t byte_off, byte_len; /* in bytes of the original text */
} ty_token_t;

ty_doc_t *ty_doc_new(void); /* NULL when out of memory. Free with ty_doc_free(). */
void ty_doc_free(ty_doc_t *d);

/* Load text from memory (copied). name is used in messages and output (copied).
 * Fails with TY_EUTF8 / TY_EBINARY / TY_ETOOBIG (see opts) and a message naming the
 * position. Loading again replaces the previous content. */
int ty_doc_load_mem(ty_doc_t *d, const char *name, const void *buf, size_t len, const ty_opts_t *o);
/* Load a file; path "-" reads standard input. TY_EIO when it cannot be read (the message
 * names the path and the system's reason). Transparent decompression is not done here.
 * The file is read as opts.input_format says (TY_FORMAT_AUTO: from its content, the name as a
 * hint) and opts.encoding: text in another charset is decoded to UTF-8, HTML, Word,
 * OpenDocument and PDF files are extracted (ty_doc_info() tells which). Errors beyond those
 * of ty_doc_load_mem: TY_EENCODING (charset not told, or bytes that do not fit the declared
 * one), TY_ECORRUPT (a damaged file: the message names the part), TY_EUNSUPPORTED (.doc, an
 * encrypted PDF), TY_EEMPTY (extraction gave no text), TY_EINVAL (a JSONL or WARC file: many
 * documents, for ty_reader_t). */
int ty_doc_load_file(ty_doc_t *d, const char *path, const ty_opts_t *o);
/* The same for a file's bytes already in memory (copied); name as for ty_doc_load_mem, its
 * extension a hint for the format. */
int ty_doc_load_bytes(ty_doc_t *d, const char *name, const void *buf, size_t len,
                      const ty_opts_t *o);

/* What a document's text was read from. Offsets (ty_token_t, ty_passage_t) are always into
 * the document's text; this says how they relate to the file on disk:
 *   - UTF-8 text: the text is the file (charset "UTF-8", file_off NULL).
 *   - text in another charset: the text is its UTF-8 decoding; code point offsets are the
 *     same as in the original (one character, one code point — but Big5-HKSCS's few composed
 *     characters), and file_off[i] is the byte offset in the file of code point i
 *     (i = 0..ncodepoints; the last is the file's length), to slice the original.
 *   - HTML, DOCX, ODT, PDF: the text is the extracted text (blocks and paragraphs one a line;
 *     a PDF's pages separated by a form feed, so that page = 1 + form feeds before an
 *     offset); `tongyuan extract FILE` prints it. file_off NULL. */
typedef struct ty_docinfo {
    int format;          /* TY_FORMAT_TEXT, _HTML, _DOCX, _ODT, _PDF (from a WARC record too) */
    const char *charset; /* charset decoded from ("UTF-8", "GB18030", "UTF-16LE" ...); ""
                          * when not known (a JSONL member) or not applicable (PDF) */
    const char *title;   /* HTML <title>, document title of DOCX/ODT/PDF; "" if none */
    uint32_t pages;      /* PDF: its pages; 0 otherwise */
    const uint32_t *file_off; /* see above; NULL unless the text was decoded from another charset */
    size_t nfile_off;         /* entries in file_off (ncodepoints + 1), 0 when NULL */
} ty_docinfo_t;

/* d's docinfo (borrowed, valid until the next load or free; never NULL). A document loaded
 * with ty_doc_load_mem is UTF-8 text with charset "". */
const ty_docinfo_t *ty_docinfo(const ty_doc_t *d);
/* Replace d's docinfo with a copy of *info (after ty_doc_load_mem, for a record's text:
 * ty_record_t.info). TY_EINVAL when info->file_off does not have ncodepoints + 1 entries. */
int ty_doc_set_info(ty_doc_t *d, const ty_docinfo_t *info);
/* A deep copy (free with ty_docinfo_free), for keeping a record's info past the next read;
 * NULL when out of memory. */
ty_docinfo_t *ty_docinfo_dup(const ty_docinfo_t *info);
void ty_docinfo_free(ty_docinfo_t *info);

const char *ty_doc_errmsg(const ty_doc_t *d); /* last error, "" if none; valid until next call */
const char *ty_doc_name(const ty_doc_t *d);   /* borrowed, valid while d is */
/* The text (borrowed, valid until the next load or free): the original bytes of UTF-8 text,
 * else the decoded or extracted text (see ty_docinfo_t). */
const char *ty_doc_text(const ty_doc_t *d, size_t *len);
size_t ty_doc_ntokens(const ty_doc_t *d);
size_t ty_doc_ncodepoints(const ty_doc_t *d);
/* Token i (0 <= i < ntokens) copied to *t. TY_EINVAL if out of range. */
int ty_doc_token(const ty_doc_t *d, size_t i, ty_token_t *t);

/* Normalize one code point as the tokenizer does: returns the code point compared, or 0 if
 * the character is dropped (spaces, punctuation, symbols, controls, combining marks).
 * Characters whose normalization expands to several code points return the first one that
 * is compared (U+2103 "℃" gives 'c'). Thread-safe. */
uint32_t ty_normalize_cp(uint32_t cp);

/* ---------------------------------------------------------------------------------------
 * Sketches: k-mer hashes over a document's tokens, sampled by (w,k)-minimizers.
 */
typedef struct ty_seed {
    uint64_t hash; /* hash of the k tokens (strand-less: text has one direction) */
    uint32_t pos;  /* index of the first token of the k-mer */
} ty_seed_t;

/* Minimizers of d: the smallest hash in every window of w consecutive k-mers (w = 1: all
 * k-mers), deduplicated by position, in increasing position. *out is malloc()ed, caller
 * frees with free(). Returns TY_OK or TY_ENOMEM / TY_EINVAL. A document with fewer than
 * k tokens has no seeds (n = 0). */
int ty_sketch(const ty_doc_t *d, int k, int w, ty_seed_t **out, size_t *n);

/* Hash k tokens as ty_sketch() does (for tests and index keys). */
uint64_t ty_kmer_hash(const uint32_t *tok, int k);

/* ---------------------------------------------------------------------------------------
 * Alignment: which passages of a suspect document come from a source document.
 */
typedef struct ty_passage {
    size_t src_off, src_len;           /* code points in the source's original text */
    size_t sus_off, sus_len;           /* code points in the suspect's original text */
    size_t src_byte_off, src_byte_len; /* bytes */
    size_t sus_byte_off, sus_byte_len;
    size_t src_tok_beg, src_tok_end; /* token range [beg, end) */
    size_t sus_tok_beg, sus_tok_end;
    size_t matched; /* tokens matched by the passage's exact runs (each run in order), each
                     * token counted once in the suspect and once in the source, whichever
                     * count is less: never more than either range holds */
    double score;   /* 0..1: 2 x matched / tokens of both ranges. The runs may come in another
                     * order than the source's: a reordered passage scores what its pieces
                     * match (ty_compare_runs gives them) */
} ty_passage_t;

/* Per-thread scratch for alignment: reuse one per thread for speed. */
typedef struct ty_aligner ty_aligner_t;

/* NULL when out of memory. The options are copied; check them first (ty_opts_check). */
ty_aligner_t *ty_aligner_new(const ty_opts_t *o);
void ty_aligner_free(ty_aligner_t *a);
const char *ty_aligner_errmsg(const ty_aligner_t *a);

/* Find the passages of sus reused from src. On TY_OK, *out points to *n passages sorted by
 * suspect offset, owned by the aligner and valid until its next ty_compare() or free.
 * Both documents are only read. */
int ty_compare(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t **out,
               size_t *n);

/* An exact run of len tokens: source tokens [src_tok, src_tok+len) equal suspect tokens
 * [sus_tok, sus_tok+len). Token indices convert to offsets with ty_doc_token(). */
typedef struct ty_match {
    size_t src_tok, sus_tok, len;
} ty_match_t;

/* The exact runs that make up passage i of the last ty_compare() on a, in suspect order
 * (what a report marks as unchanged; everything else inside the passage was changed,
 * inserted or deleted). Owned by a, valid until its next ty_compare(). TY_EINVAL if i is out
 * of range. */
int ty_compare_runs(const ty_aligner_t *a, size_t i, const ty_match_t **runs, size_t *n);

/* Number of suspect tokens covered by at least one of the n passages (for summaries:
 * covered / ty_doc_ntokens(sus) is the share of the suspect taken from the source). */
size_t ty_passages_coverage(const ty_passage_t *p, size_t n);

/* ---------------------------------------------------------------------------------------
 * Input: documents from files, directories, JSONL files, WARC files, gzip/zstd compressed
 * files and standard input (input.c), each file extracted as ty_doc_load_file does.
 *
 *   ty_reader_opts_t ro;  ty_reader_opts_init(&ro);
 *   ty_reader_t *r = ty_reader_new(&ro);
 *   if (ty_reader_add(r, "corpus/") != TY_OK) ... ty_reader_errmsg(r) ...;
 *   ty_record_t rec;
 *   int rc;
 *   while ((rc = ty_reader_next(r, &rec)) != 0)
 *       if (rc < 0) report(ty_reader_errmsg(r));  (skip it, or stop: the caller decides)
 *       else        use(rec.name, rec.text, rec.len);
 *   ty_reader_free(r);
 *
 * What a path is:
 *   - a directory: every *.txt, *.md, *.html, *.htm, *.xhtml, *.docx, *.odt, *.pdf and
 *     *.warc file under it (also *.txt.gz, *.warc.gz, *.md.zst, ...), recursively, in byte
 *     order of the names; names starting with '.' and symbolic links to directories are
 *     skipped. A document's name is its path relative to the directory.
 *   - a file whose name ends in .jsonl or .ndjson (before any .gz/.zst): one JSON object a
 *     line; the document's text is the string member opts.text_field, its name the member
 *     opts.id_field (a string or an integer; when absent: "FILE:LINE"). Blank lines are
 *     skipped. A line that is not a JSON object or lacks a string text field is an error
 *     naming FILE:LINE; the reader moves past it, so the caller may go on.
 *   - a WARC file (content starting "WARC/", or opts.format): one document per response
 *     record with an HTML or text body (HTML extracted; the charset from the HTTP header or
 *     <meta>) and per conversion record (WET), named by its WARC-Target-URI; other records
 *     (requests, metadata, images ...) are not documents. A damaged record is an error naming
 *     FILE: record N (byte B); the reader goes on at the next record.
 *   - any other file: one document, named by the path as given: text in any charset
 *     (decoded to UTF-8), HTML, DOCX, ODT or PDF (extracted), as the content says
 *     (opts.format forces one). Extraction that gives no text is TY_EEMPTY (skip it).
 *   - "-": standard input, read as opts.stdin_format says; TY_STDIN_AUTO takes it as JSONL
 *     when its first line is a JSON object with the text field, else as one document "-".
 * Compression is recognised by content (gzip and zstd magic numbers), whatever the name;
 * concatenated gzip members and zstd frames are read through.
 *
 * Thread safety: one reader per thread. It only reads files; it never prints.
 */
typedef struct ty_reader ty_reader_t;

enum {
    TY_STDIN_AUTO = 0,  /* JSONL if the first line is a JSON object with the text field */
    TY_STDIN_TEXT = 1,  /* always one document named "-" */
    TY_STDIN_JSONL = 2, /* always JSONL */
};

typedef struct ty_reader_opts {
    const char *text_field; /* JSONL member with the text ["text"]; borrowed until free */
    const char *id_field;   /* JSONL member with the name ["id"]; borrowed until free */
    int stdin_format;       /* TY_STDIN_* [TY_STDIN_AUTO] */
    size_t max_doc_bytes;   /* longer documents are an error (TY_ETOOBIG) [64 MiB] */
    int format;             /* TY_FORMAT_* of every file [TY_FORMAT_AUTO: by content] */
    const char *encoding;   /* charset of text and HTML, NULL to detect (ty_opts_t) [NULL] */
    int utf8_mode;          /* TY_UTF8_REPLACE: text whose charset cannot be told is handed
                             * on as it is, for ty_doc_load_mem to replace bad bytes [STRICT] */
} ty_reader_opts_t;

void ty_reader_opts_init(ty_reader_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL).
 * NULL names and max_doc_bytes 0 are taken as the defaults (ty_reader_new does). */
int ty_reader_opts_check(const ty_reader_opts_t *o, char *msg, size_t msg_size);

/* One document. Every pointer is owned by the reader and valid until its next
 * ty_reader_next() or ty_reader_free(). text is NUL-terminated (and may hold NUL bytes:
 * tokenizing it then fails with TY_EBINARY): UTF-8 text as it was read, decoded or extracted
 * text otherwise (info says which). */
typedef struct ty_record {
    const char *name;   /* document name (see above) */
    const char *text;   /* the document's text (see info)  */
    size_t len;         /* bytes */
    const char *origin; /* the file it was read from ("-" for standard input) */
    uint64_t line;      /* 1-based line in origin for JSONL, 0 for a whole file or a WARC
                         * record */
    ty_docinfo_t info;  /* what the text was read from (ty_doc_set_info); pointers as above */
} ty_record_t;

/* NULL when out of memory. The options are copied (the field names are borrowed). */
ty_reader_t *ty_reader_new(const ty_reader_opts_t *o);
void ty_reader_free(ty_reader_t *r);
/* Queue a path (directories are listed now). TY_EIO if it cannot be opened or listed,
 * TY_EINVAL for "-" queued twice. Paths are read in the order they were added. */
int ty_reader_add(ty_reader_t *r, const char *path);
/* Next document: 1 and *rec filled; 0 at the end; a negative TY_E* code with a message
 * naming the file (and line) for a record or file that cannot be read — the reader has
 * moved past it and the next call goes on with the next record. */
int ty_reader_next(ty_reader_t *r, ty_record_t *rec);
/* The same, but a JSONL record comes as its line, not parsed: text and len hold the line as
 * it is in the file (without its line break and a carriage return before it; a byte order
 * mark opening the file is kept), name is NULL, origin and line say where it is. Blank
 * lines are skipped as ty_reader_next() skips them, and a line too long to be a record is
 * TY_ETOOBIG; whole-file documents come as from ty_reader_next(). For copying records byte
 * for byte (dedup --write-kept reads its inputs again with it). */
int ty_reader_next_line(ty_reader_t *r, ty_record_t *rec);
const char *ty_reader_errmsg(const ty_reader_t *r); /* "" if none; valid until next call */
/* For progress reports: input bytes consumed so far (compressed bytes for compressed
 * files) and the total size of the queued regular files (0 if unknown, e.g. stdin). */
uint64_t ty_reader_pos(const ty_reader_t *r);
uint64_t ty_reader_size(const ty_reader_t *r);
/* Notes on what a queued directory held but will not be read, one message each, naming the
 * entry by its full path: FIFOs, sockets and devices named *.txt or *.md, dangling symbolic
 * links, loops of links, links to directories (not followed), and per directory given a
 * count of the files of other types. Note i (0 <= i) or NULL past the last; borrowed, valid
 * while r lives. Front ends show them so that nothing is skipped without a word. */
const char *ty_reader_note(const ty_reader_t *r, size_t i);
/* 1 if path names the same file (device and inode) as a queued regular file, *input (if not
 * NULL) then pointing to that item's path (borrowed, valid while r lives); 0 otherwise. For
 * front ends that must not overwrite an input with an output. */
int ty_reader_find_file(const ty_reader_t *r, const char *path, const char **input);

/* ---------------------------------------------------------------------------------------
 * Corpus index (index*.c, search.c): a persistent, crash-safe store of many documents on
 * LMDB — their names, origins, texts (zstd) and minimizer postings — to ask of a new
 * document "which indexed documents does it reuse, and where?".
 *
 * On disk: one file INDEX (an LMDB environment) plus its lock file INDEX-lock. A header
 * records the format version and the sketch parameters (k, w and a fingerprint of the
 * normalization table); an index written with other parameters or a newer format is
 * refused with TY_EVERSION, a truncated, damaged or foreign file with TY_ECORRUPT.
 *
 * Concurrency: one writer at a time (other writers wait), any number of readers in any
 * number of processes; a reader sees the documents committed when its query starts.
 * Within a process, one ty_index_t may be shared by many threads that each use their own
 * ty_searcher_t; writing (ty_index_add_doc, ty_index_add_docs) needs the handle to itself.
 * A handle open for writing (TY_INDEX_WRITE) holds the file against replacement: a new index
 * is not moved onto it (TY_EBUSY) while it is open, so no commit goes to a replaced file.
 *
 *   build:  ty_index_new(); ty_index_open(ix, path, TY_INDEX_CREATE, &io);
 *           ty_index_add_docs(ix, reader, &ao); ty_index_finish(ix); ty_index_free(ix);
 *   add:    ... ty_index_open(ix, path, TY_INDEX_WRITE, NULL);
 *           ty_index_add_doc(ix, name, text, len, origin, &opts, &id);   (one, committed)
 *           ty_index_add_docs(ix, reader, &opts, &ao);                   (many, threaded)
 *   query:  ... ty_index_open(ix, path, TY_INDEX_READ, NULL);
 *           s = ty_searcher_new(ix, &opts, &qo);  ty_searcher_check(s, doc, &src, &n); ...
 */
typedef struct ty_index ty_index_t;

enum {
    TY_INDEX_READ = 0,   /* an existing index, read only */
    TY_INDEX_WRITE = 1,  /* an existing index, to add documents */
    TY_INDEX_CREATE = 2, /* a new index: written to a temporary file next to path and moved
                          * to path by ty_index_finish(), replacing an index there (or an
                          * empty file; any other file is refused at the open: TY_EEXIST;
                          * an index open for writing: TY_EBUSY); freed without finishing,
                          * it leaves nothing behind */
};

/* Parameters of a new index (stored in its header). */
typedef struct ty_index_opts {
    int k;          /* k-mer length of the minimizers, 2..16 */
    int w;          /* minimizer window, 1..256 */
    int zstd_level; /* compression level of the stored texts, 1..19 */
} ty_index_opts_t;

void ty_index_opts_init(ty_index_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL). */
int ty_index_opts_check(const ty_index_opts_t *o, char *msg, size_t msg_size);

typedef struct ty_index_stats {
    uint32_t format;           /* on-disk format version */
    int k, w;                  /* minimizer parameters */
    uint64_t norm_fingerprint; /* of the normalization table the index was built with */
    uint64_t docs;             /* documents */
    uint64_t codepoints;       /* characters (Unicode code points) of all texts */
    uint64_t bytes;            /* bytes of all texts (UTF-8) */
    uint64_t stored_bytes;     /* bytes of the compressed texts */
    uint64_t postings;         /* (minimizer, document) pairs */
    uint64_t keys;             /* distinct minimizers, summed over segments */
    uint32_t segments;         /* posting segments (1 after build; add makes more, merged as
                                * they accumulate) */
    uint64_t file_bytes;       /* size of INDEX on disk */
    uint64_t map_bytes;        /* bytes in use inside the file (the rest is free pages) */
} ty_index_stats_t;

/* Progress and events of ty_index_add_docs(), reported through a callback that runs on
 * the calling thread. */
enum {
    TY_EVENT_PROGRESS = 0,  /* about five times a second */
    TY_EVENT_SKIPPED = 1,   /* a record could not be read or tokenized (msg says where and
                             * why); return 0 to skip it and go on, nonzero to stop */
    TY_EVENT_COMMIT = 2,    /* a transaction was committed: p->committed documents are safe */
    TY_EVENT_DUPLICATE = 3, /* a document of that name is already indexed: not added */
    TY_EVENT_WARNING = 4,   /* something failed that the documents do not depend on (msg
                             * says what): merging segments after a commit, on a full disk;
                             * return 0 to go on, nonzero to stop */
};

typedef struct ty_index_progress {
    uint64_t docs;       /* documents read so far */
    uint64_t text_bytes; /* their bytes */
    uint64_t input_pos;  /* ty_reader_pos() */
    uint64_t input_size; /* ty_reader_size(), 0 if unknown */
    uint64_t committed;  /* documents in the index as of the last commit */
    uint64_t skipped;    /* records skipped (errors and duplicates) */
    double seconds;      /* since ty_index_add_docs() started */
} ty_index_progress_t;

typedef int (*ty_index_event_fn)(void *user, int event, const char *msg,
                                 const ty_index_progress_t *p);

typedef struct ty_index_add_opts {
    int threads;             /* worker threads for tokenizing and sketching, >= 1 [1] */
    uint64_t commit_docs;    /* TY_INDEX_WRITE: commit every so many documents [10000; 0: that] */
    size_t run_pairs;        /* TY_INDEX_CREATE: postings held in memory before a sorted
                              * run goes to a temporary file [4M: 64 MB, and as much
                              * to sort them] */
    ty_index_event_fn event; /* may be NULL: errors then stop the run */
    void *user;
} ty_index_add_opts_t;

void ty_index_add_opts_init(ty_index_add_opts_t *o);

ty_index_t *ty_index_new(void); /* NULL when out of memory */
/* Close (TY_INDEX_CREATE without ty_index_finish(): remove the temporary file). */
void ty_index_free(ty_index_t *ix);
const char *ty_index_errmsg(const ty_index_t *ix); /* "" if none; valid until next call */
/* The warning of the last ty_index_add_doc() or ty_index_add_docs() that returned TY_OK with
 * one (see TY_EVENT_WARNING), "" if none; valid until the next call on ix. The library does
 * not print it: the caller decides (log it, show it). */
const char *ty_index_warning(const ty_index_t *ix);

/* Open or create. io: the parameters for TY_INDEX_CREATE (NULL: defaults); for an existing
 * index NULL, or parameters that must match the header (else TY_EVERSION). The tokenizer
 * options used for the stored documents are those passed when adding them. Errors:
 * TY_EIO (cannot open), TY_ECORRUPT (truncated, damaged or not an index: the message names
 * the file and what is wrong), TY_EVERSION (newer format, other parameters or another
 * normalization table); TY_INDEX_CREATE: TY_EEXIST (path is a file that is not an index),
 * TY_EBUSY (path is an index open for writing: see Concurrency). */
int ty_index_open(ty_index_t *ix, const char *path, int mode, const ty_index_opts_t *io);

/* Add one document from memory: the library's basic call (ty_index_add_docs() runs its
 * steps for every record of a reader, on threads). The document is tokenized with o (UTF-8
 * mode, size limit) as ty_doc_load_mem() does, sketched, compressed and stored.
 *
 * name: NUL-terminated, the document's name, unique in the index. text[0..len): its bytes
 * (text may be NULL when len is 0). origin: where it came from, recorded as the document's
 * file (ty_index_doc_info(), `index list`); NULL or "" for none. All three are only read
 * during the call and copied into the index: the caller keeps them and may free or reuse
 * them as soon as it returns. *id (may be NULL) gets the new document's id.
 *
 * TY_INDEX_WRITE: the document is committed, in a transaction of its own, before the call
 * returns TY_OK — from then on it survives a crash. After the commit, posting segments of
 * similar size are merged; a merge that fails (on a full disk) does not undo the add: the
 * call still returns TY_OK and ty_index_warning() says what failed (the merge is tried again
 * after a later commit, or by ty_index_compact()).
 * TY_INDEX_CREATE: the document is part of the new index, which ty_index_finish() writes. A
 * new index trains its text dictionary on the first chunk of ty_index_add_docs(); documents
 * added with this call before that are compressed without one (and none is trained).
 *
 * Errors (nothing is stored; the message names the document, and for a storage error the
 * index and the system's reason — "No space left on device" on a full disk): TY_EEXIST a
 * document of that name is in the index (also a deleted one: names are not reused);
 * TY_EUTF8, TY_EBINARY, TY_ETOOBIG the text (the message gives the position); TY_EREADONLY
 * a handle opened TY_INDEX_READ or sharded; TY_EINVAL one not open or finished; TY_EIO,
 * TY_ENOMEM,
 * TY_ECORRUPT. After a storage error in TY_INDEX_CREATE, ty_index_finish() refuses.
 * Thread safety: needs the handle to itself; searchers on it may run meanwhile. */
int ty_index_add_doc(ty_index_t *ix, const char *name, const void *text, size_t len,
                     const char *origin, const ty_opts_t *o, uint32_t *id);

/* Read every document of r and add it as ty_index_add_doc() does (its origin: the file it
 * was read from, with its JSONL line), on ao->threads threads; document ids follow the input
 * order. In TY_INDEX_WRITE mode documents are committed every ao->commit_docs documents and
 * at the end: a crash leaves the index as of the last commit (TY_EVENT_COMMIT). A name
 * already in the index is not added again (TY_EVENT_DUPLICATE), so re-running an
 * interrupted add resumes it; a failed merge after a commit is TY_EVENT_WARNING, not an
 * error. Returns TY_OK, the error that stopped the run (a callback that returned nonzero:
 * TY_ECANCELED), or a storage error; documents committed before stay. */
int ty_index_add_docs(ty_index_t *ix, ty_reader_t *r, const ty_opts_t *o,
                      const ty_index_add_opts_t *ao);

/* TY_INDEX_CREATE: write the postings, sync, and move the index into place. */
int ty_index_finish(ty_index_t *ix);

/* TY_INDEX_WRITE: merge all posting segments into one (faster queries). */
int ty_index_compact(ty_index_t *ix);

int ty_index_stats(ty_index_t *ix, ty_index_stats_t *st);

/* Check every structure: headers, each document record and text, each posting. TY_OK or
 * TY_ECORRUPT naming the first problem. Slow: reads the whole index. */
int ty_index_verify(ty_index_t *ix);

/* Load indexed document id (0 <= id < docs) into d (named by its indexed name), tokenized
 * with o. TY_ENOTFOUND if there is no such document or it was deleted. */
int ty_index_get_doc(ty_index_t *ix, uint32_t id, ty_doc_t *d, const ty_opts_t *o);
/* Name and origin of document id without loading its text: the name and the file it came
 * from are copied into name / file (name_size / file_size bytes, NUL-terminated, cut if
 * longer; "" if unknown), the JSONL line into *line (0 for a whole file). Any output may
 * be NULL. TY_ENOTFOUND if there is no such document. */
int ty_index_doc_info(ty_index_t *ix, uint32_t id, char *name, size_t name_size, char *file,
                      size_t file_size, uint64_t *line);
/* Document id of a name: TY_OK, or TY_ENOTFOUND. */
int ty_index_find(ty_index_t *ix, const char *name, uint32_t *id);

/* Deleting (index_del.c), by tombstone: the document stays stored but is marked deleted in
 * one committed transaction. TY_INDEX_WRITE only. *id (may be NULL) gets its id. TY_OK, or
 * TY_ENOTFOUND if there is no document of that name or it is deleted already. A deleted
 * document is no longer a source for ty_searcher_check() and ty_index_get_doc() refuses it;
 * ty_index_find() still finds its id (check ty_index_is_deleted()), its name cannot be
 * added again, and ty_index_stats() still counts it. */
int ty_index_delete(ty_index_t *ix, const char *name, uint32_t *id);
/* 1 if document id is deleted, 0 if not, a negative TY_E* code on a storage error (no
 * message). Thread-safe: may be called by any thread on a shared handle. */
int ty_index_is_deleted(ty_index_t *ix, uint32_t id);
/* Number of deleted documents. */
int ty_index_deleted_count(ty_index_t *ix, uint64_t *n);

/* Sharded indexes (index_shard.c): a directory DIR holding shard-0000, shard-0001, ...
 * (ordinary indexes, "shard-%04u", each of a consecutive run of the input in its order) and
 * DIR/MANIFEST, written last: the commit point. ty_index_open(ix, DIR, TY_INDEX_READ, io)
 * opens all shards as one index: global document id = the shard's first id + its local id
 * (the ids one index of the whole input gives), and searches give the results of that one
 * index (the frequent-minimizer cut uses document counts over all shards, from the
 * manifest). Read-only: TY_INDEX_WRITE, ty_index_add_doc[s](), ty_index_delete() and
 * ty_index_compact() fail with TY_EREADONLY and a message. A directory without a MANIFEST, a
 * missing shard or one that does not match the manifest is refused (TY_ECORRUPT or
 * TY_EVERSION, naming the path). `mpirun -np N tongyuan index build -o DIR` writes one. */
#define TY_INDEX_DF_BUCKETS 128
/* Writing one: each shard is built as usual with TY_INDEX_CREATE at DIR/shard-%04u; then a
 * shard set handle (ty_index_shards_new(DIR, nshards); its calls' messages in
 * ty_index_shards_errmsg()) finds the names held twice, sums the histograms and commits. */
typedef struct ty_index_shards ty_index_shards_t;
ty_index_shards_t *ty_index_shards_new(const char *dir, uint32_t nshards); /* NULL: no memory */
void ty_index_shards_free(ty_index_shards_t *sh);
const char *ty_index_shards_errmsg(const ty_index_shards_t *sh);
/* The histogram of minimizer document counts over all the shards together, for part `part`
 * of `parts` equal parts of the minimizer key space (so that several processes share the
 * work; the histograms of all parts add up to the whole). */
int ty_index_shards_df_hist(ty_index_shards_t *sh, uint32_t part, uint32_t parts,
                            uint64_t hist[TY_INDEX_DF_BUCKETS]);
/* Document names held by more than one shard (one index of the whole input keeps the first
 * and skips the others): fn(user, shard, name) is called for each shard after the first that
 * holds the name (name NUL-terminated, valid during the call; nonzero stops: TY_ECANCELED).
 * fn NULL: the first such name is an error (TY_EINVAL naming it and both shards). Part and
 * parts as above, of the name keys. TY_OK when done. */
typedef int (*ty_index_dup_fn)(void *user, uint32_t shard, const char *name);
int ty_index_shards_dup_names(ty_index_shards_t *sh, uint32_t part, uint32_t parts,
                              ty_index_dup_fn fn, void *user);
/* TY_INDEX_CREATE, before ty_index_add_docs(): documents with these names are taken as
 * already indexed (TY_EVENT_DUPLICATE, not added), as in one index where an earlier shard
 * holds them. TY_EINVAL for other modes. */
int ty_index_skip_names(ty_index_t *ix, const char *const *names, size_t n);
/* Then write DIR/MANIFEST (a temporary file, fsync, rename, fsync of DIR) from the finished
 * shards 0..nshards-1 and the whole histogram. */
int ty_index_shards_commit(ty_index_shards_t *sh, const uint64_t hist[TY_INDEX_DF_BUCKETS]);

/* Search options. */
typedef struct ty_query_opts {
    size_t max_sources;            /* report at most this many sources per query [20] */
    size_t max_candidates;         /* align at most this many candidates: the primaries (documents
                                    * explaining text no better candidate explains), then their
                                    * closest rivals [16] */
    uint32_t min_shared;           /* candidates share at least this many minimizers [3] */
    double max_df_frac;            /* ignore the most frequent minimizers: those in more documents
                                    * than all but this fraction of minimizers (minimap2's -f)
                                    * [0.0002] */
    uint32_t max_df;               /* and ignore minimizers in more than this many documents;
                                    * 0 = no fixed limit [0] */
    uint32_t min_df_cut;           /* but never ignore one in this many documents or fewer [50] */
    size_t max_also;               /* list at most this many other holders per source [10] */
    size_t postings_per_minimizer; /* every holder of the query's rarest minimizers votes,
                                    * up to this many postings per query minimizer in all;
                                    * each other minimizer credits its first (lowest-id)
                                    * holder [4] */
} ty_query_opts_t;

void ty_query_opts_init(ty_query_opts_t *q);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL). */
int ty_query_opts_check(const ty_query_opts_t *q, char *msg, size_t msg_size);

/* Another indexed document holding the text of a source's passages (a near-duplicate
 * version of it, a repost): listed with the source, not reported as a source of its own. */
typedef struct ty_holder {
    uint32_t id;      /* document id in the index */
    const char *name; /* its indexed name (owned by the searcher, like the source) */
    uint32_t shared;  /* distinct minimizers shared with the query */
    size_t covered;   /* suspect tokens its own alignment covers; 0 when it was not aligned
                       * (then only its shared minimizers say it holds the text) */
} ty_holder_t;

/* One indexed document that a query reuses. */
typedef struct ty_source {
    uint32_t id;                  /* document id in the index */
    const ty_doc_t *doc;          /* the indexed document, loaded (its name is the indexed
                                   * name) */
    uint32_t shared;              /* distinct minimizers shared with the query */
    const ty_passage_t *passages; /* sorted by suspect offset: the passages no better source
                                   * already explains (see ty_searcher_check) */
    size_t npassages;
    const size_t *aligned_at; /* per passage: its index among the passages ty_compare(doc,
                               * query) gives (for ty_compare_runs() after aligning again) */
    size_t covered;           /* suspect tokens covered by the passages */
    const ty_holder_t *also;  /* other documents holding the same text, best first (by the
                               * share of this source's text they hold) */
    size_t nalso;             /* listed in also: at most max_also */
    size_t also_total;        /* holders found, listed or not (the rest: past the cap) */
} ty_source_t;

/* Per-thread query handle on an open index. NULL when out of memory. o and q are copied
 * (check them first). ix must stay open while the searcher lives. Each query sees the
 * documents committed when it starts. */
typedef struct ty_searcher ty_searcher_t;
ty_searcher_t *ty_searcher_new(ty_index_t *ix, const ty_opts_t *o, const ty_query_opts_t *q);
void ty_searcher_free(ty_searcher_t *s);
const char *ty_searcher_errmsg(const ty_searcher_t *s);

/* The indexed documents that q reuses, best first (most suspect tokens matched in order):
 * the candidates (see max_candidates) are aligned with ty_compare() on their stored text; a
 * candidate whose passages are not mostly text a better one already explains is a source,
 * with those passages; the other documents holding the same text (aligned candidates
 * whose passages a source explains, near-duplicates of a source by their minimizers) are
 * listed with it (also). docs/index.md says how. *out and everything it points to are owned
 * by s, valid until its next check or free. q is only read. */
int ty_searcher_check(ty_searcher_t *s, const ty_doc_t *q, const ty_source_t **out, size_t *n);

/* Only the candidate step: the ids of the documents ty_searcher_check() would align (with
 * max as max_candidates: the primaries, most shared minimizers first, then their rivals),
 * and their shared minimizers, into ids/shared (caller's arrays). *n: how many. */
int ty_searcher_candidates(ty_searcher_t *s, const ty_doc_t *q, uint32_t *ids, uint32_t *shared,
                           size_t max, size_t *n);

/* ---------------------------------------------------------------------------------------
 * Deduplication (dedup.c, minhash.c): cluster a stream of documents into groups of copies
 * and decide, for each group, which document to keep — what `tongyuan dedup` runs on a
 * crawl before training a model.
 *
 *   ty_dedup_opts_t o;  ty_dedup_opts_init(&o);  o.mode = TY_DEDUP_SPUN;
 *   ty_dedup_t *dd = ty_dedup_new(&o, &topts);      (topts: tokenizer/alignment options)
 *   for each document:  rc = ty_dedup_add(dd, name, text, len);   (TY_OK, or stop)
 *   rc = ty_dedup_finish(dd);
 *   for (i = 0; i < ty_dedup_count(dd); i++)  ty_dedup_result(dd, i, &res);
 *   ty_dedup_free(dd);
 *
 * Modes:
 *   TY_DEDUP_EXACT  the same normalized token stream (XXH3-128 of the tokens: spacing,
 *                   punctuation, case, full/half width and Traditional/Simplified ignored).
 *   TY_DEDUP_NEAR   classic MinHash + LSH banding over character n-grams of the normalized
 *                   text: two documents are linked when all `rows` signature values of at
 *                   least one of `bands` bands agree (Jaccard similarity about
 *                   (1/bands)^(1/rows) or more); the similarity of a link is an unbiased
 *                   estimate (docs/dedup.md). scripts/minhash_ref.py is a plain reference
 *                   of the same hashes.
 *   TY_DEDUP_SPUN   (w,k)-minimizers of each document are looked up among the documents
 *                   already seen; candidates sharing enough of them are aligned with
 *                   ty_compare() and linked when the passages cover at least
 *                   min_containment of the smaller document. Catches spun, shuffled,
 *                   Traditional-converted and partial copies. Identical documents (as in
 *                   exact mode) are linked without alignment.
 * Links are joined transitively (union-find); a cluster is a connected component.
 *
 * Boilerplate (spun mode): a minimizer found in more than max_df documents (counted over
 * the documents indexed so far plus the whole current batch, so a template is recognised
 * from its first batch on) is not used to find candidates, and the text it covers is left
 * out of the containment on both sides: documents that share only a template, a licence
 * footer or navigation text are never linked. A document found to be a copy is not itself
 * indexed: later copies find the original, and a widely copied article does not turn its
 * own minimizers into "boilerplate".
 *
 * Determinism: documents are processed in batches of opts.batch; within a batch, threads
 * tokenize, sketch and verify candidates against the documents indexed before the batch
 * and the earlier documents of the batch, and the results are merged in input order. The
 * result depends on the input order and the options, never on the number of threads.
 *
 * Thread safety: a ty_dedup_t is used by one thread at a time (it runs its own workers).
 */
typedef struct ty_dedup ty_dedup_t;

enum { TY_DEDUP_EXACT = 0, TY_DEDUP_NEAR = 1, TY_DEDUP_SPUN = 2 };
enum {
    TY_KEEP_FIRST = 0,   /* keep the first document of each cluster in input order */
    TY_KEEP_LONGEST = 1, /* keep the one with the most characters (the first of equals) */
};

typedef struct ty_dedup_opts {
    int mode;     /* TY_DEDUP_* [TY_DEDUP_SPUN] */
    int keep;     /* TY_KEEP_* [TY_KEEP_FIRST] */
    int threads;  /* worker threads, 1..1024 [1] */
    size_t batch; /* documents per batch, 16..1048576 [4096]; see Determinism */
    int evidence; /* 1: give the aligned passages with each link event (spun) [0] */
    /* near */
    int ngram;       /* shingle length in characters of the normalized text, 1..32 [5] */
    int bands, rows; /* LSH bands and rows per band; permutations = bands x rows,
                      * at most 1024 [16 x 8: threshold about 0.71] */
    uint64_t seed;   /* seed of the permutations [1] */
    /* spun */
    int k, w;               /* minimizer k-mer length 2..16 and window 1..256 [5, 8] */
    uint32_t max_df;        /* minimizers in more documents than this are boilerplate [32] */
    uint32_t min_shared;    /* a candidate shares at least this many minimizers... [3] */
    double min_shared_frac; /* ...and at least this share of the smaller one's [0.1] */
    int max_candidates;     /* align at most this many candidates per document [8] */
    double min_containment; /* link when the passages cover this share of the smaller
                             * document (boilerplate left out), 0..1 [0.6] */
    /* memory (one process; docs/dedup.md, Memory) */
    uint64_t memory;     /* bytes the handle may hold before it moves what it can to disk:
                          * 0 (the default) or at least 1 MiB; 0: half of the machine's
                          * memory (or of its cgroup's limit). Never changes a decision */
    const char *tmp_dir; /* where its temporary directory is made (copied) [NULL: $TMPDIR,
                          * or /tmp] */
} ty_dedup_opts_t;

void ty_dedup_opts_init(ty_dedup_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL). */
int ty_dedup_opts_check(const ty_dedup_opts_t *o, char *msg, size_t msg_size);

/* Bands and rows for a Jaccard threshold with perms permutations: the split minimizing the
 * sum of the false-positive and false-negative probability areas (as datasketch does).
 * threshold 0: TY_DEDUP_THRESHOLD; perms 0: ty_dedup_opts_init()'s bands x rows.
 * TY_EINVAL if threshold is not 0 or in (0, 1), or perms not 0 or in 1..1024. */
#define TY_DEDUP_THRESHOLD 0.7
int ty_dedup_lsh_params(double threshold, int perms, int *bands, int *rows);

/* Events, reported in input order on the thread that called ty_dedup_add() or
 * ty_dedup_finish(). */
enum {
    TY_DEDUP_LINK = 0,  /* doc was linked to the earlier document other */
    TY_DEDUP_ERROR = 1, /* doc could not be tokenized (msg says why); it is left out of the
                         * clusters. Return 0 to go on, nonzero to stop: the call then
                         * returns the document's error code */
};

typedef struct ty_dedup_event {
    int kind;          /* TY_DEDUP_LINK or TY_DEDUP_ERROR */
    size_t doc;        /* the document, 0-based in input order */
    size_t other;      /* LINK: the earlier document */
    double similarity; /* LINK: see ty_dedup_result_t */
    double containment;
    const ty_passage_t *passages; /* LINK, spun mode with opts.evidence: src = other,
                                   * sus = doc; NULL otherwise. Valid during the call */
    size_t npassages;
    int err;         /* ERROR: TY_EUTF8, TY_EBINARY, TY_ETOOBIG, ... */
    const char *msg; /* ERROR: one line naming the document and position */
} ty_dedup_event_t;

typedef int (*ty_dedup_event_fn)(void *user, const ty_dedup_event_t *ev);

/* NULL when out of memory. o and to (tokenizer and alignment options, ty_opts_init()) are
 * copied; check both first. The callback may be NULL (document errors are then skipped). */
ty_dedup_t *ty_dedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, ty_dedup_event_fn fn,
                         void *user);
void ty_dedup_free(ty_dedup_t *dd);
const char *ty_dedup_errmsg(const ty_dedup_t *dd); /* "" if none; valid until next call */

/* Add the next document (name and text are copied). Every opts.batch documents the batch
 * is processed before the call returns, and its events are reported. TY_OK, TY_ENOMEM,
 * TY_EINVAL after ty_dedup_finish(), or the error of a document whose event asked to stop
 * (the handle then accepts nothing more). */
int ty_dedup_add(ty_dedup_t *dd, const char *name, const char *text, size_t len);

/* Process the last batch and form the clusters. Call once, after the last add. */
int ty_dedup_finish(ty_dedup_t *dd);

size_t ty_dedup_count(const ty_dedup_t *dd); /* documents added */
/* Name of document i as added (borrowed, valid while dd is); NULL if out of range. */
const char *ty_dedup_name(const ty_dedup_t *dd, size_t i);

typedef struct ty_dedup_result {
    int err;        /* TY_OK, or the error that left the document out (no cluster) */
    size_t cluster; /* 0, 1, 2, ... numbered in input order of the clusters' first
                     * documents; every document of a cluster has its number */
    size_t cluster_size;
    int keep;           /* 1: the document kept for its cluster (a lone document is kept) */
    size_t dup_of;      /* not kept: the document it is most contained in / by (its link
                         * with the highest containment, earlier or later); SIZE_MAX if kept */
    double similarity;  /* of that link, 0..1: exact 1; near: the estimated Jaccard
                         * similarity of their character n-grams (unbiased, docs/dedup.md);
                         * spun: tokens matched in order over both documents
                         * (2 x matched / (tokens of both), like difflib's ratio) */
    double containment; /* of that link, 0..1: share of the smaller document covered by
                         * the other (spun: by the aligned passages, boilerplate left out;
                         * near: estimated from the Jaccard similarity and shingle counts) */
} ty_dedup_result_t;

/* After ty_dedup_finish(): the decision for document i. TY_EINVAL if i is out of range or
 * the run is not finished. */
int ty_dedup_result(const ty_dedup_t *dd, size_t i, ty_dedup_result_t *r);

typedef struct ty_dedup_stats {
    size_t docs;         /* documents added */
    size_t errors;       /* left out (TY_DEDUP_ERROR) */
    size_t clusters;     /* after finish: clusters (lone documents count as clusters) */
    size_t removed;      /* after finish: documents not kept */
    size_t links;        /* links made (each joins two documents) */
    size_t candidates;   /* spun: candidate pairs aligned */
    size_t indexed;      /* spun: documents indexed (not found to be copies) */
    size_t frequent;     /* spun: minimizers over max_df (boilerplate) */
    size_t minimizers;   /* spun: distinct minimizers in the index */
    size_t mem_bytes;    /* memory held by the handle, about */
    uint64_t mem_budget; /* opts.memory, or the default it stands for */
    uint64_t disk_bytes; /* moved to temporary files because of the budget */
    size_t spills;       /* batches after which the budget was passed */
    size_t merges;       /* sorted runs merged */
    size_t mz_disk;      /* spun: minimizer records in sorted runs on disk (a minimizer is in
                          * several runs until they are merged) */
    uint64_t disk_peak;  /* the most the temporary files held at once (runs merged away are
                          * closed and their space freed) */
} ty_dedup_stats_t;

void ty_dedup_stats(const ty_dedup_t *dd, ty_dedup_stats_t *st);

/* The temporary directory of dd's files (opts.memory): "" until the first is needed, then its
 * path — a buffer of the handle, the same pointer for its life, filled in place when the
 * directory is made. Its files have no names (they vanish when the process ends, however it
 * ends) and ty_dedup_free() removes it; a front end that stops on a signal without freeing the
 * handle calls rmdir() on this path from its handler (async-signal-safe; the library installs
 * no handler). */
const char *ty_dedup_tmp_dir(const ty_dedup_t *dd);

/* Incremental dedup (docs/dedup.md): a run's state saved in a directory (the file
 * DIR/dedup.state) and loaded by a later run, whose documents then come after the saved ones:
 * they get the decisions one run over the saved documents and the new ones would give them
 * (exactly: the state is the engine's; in spun mode it includes the documents of the last,
 * partial batch, which are added again), and a new copy of a saved document is removed with
 * dup_of naming it. The options the decisions depend on must be the same (mode; near: ngram,
 * bands, rows, seed; spun: batch, the sketch, candidate and alignment options;
 * max_doc_bytes, utf8_mode); keep and threads may differ.
 *
 * ty_dedup_load_state: before the first ty_dedup_add(). The saved documents become documents
 * 0 .. ty_dedup_count() - 1 (named as saved; events may be reported for those of the last
 * batch again). TY_ENOTFOUND (no DIR or no DIR/dedup.state), TY_EVERSION (another format,
 * or made with other options: the message names the first that differs), TY_ECORRUPT (the
 * message names the file and byte offset), TY_EIO, TY_ENOMEM; after an error the handle
 * takes nothing more.
 * ty_dedup_save_state: before ty_dedup_finish(); creates DIR if needed and locks it
 * (DIR/dedup.lock, flock) until the handle is freed: TY_EBUSY while another handle saves
 * there. ty_dedup_finish() then writes the state to DIR/dedup.state.tmp, and
 * ty_dedup_commit_state() (after finish, once the caller's own outputs are safe) syncs it
 * and renames it over DIR/dedup.state — atomic: until then, and after any failure or
 * interruption, DIR holds the state as it was. DIR may be the directory just loaded from.
 * Memory: the state holds what the handle holds (docs/dedup.md, Memory); the file is about
 * that size. */
int ty_dedup_load_state(ty_dedup_t *dd, const char *dir);
int ty_dedup_save_state(ty_dedup_t *dd, const char *dir);
int ty_dedup_commit_state(ty_dedup_t *dd);

/* ---------------------------------------------------------------------------------------
 * Reports (report.c): what a front end shows of a comparison, appended to a caller's buffer,
 * which the caller writes where it wants (a file, an HTTP reply, a Python string). The same
 * calls serve the CLI, the server and a binding, so their outputs agree byte for byte.
 */

/* A growing byte buffer. Start it zeroed ({0}); data is NUL-terminated after len bytes
 * (NULL while nothing was appended). Caller frees with ty_buf_free(). Out of memory sets err
 * (TY_ENOMEM): what is appended afterwards is dropped and every call returns err, so a writer
 * checks once before it writes data out. One thread at a time. */
typedef struct ty_buf {
    char *data;
    size_t len, cap;
    int err;
} ty_buf_t;

int ty_buf_put(ty_buf_t *b, const char *s, size_t n);
int ty_buf_puts(ty_buf_t *b, const char *s);
int ty_buf_printf(ty_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0, n) as a JSON string with its quotes; invalid UTF-8 bytes become U+FFFD */
int ty_buf_json_str(ty_buf_t *b, const char *s, size_t n);
/* Free the bytes and reset b to empty ({0}). */
void ty_buf_free(ty_buf_t *b);

/* One passage as a JSON line ("{...}\n") with the fields of README "Output formats". */
int ty_report_passage_json(ty_buf_t *b, const char *src_name, const char *sus_name,
                           const ty_passage_t *p);
/* The same, with the fields that locate it in documents that were not UTF-8 text: *_page and
 * *_page_end (PDF), *_file_off and *_file_len (bytes of a file decoded from another charset).
 * src, sus: the documents (NULL: no such fields for that side). */
int ty_report_passage_json_docs(ty_buf_t *b, const char *src_name, const char *sus_name,
                                const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p);
/* ,"also":[names],"also_more":N: the other holders of a check source's text (nothing when
 * there are none) */
int ty_report_also_names(ty_buf_t *b, const ty_source_t *s);
/* ,"also":[{"src","id","shared"; "score","covered" when aligned}],"also_more":N: the same
 * holders as objects (the server's sources; nt: the suspect's tokens) */
int ty_report_also_objects(ty_buf_t *b, const ty_source_t *s, size_t nt);
/* The JSON line of passage i of a check source: ty_report_passage_json_docs's fields (sus:
 * the query document, for its page and file offsets), then ty_report_also_names's. */
int ty_report_source_passage_json(ty_buf_t *b, const ty_source_t *s, size_t i, const char *sus_name,
                                  const ty_doc_t *sus);

/* How the text report looks: ANSI colour (the caller decides: a terminal without NO_COLOR),
 * passages whole instead of an excerpt. */
typedef struct ty_report_style {
    int color;
    int full;
} ty_report_style_t;

/* The people-readable report of one (src, sus) comparison: a summary line, then each passage
 * with where it is and a merged diff view marking differences [-source-]{+suspect+} (colours
 * with st->color). The runs of passage i are read with ty_compare_runs(al, i, ...): al must
 * be the aligner that produced p. from: NULL, or the check source p, n are of
 * (p = from->passages, al having aligned from->doc with sus again: its runs are at
 * from->aligned_at), whose other holders are listed under the summary line. */
int ty_report_text(ty_buf_t *b, const ty_report_style_t *st, const ty_doc_t *src,
                   const ty_doc_t *sus, const ty_passage_t *p, size_t n, const ty_aligner_t *al,
                   const ty_source_t *from);

/* One source of an HTML report with its passages and their runs, copied out of an aligner
 * (whose results live only until its next ty_compare). src is borrowed: it must outlive the
 * report. Free with ty_report_source_free(). */
typedef struct ty_report_source {
    const ty_doc_t *src;
    ty_passage_t *p;
    size_t n;
    ty_match_t **runs;
    size_t *nruns;
} ty_report_source_t;

/* Copy the n passages p of the last comparison on al (and their runs: those of passage at[i]
 * of al for p[i]; at NULL: i). TY_OK, or TY_ENOMEM (free hs all the same). */
int ty_report_source_capture(ty_report_source_t *hs, const ty_doc_t *src, const ty_aligner_t *al,
                             const ty_passage_t *p, size_t n, const size_t *at);
void ty_report_source_free(ty_report_source_t *hs);

/* The self-contained HTML report for suspect sus against ns sources: summary, source(s) and
 * suspect side by side, each reused passage highlighted in a colour per source, the
 * spinner's changes marked inside (<ins> changed/inserted in the suspect, <del>
 * replaced/dropped in the source), click a passage to scroll to its counterpart. No external
 * resources: works offline. */
int ty_report_html(ty_buf_t *b, const ty_doc_t *sus, const ty_report_source_t *s, size_t ns);

/* ---------------------------------------------------------------------------------------
 * Command-line options (args.c), shared by the front ends (the `tongyuan` commands, the
 * server): each command declares a table of its options, one call parses argv with it. The
 * messages are returned (msg, msg_size bytes), never printed: the front end prefixes them
 * with its command ("tongyuan check: ") and prints them.
 *
 *   long threads = 4;  int full = 0, help = 0;  const char *out = NULL;
 *   ty_argdef_t defs[] = {TY_ARG_INT("--threads", NULL, threads, 1, 1024),
 *                         TY_ARG_FLAG("--full", NULL, full, 1),
 *                         TY_ARG_STRING("--output", "-o", out),
 *                         TY_ARG_HELP(help), TY_ARG_END};
 *   if (ty_args_parse(defs, argc, argv, pos, &npos, msg, sizeof msg) != TY_OK) ... print msg;
 *
 * argv[0] is the command and is skipped. "--name=value" and "--name value" both work (an
 * alias such as "-o" takes its value from the next argument only); "--" ends the options;
 * "-" and every argument not starting with '-' is positional. Messages: "--threads: expected
 * a whole number between 1 and 1024, got 'x'", "--format: needs a value", "unknown option
 * '--thread'; did you mean --threads?".
 */
typedef enum {
    TY_ARGK_END = 0, /* ends a table (name NULL) */
    TY_ARGK_FLAG,    /* no value: `set` stored into the integer at dst */
    TY_ARGK_STOP,    /* a flag that ends parsing at once (--help): TY_OK, the rest unread */
    TY_ARGK_INT,     /* a whole number in [lo, hi] into the integer at dst */
    TY_ARGK_MB,      /* a whole number of megabytes in [lo, hi], stored as bytes (<< 20) */
    TY_ARGK_BYTES,   /* a size in bytes, suffix K, M or G allowed, at least 1 */
    TY_ARGK_DOUBLE,  /* a number in [lo, hi] into a double */
    TY_ARGK_STRING,  /* the value, borrowed from argv, into a const char *; `set` 1: not "" */
    TY_ARGK_ENUM,    /* one of `choices` ("text|jsonl"): values[index] (index when values is
                        NULL) into the integer at dst */
    TY_ARGK_CALL,    /* fn(dst, value, msg, msg_size): 0, or nonzero with a message */
    TY_ARGK_TABLE    /* dst is another table, its options read as if they stood here */
} ty_arg_kind_t;

typedef struct ty_argdef {
    const char *name;  /* "--threads", or a short name "-k" */
    const char *alias; /* another name ("-x" for "--index"), or NULL */
    ty_arg_kind_t kind;
    void *dst;   /* where the value goes (borrowed: must outlive the call) */
    size_t size; /* sizeof *dst for the integer kinds (FLAG, STOP, INT, MB, BYTES, ENUM) */
    double lo, hi;
    int set;             /* FLAG, STOP: the value stored; STRING: 1 refuses an empty value */
    const char *choices; /* ENUM: the names, '|' between them */
    const int *values;   /* ENUM: the value of each name, or NULL (its index) */
    int (*fn)(void *dst, const char *value, char *msg, size_t msg_size); /* CALL */
} ty_argdef_t;

/* Table entries; var is the variable itself (its address and size are taken). */
#define TY_ARGDEF(n, a, k, dst, size, lo, hi, set, ch, vals, fn)            \
    {                                                                       \
        (n), (a), (k), (dst), (size), (lo), (hi), (set), (ch), (vals), (fn) \
    }
#define TY_ARG_FLAG(name, alias, var, val) \
    TY_ARGDEF(name, alias, TY_ARGK_FLAG, &(var), sizeof(var), 0, 0, val, NULL, NULL, NULL)
#define TY_ARG_HELP(var) \
    TY_ARGDEF("--help", "-h", TY_ARGK_STOP, &(var), sizeof(var), 0, 0, 1, NULL, NULL, NULL)
#define TY_ARG_INT(name, alias, var, lo, hi) \
    TY_ARGDEF(name, alias, TY_ARGK_INT, &(var), sizeof(var), lo, hi, 0, NULL, NULL, NULL)
#define TY_ARG_MB(name, var, lo, hi) \
    TY_ARGDEF(name, NULL, TY_ARGK_MB, &(var), sizeof(var), lo, hi, 0, NULL, NULL, NULL)
#define TY_ARG_BYTES(name, var) \
    TY_ARGDEF(name, NULL, TY_ARGK_BYTES, &(var), sizeof(var), 0, 0, 0, NULL, NULL, NULL)
/* (the conditional makes the compiler check var's type) */
#define TY_ARG_DOUBLE(name, var, lo, hi)                                                           \
    TY_ARGDEF(name, NULL, TY_ARGK_DOUBLE, (void *)(1 ? &(var) : (double *)0), sizeof(var), lo, hi, \
              0, NULL, NULL, NULL)
#define TY_ARG_STRING(name, alias, var, nonempty)                                                \
    TY_ARGDEF(name, alias, TY_ARGK_STRING, (void *)(1 ? &(var) : (const char **)0), sizeof(var), \
              0, 0, nonempty, NULL, NULL, NULL)
#define TY_ARG_ENUM(name, var, choices, values) \
    TY_ARGDEF(name, NULL, TY_ARGK_ENUM, &(var), sizeof(var), 0, 0, 0, choices, values, NULL)
#define TY_ARG_CALL(name, dst, fn) \
    TY_ARGDEF(name, NULL, TY_ARGK_CALL, dst, 0, 0, 0, 0, NULL, NULL, fn)
#define TY_ARG_TABLE(defs) \
    TY_ARGDEF("", NULL, TY_ARGK_TABLE, (void *)(defs), 0, 0, 0, 0, NULL, NULL, NULL)
#define TY_ARG_END TY_ARGDEF(NULL, NULL, TY_ARGK_END, NULL, 0, 0, 0, 0, NULL, NULL, NULL)

/* Parse argv[1..argc-1] with defs (ended by TY_ARG_END). The positional arguments go to
 * pos[*npos...] in order (pos holds argc entries; NULL: none accepted, one is an error).
 * TY_OK; TY_ENOTFOUND: an unknown option (the message names the closest known one when one
 * is close); TY_EINVAL: a bad or missing value, an unexpected argument. The fields before
 * the error are set. */
int ty_args_parse(const ty_argdef_t *defs, int argc, char **argv, const char **pos, int *npos,
                  char *msg, size_t msg_size);
/* The entry named name ("--max-size") in defs and its sub-tables, or NULL. */
const ty_argdef_t *ty_args_find(const ty_argdef_t *defs, const char *name);

/* The options of ty_opts_t (-k, -w, --max-gap ... --max-size, --input-format, --encoding,
 * --invalid-utf8) as a table writing into *o, with the ranges ty_opts_check() applies (the
 * library holds each range once): defs has room for TY_OPTS_NARGS entries, the last TY_ARG_END. */
#define TY_OPTS_NARGS 16
void ty_opts_args(ty_opts_t *o, ty_argdef_t defs[TY_OPTS_NARGS]);
/* The help text of those options, with ty_opts_init()'s defaults, appended to b. */
int ty_opts_help(ty_buf_t *b);
/* The reader's options (--text-field, --id-field, --stdin-format) as a table writing into
 * *ro: TY_READER_NARGS entries, the last TY_ARG_END. */
#define TY_READER_NARGS 4
void ty_reader_opts_args(ty_reader_opts_t *ro, ty_argdef_t defs[TY_READER_NARGS]);
/* ty_dedup_opts_t's numeric options (--batch, --ngram, --bands, --rows, --sketch-k,
 * --sketch-w, --max-df, --min-shared, --min-shared-frac, --max-candidates,
 * --min-containment) as a table writing into *o, with the ranges ty_dedup_opts_check()
 * applies: defs has room for TY_DEDUP_NARGS entries, the last one used TY_ARG_END. */
#define TY_DEDUP_NARGS 13
void ty_dedup_opts_args(ty_dedup_opts_t *o, ty_argdef_t defs[TY_DEDUP_NARGS]);
/* ty_query_opts_t's options as `tongyuan check` has them (--max-sources, --max-also,
 * --max-candidates, --min-shared, --postings, --max-df, --max-df-frac), the same way:
 * TY_QUERY_NARGS entries of room. */
#define TY_QUERY_NARGS 9
void ty_query_opts_args(ty_query_opts_t *q, ty_argdef_t defs[TY_QUERY_NARGS]);

/* ---------------------------------------------------------------------------------------
 * A parallel for (thread.c), the one the library's own threaded stages use, for a front end
 * that runs library calls on many threads (`compare --pairs`, `check`): each thread with its
 * own handles (ty_aligner_t, ty_searcher_t ...), each item's result in a slot of its own,
 * the slots used in item order afterwards — so the output does not depend on the number of
 * threads.
 *
 *   static void one(void *data, size_t i, int tid) { job_t *j = data; run(&j->th[tid], i); }
 *   ty_for(4, one, &job, n);   // one(&job, i, tid) for every i < n, tid < 4; returns when done
 *
 * Items go out one at a time, in no stated order, to the next thread free (the calling thread
 * is one of them); tid (0 <= tid < n_threads) names the thread, for its own scratch. Never
 * more threads than items. If threads cannot be started the items run on fewer (at least
 * the caller). TY_OK, or TY_ENOMEM when not even the bookkeeping could be allocated (no item
 * ran).
 */
typedef void (*ty_for_fn)(void *data, size_t i, int tid);
int ty_for(int n_threads, ty_for_fn fn, void *data, size_t n_items);

/* An ordered pipeline (thread.c), the one the library's threaded readers use, for a front end
 * that reads on one thread while it works on another (`dedup` reads the next documents while
 * ty_dedup_add runs):
 *
 *   static void *step(void *shared, int s, void *in)   // s = 0: read a batch (NULL: no more)
 *   { return s == 0 ? read_batch(shared) : (use_batch(shared, in), NULL); }
 *   ty_pipeline(1, step, &shared, 2);
 *
 * Batches go through steps 0..n_steps-1; step s of batch b runs after step s of batch b-1,
 * so each step sees the batches in input order, one at a time (step 0 may read and the last
 * step write with no locks of their own), while different steps run at once on different
 * batches. Step 0 returns the batch (NULL: the input has ended); step s > 0 gets what step
 * s-1 returned; the last step's return value is ignored. Steps before the last run on
 * n_threads threads of their own; the last step runs on the calling thread, always, and while
 * that thread waits for a batch it calls fn(shared, TY_STEP_WAIT, NULL) about five times a
 * second (progress reports). At most n_threads + 2 batches are in flight. To stop early the
 * last step sets a flag of the caller's (atomic: another thread reads it) that step 0 reads
 * and then returns NULL; the batches in flight still reach the last step, in order. n_threads
 * 0 (or no thread could be started): every step on the calling thread, batch by batch — the
 * result is the same. TY_OK, or TY_ENOMEM when not even the bookkeeping could be allocated
 * (no step ran).
 */
#define TY_STEP_WAIT (-1)
typedef void *(*ty_step_fn)(void *shared, int step, void *in);
int ty_pipeline(int n_threads, ty_step_fn fn, void *shared, int n_steps);

/* ---------------------------------------------------------------------------------------
 * Passage-level cleaning (spans.c): remove from each document the passages that reuse text
 * of EARLIER documents — verbatim, edited, spun, reordered, Traditional — what
 * `tongyuan dedup --mode spans` runs on a training corpus (docs/dedup.md).
 *
 *   ty_spans_opts_t o;  ty_spans_opts_init(&o);
 *   ty_spans_t *sp = ty_spans_new(&o, &topts, fn, user);   (topts: tokenizer/alignment)
 *   for each document:  rc = ty_spans_add(sp, name, text, len);   (events: fn, in order)
 *   rc = ty_spans_finish(sp);  ty_spans_free(sp);
 *
 * Each document's (w,k)-minimizers are looked up among the minimizers of the text KEPT so
 * far; the documents sharing at least min_shared are candidates, the max_candidates sharing
 * most are aligned with ty_compare() (exact mode: exact runs of at least topts.min_len tokens
 * whose original bytes are equal but for ASCII whitespace — ExactSubstr's rule) and every passage
 * found is removed. Only the kept text is indexed: the first copy of a passage stays, every later
 * copy is removed, and a passage copied into many documents is indexed once (never cut as
 * "boilerplate" by max_df, which only drops minimizers of short common phrases).
 * The result depends only on the input order and the options: not on threads (o.threads
 * workers align a batch of documents at once) nor on the batch size (o.batch), which give the
 * output of the one-by-one order byte for byte. Memory: per document added, its name, the
 * zstd-compressed kept text and the postings of its kept minimizers; per batch, its texts.
 * Thread safety: a ty_spans_t is used by one thread at a time (it runs its own workers).
 */
typedef struct ty_spans ty_spans_t;

typedef struct ty_spans_opts {
    int exact;           /* 1: exact repeats only (ExactSubstr semantics) [0] */
    int k, w;            /* minimizer k-mer length 2..16 and window 1..256 [5, 4] */
    uint32_t max_df;     /* minimizers in more kept documents than this find nothing [64] */
    uint32_t min_shared; /* a candidate shares at least this many minimizers [3; exact 1] */
    int max_candidates;  /* align at most this many candidates per document [8] */
    int threads;         /* worker threads 1..1024; the result does not depend on it [1] */
    int batch;           /* documents per batch, 1..65536 (fewer when they hold 32 MB of text);
                          * the result does not depend on it either (1: one by one) [512] */
} ty_spans_opts_t;

void ty_spans_opts_init(ty_spans_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field (if msg != NULL). */
int ty_spans_opts_check(const ty_spans_opts_t *o, char *msg, size_t msg_size);

/* One removed passage, in code points (and bytes) of the document's original text; src is
 * the earlier document (0-based input order) and src_off/src_len its passage there. */
typedef struct ty_span {
    size_t sus_off, sus_len, sus_byte_off, sus_byte_len;
    size_t src, src_off, src_len;
    double score; /* the alignment's (ty_passage_t), 1 for an exact repeat */
} ty_span_t;

enum { TY_SPANS_DOC = 0, TY_SPANS_ERROR = 1 };

typedef struct ty_spans_event {
    int kind;   /* TY_SPANS_DOC: the document's result; TY_SPANS_ERROR: it could not be read
                 * (msg; return nonzero to stop: ty_spans_add then returns err) */
    size_t doc; /* 0-based input order */
    const char *text, *kept; /* the original text and the text kept (original minus the
                              * removed passages), len / kept_len bytes; valid during the call */
    size_t len, kept_len;
    const ty_span_t *removed; /* sorted by sus_off, none inside another; they may overlap */
    size_t nremoved;
    size_t ncp, removed_cp; /* code points of the document and of its removed text */
    int err;
    const char *msg;
} ty_spans_event_t;

typedef int (*ty_spans_event_fn)(void *user, const ty_spans_event_t *ev);

/* NULL when out of memory or the options are bad (check them first). */
ty_spans_t *ty_spans_new(const ty_spans_opts_t *o, const ty_opts_t *to, ty_spans_event_fn fn,
                         void *user);
void ty_spans_free(ty_spans_t *sp);
const char *ty_spans_errmsg(const ty_spans_t *sp); /* "" if none; valid until next call */
/* Queue the next document (name and text are copied). Documents are processed a batch at a
 * time: the events come in input order, from the ty_spans_add() that completes a batch or
 * from ty_spans_finish(), which processes the rest. TY_OK, TY_ENOMEM, or the error of a
 * document whose event asked to stop (then every later call returns it). */
int ty_spans_add(ty_spans_t *sp, const char *name, const char *text, size_t len);
int ty_spans_finish(ty_spans_t *sp);
/* Name of document i (borrowed, valid while sp is); NULL if out of range. */
const char *ty_spans_name(const ty_spans_t *sp, size_t i);

typedef struct ty_spans_stats {
    size_t docs, errors;   /* documents added; left out (TY_SPANS_ERROR) */
    size_t changed;        /* documents with at least one passage removed */
    size_t cp, removed_cp; /* code points read; removed */
    size_t candidates;     /* candidate pairs aligned */
    size_t minimizers;     /* distinct minimizers indexed */
    size_t mem_bytes;      /* memory held, about */
} ty_spans_stats_t;

void ty_spans_stats(const ty_spans_t *sp, ty_spans_stats_t *st);

#ifdef __cplusplus
}
#endif
#endif /* TONGYUAN_H */
