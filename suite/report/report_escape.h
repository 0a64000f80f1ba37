/* Escaping for the report files. Plain C over stdio, so that the report
 * writers and device-conformance-compare share it. */
#ifndef REPORT_ESCAPE_H
#define REPORT_ESCAPE_H

#include <stdio.h>

/* Writes text (NULL: nothing) escaped for XML/HTML character data and
 * attribute values. */
void mx_put_xml(FILE *f, const char *text);
/* Writes text (NULL: nothing) as one Markdown table cell or list item: '|'
 * and '\' escaped, '<' as "&lt;" (no raw HTML), line breaks and tabs as
 * spaces, backticks kept. */
void mx_put_md(FILE *f, const char *text);
/* Writes fmt with each "%s" argument (NULL: nothing) escaped by put
 * (mx_put_xml or mx_put_md); "%lld", "%zu" and "%%" as printf writes them,
 * the rest of fmt as it is. No other conversion is understood. */
void mx_putf(FILE *f, void (*put)(FILE *, const char *), const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
