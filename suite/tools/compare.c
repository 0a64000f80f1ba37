/* device-conformance-compare: several results.json files side by side.
 *
 *   device-conformance-compare [--md FILE] [--html FILE] [--label TEXT]...
 *                              RESULTS.json RESULTS.json...
 *
 * One row per check (requirement ID and test name), one column per run; the
 * rows whose verdicts differ come first, then the others, each in the order
 * the runs list them. For two releases of one server, or several servers.
 *
 * Inputs are checked loosely against fixtures/report-schema.json: the fields
 * this tool reads must be there with the schema's types; fields it does not
 * know are ignored, so that the report format can grow.
 *
 * Exit: 0 tables written, 2 usage error, unreadable input or unwritable output
 * (one line on stderr naming the file).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_escape.h"

#define EXIT_USAGE 2
#define PROG "device-conformance-compare"

struct run {
    const char *path;  /* borrowed from argv */
    const char *label; /* borrowed from argv, or points into label_buf */
    char label_buf[256];
    json_t *root; /* new reference */
};

/* A row: one check, with its verdict in each run (NULL when absent). */
struct row {
    const char *test;      /* borrowed from the first run that has it */
    const char *id;        /* borrowed */
    const char *level;     /* borrowed */
    const char **verdicts; /* n_runs entries, borrowed; the array is owned */
    const char **notes;    /* n_runs entries: first message or reason, borrowed */
    bool differs;
    size_t order; /* first appearance, for a stable sort */
};

struct table {
    struct run *runs;
    size_t n_runs;
    struct row *rows;
    size_t n_rows, cap_rows;
    size_t n_differ;
};

static const char usage_text[] =
    "usage: " PROG " [OPTIONS] RESULTS.json RESULTS.json...\n"
    "Puts the results.json files of several device-conformance runs side by side:\n"
    "one row per check, one column per run, the rows that differ first.\n"
    "\n"
    "  --md FILE                 write the Markdown table to FILE ('-': standard "
    "output)\n"
    "  --html FILE               write the HTML page to FILE ('-': standard output)\n"
    "  --label TEXT              column label of the next file (repeatable, in file\n"
    "                            order; default: target and start date)\n"
    "  --help, --version\n"
    "\n"
    "Without --md or --html the Markdown goes to standard output.\n"
    "Exit status: 0 written, 2 usage error, unreadable input or unwritable output.\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...) {
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_USAGE);
}

static const char *str_member(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

/* The loose schema check: what the tables use, with the schema's types. */
static void check_run(const struct run *r) {
    const json_t *root = r->root;
    if (!json_is_object(root))
        die("%s: not a results.json (the top level is not an object)", r->path);
    const char *tool = str_member(root, "tool");
    if (tool == NULL || strcmp(tool, "device-conformance") != 0)
        die("%s: not a results.json (\"tool\" is not \"device-conformance\")", r->path);
    static const char *const strings[] = {"target", "spec_version", "started"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (str_member(root, strings[i]) == NULL)
            die("%s: not a results.json (\"%s\" missing or not a string)", r->path,
                strings[i]);
    if (!json_is_object(json_object_get(root, "totals")))
        die("%s: not a results.json (\"totals\" missing or not an object)", r->path);
    const json_t *checks = json_object_get(root, "checks");
    if (!json_is_array(checks))
        die("%s: not a results.json (\"checks\" missing or not an array)", r->path);
    size_t i;
    const json_t *c;
    json_array_foreach(checks, i, c) {
        static const char *const keys[] = {"test", "id", "level", "verdict"};
        if (!json_is_object(c))
            die("%s: checks[%zu] is not an object", r->path, i);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (str_member(c, keys[k]) == NULL)
                die("%s: checks[%zu]: \"%s\" missing or not a string", r->path, i,
                    keys[k]);
    }
}

static void load_run(struct run *r) {
    json_error_t err;
    r->root = json_load_file(r->path, 0, &err);
    if (r->root == NULL) {
        if (err.line <= 0 && strstr(err.text, r->path) != NULL)
            die("%s", err.text); /* "unable to open PATH: ..." */
        if (err.line <= 0)
            die("%s: %s", r->path, err.text);
        die("%s:%d: %s", r->path, err.line, err.text);
    }
    check_run(r);
    if (r->label == NULL) {
        const char *started = str_member(r->root, "started");
        snprintf(r->label_buf, sizeof(r->label_buf), "%s %.10s",
                 str_member(r->root, "target"), started);
        r->label = r->label_buf;
    }
}

/* The row for TEST, added when new; NULL on OOM. */
static struct row *row_for(struct table *t, json_t *index, const json_t *check) {
    const char *test = str_member(check, "test");
    json_t *at = json_object_get(index, test);
    if (at != NULL)
        return &t->rows[json_integer_value(at)];
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? 2 * t->cap_rows : 64;
        struct row *rows = realloc(t->rows, cap * sizeof(*rows));
        if (rows == NULL)
            return NULL;
        t->rows = rows;
        t->cap_rows = cap;
    }
    struct row *row = &t->rows[t->n_rows];
    memset(row, 0, sizeof(*row));
    row->verdicts = calloc(t->n_runs, sizeof(*row->verdicts));
    row->notes = calloc(t->n_runs, sizeof(*row->notes));
    if (row->verdicts == NULL || row->notes == NULL ||
        json_object_set_new(index, test, json_integer((json_int_t)t->n_rows)) < 0) {
        free(row->verdicts);
        free(row->notes);
        return NULL;
    }
    row->test = test;
    row->id = str_member(check, "id");
    row->level = str_member(check, "level");
    row->order = t->n_rows++;
    return row;
}

/* What explains a verdict in a tooltip: the first message, else the reason. */
static const char *note_of(const json_t *check) {
    const char *m =
        json_string_value(json_array_get(json_object_get(check, "messages"), 0));
    return m != NULL ? m : str_member(check, "reason");
}

static int on_compare_rows(const void *a, const void *b) {
    const struct row *x = a, *y = b;
    if (x->differs != y->differs)
        return x->differs ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int build_table(struct table *t) {
    json_t *index = json_object(); /* test name -> row number; new reference */
    if (index == NULL)
        return -1;
    for (size_t r = 0; r < t->n_runs; r++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(t->runs[r].root, "checks"), i, c) {
            struct row *row = row_for(t, index, c);
            if (row == NULL) {
                json_decref(index);
                return -1;
            }
            if (row->verdicts[r] != NULL)
                die("%s: check \"%s\" appears twice", t->runs[r].path, row->test);
            row->verdicts[r] = str_member(c, "verdict");
            row->notes[r] = note_of(c);
        }
    }
    json_decref(index);
    for (size_t i = 0; i < t->n_rows; i++) {
        struct row *row = &t->rows[i];
        for (size_t r = 1; r < t->n_runs && !row->differs; r++) {
            const char *a = row->verdicts[0], *b = row->verdicts[r];
            row->differs = (a == NULL) != (b == NULL) || (a && b && strcmp(a, b) != 0);
        }
        t->n_differ += row->differs;
    }
    qsort(t->rows, t->n_rows, sizeof(*t->rows), on_compare_rows);
    return 0;
}

/* "80 pass, 1 fail, ..." from a totals object, in its own key order. */
static void totals_text(const json_t *totals, char *buf, size_t len) {
    const char *key;
    const json_t *v;
    size_t used = 0;
    buf[0] = '\0';
    json_object_foreach((json_t *)totals, key, v) {
        if (!json_is_integer(v) || used >= len)
            continue;
        int n = snprintf(buf + used, len - used, "%s%lld %s", used ? ", " : "",
                         (long long)json_integer_value(v), key);
        if (n > 0)
            used += (size_t)n;
    }
}

static void write_md(FILE *f, const struct table *t) {
    char totals[512];
    fprintf(f, "# Side by side: %zu runs\n\n", t->n_runs);
    fprintf(f, "**%zu of %zu checks differ.**\n\n", t->n_differ, t->n_rows);
    fputs("| run | target | spec | started | totals |\n|---|---|---|---|---|\n", f);
    for (size_t r = 0; r < t->n_runs; r++) {
        const json_t *root = t->runs[r].root;
        totals_text(json_object_get(root, "totals"), totals, sizeof(totals));
        mx_putf(f, mx_put_md, "| %s | %s | %s | %s | %s |\n", t->runs[r].label,
                str_member(root, "target"), str_member(root, "spec_version"),
                str_member(root, "started"), totals);
    }
    fputs("\n| requirement | check | level |", f);
    for (size_t r = 0; r < t->n_runs; r++)
        mx_putf(f, mx_put_md, " %s |", t->runs[r].label);
    fputs("\n|---|---|---|", f);
    for (size_t r = 0; r < t->n_runs; r++)
        fputs("---|", f);
    fputc('\n', f);
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct row *row = &t->rows[i];
        mx_putf(f, mx_put_md, "| `%s` | `%s` | %s |", row->id, row->test, row->level);
        for (size_t r = 0; r < t->n_runs; r++) {
            const char *v = row->verdicts[r];
            if (v == NULL)
                fputs(" — |", f);
            else
                mx_putf(f, mx_put_md, row->differs ? " **%s** |" : " %s |", v);
        }
        fputc('\n', f);
    }
}

static void write_html(FILE *f, const struct table *t) {
    char totals[512];
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>device-conformance: side by side</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em}"
          "table{border-collapse:collapse;margin-bottom:1.5em}"
          "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}"
          "tr.differs td{background:#fff6d5}"
          ".pass{color:#176117}.fail,.xpass{color:#b00020;font-weight:bold}"
          ".warn{color:#8a5a00}.skip,.not_run,.blocked,.absent{color:#666}\n"
          "</style>\n</head>\n<body>\n",
          f);
    fprintf(f,
            "<h1>Side by side: %zu runs</h1>\n<p><strong>%zu of %zu checks "
            "differ.</strong></p>\n",
            t->n_runs, t->n_differ, t->n_rows);
    fputs("<table>\n<tr><th>run</th><th>target</th><th>spec</th><th>started</th>"
          "<th>totals</th></tr>\n",
          f);
    for (size_t r = 0; r < t->n_runs; r++) {
        const json_t *root = t->runs[r].root;
        const char *cells[] = {t->runs[r].label, str_member(root, "target"),
                               str_member(root, "spec_version"),
                               str_member(root, "started"), totals};
        totals_text(json_object_get(root, "totals"), totals, sizeof(totals));
        fputs("<tr>", f);
        for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++)
            mx_putf(f, mx_put_xml, "<td>%s</td>", cells[k]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<table>\n<tr><th>requirement</th><th>check</th><th>level</th>", f);
    for (size_t r = 0; r < t->n_runs; r++)
        mx_putf(f, mx_put_xml, "<th>%s</th>", t->runs[r].label);
    fputs("</tr>\n", f);
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct row *row = &t->rows[i];
        fputs(row->differs ? "<tr class=\"differs\">" : "<tr>", f);
        mx_putf(f, mx_put_xml,
                "<td><code>%s</code></td><td><code>%s</code></td><td>%s</td>", row->id,
                row->test, row->level);
        for (size_t r = 0; r < t->n_runs; r++) {
            const char *v = row->verdicts[r];
            if (v == NULL)
                fputs("<td class=\"absent\">—</td>", f);
            else if (row->notes[r] != NULL)
                mx_putf(f, mx_put_xml, "<td class=\"%s\" title=\"%s\">%s</td>", v,
                        row->notes[r], v);
            else
                mx_putf(f, mx_put_xml, "<td class=\"%s\">%s</td>", v, v);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</body>\n</html>\n", f);
}

static void write_out(const char *path, const struct table *t,
                      void (*writer)(FILE *, const struct table *)) {
    bool is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "w");
    if (f == NULL)
        die("%s: cannot write: %s", path, strerror(errno));
    writer(f, t);
    if (ferror(f) || (is_stdout ? fflush(f) : fclose(f)) != 0)
        die("%s: write error", path);
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"md", required_argument, NULL, 'm'},    {"html", required_argument, NULL, 'H'},
        {"label", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0},
    };
    const char *md = NULL, *html = NULL;
    const char **labels = calloc((size_t)argc, sizeof(*labels)); /* borrowed strings */
    size_t n_labels = 0;
    struct table t;
    memset(&t, 0, sizeof(t));
    if (labels == NULL)
        die("out of memory");
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
            case 'm':
                md = optarg;
                break;
            case 'H':
                html = optarg;
                break;
            case 'l':
                labels[n_labels++] = optarg;
                break;
            case 'h':
                fputs(usage_text, stdout);
                return 0;
            case 'V':
                printf(PROG " %s\n", MXDEV_VERSION);
                return 0;
            case ':':
                die("%s needs a value (see --help)", argv[optind - 1]);
            default:
                die("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    t.n_runs = (size_t)(argc - optind);
    if (t.n_runs < 2)
        die("give at least two results.json files (see --help)");
    if (n_labels > t.n_runs)
        die("%zu labels for %zu files", n_labels, t.n_runs);
    t.runs = calloc(t.n_runs, sizeof(*t.runs));
    if (t.runs == NULL)
        die("out of memory");
    for (size_t r = 0; r < t.n_runs; r++) {
        t.runs[r].path = argv[optind + (int)r];
        t.runs[r].label = r < n_labels ? labels[r] : NULL;
        load_run(&t.runs[r]);
    }
    /* Columns must be told apart: a repeated label gets the file's position. */
    for (size_t r = 1; r < t.n_runs; r++) {
        for (size_t q = 0; q < r; q++) {
            if (strcmp(t.runs[q].label, t.runs[r].label) == 0) {
                char buf[sizeof(t.runs[r].label_buf)];
                snprintf(buf, sizeof(buf), "%s (%zu)", t.runs[r].label, r + 1);
                memcpy(t.runs[r].label_buf, buf, sizeof(buf));
                t.runs[r].label = t.runs[r].label_buf;
                break;
            }
        }
    }
    if (build_table(&t) < 0)
        die("out of memory");
    if (md == NULL && html == NULL)
        md = "-";
    if (md != NULL)
        write_out(md, &t, write_md);
    if (html != NULL)
        write_out(html, &t, write_html);

    for (size_t i = 0; i < t.n_rows; i++) {
        free(t.rows[i].verdicts);
        free(t.rows[i].notes);
    }
    free(t.rows);
    for (size_t r = 0; r < t.n_runs; r++)
        json_decref(t.runs[r].root);
    free(t.runs);
    free(labels);
    return 0;
}
