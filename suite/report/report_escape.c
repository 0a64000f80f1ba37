/* Escaping for the report files (report_escape.h). */
#include "report_escape.h"

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
