/*
 * html.h — the self-contained HTML report: summary, source(s) and suspect side by side, each
 * reused passage highlighted in a colour per source, the spinner's changes marked inside
 * (<ins> changed/inserted in the suspect, <del> replaced/dropped in the source), click a passage
 * to scroll to and flash its counterpart. No external resources: works offline.
 */
#ifndef TY_CLI_HTML_H
#define TY_CLI_HTML_H

#include <stdio.h>

#include "tongyuan.h"

/* One source with its passages, copied out of an aligner (whose results live only until its
 * next ty_compare). */
typedef struct {
    const ty_doc_t *src;
    ty_passage_t *p;
    size_t n;
    ty_match_t **runs;
    size_t *nruns;
} html_source_t;

/* Copy the n passages p of the last comparison on al (and their runs: those of passage
 * at[i] of al for p[i]; at NULL: i). 0, or -1 if out of memory. */
int html_source_capture(html_source_t *hs, const ty_doc_t *src, const ty_aligner_t *al,
                        const ty_passage_t *p, size_t n, const size_t *at);
void html_source_free(html_source_t *hs);

/* Write the report for suspect sus against ns sources to f. Returns 0, or -1 on a write error. */
int html_write(FILE *f, const ty_doc_t *sus, const html_source_t *s, size_t ns);

#endif
