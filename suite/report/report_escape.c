/* Escaping for the report files (report_escape.h). */
#include "report_escape.h"

#include <stdarg.h>
#include <string.h>

void mx_put_xml(FILE *f, const char *text) {
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
            case '&':
                fputs("&amp;", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '>':
                fputs("&gt;", f);
                break;
            case '"':
                fputs("&quot;", f);
                break;
            case '\'':
                fputs("&#39;", f);
                break;
            default:
                fputc(*p, f);
        }
    }
}

void mx_put_md(FILE *f, const char *text) {
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
            case '|':
                fputs("\\|", f);
                break;
            case '\\':
                fputs("\\\\", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '\n':
            case '\r':
            case '\t':
                fputc(' ', f);
                break;
            default:
                fputc(*p, f);
        }
    }
}

void mx_putf(FILE *f, void (*put)(FILE *, const char *), const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            fputc(*p, f);
        } else if (strncmp(p, "%s", 2) == 0) {
            put(f, va_arg(ap, const char *));
            p++;
        } else if (strncmp(p, "%lld", 4) == 0) {
            fprintf(f, "%lld", va_arg(ap, long long));
            p += 3;
        } else if (strncmp(p, "%zu", 3) == 0) {
            fprintf(f, "%zu", va_arg(ap, size_t));
            p += 2;
        } else {
            fputc('%', f);
            p += p[1] == '%';
        }
    }
    va_end(ap);
}
