/* The runner's options, from their one declaration (lib/mx_options.def): the
 * parser, --help, the conflict checks and the MXDEV_* hand-off follow from
 * each row. */
#include "options.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mx_catalog.h"
#include "mx_redact.h"
#include "mx_report.h"

enum opt_type {
    OPT_FLAG,          /* no value; bool */
    OPT_STRING,        /* const char * (borrowed from argv or the environment) */
    OPT_INT,           /* long within [min, max] */
    OPT_FILE,          /* a readable file; const char * */
    OPT_DIR,           /* a readable folder; const char * */
    OPT_SECRET,        /* char * (owned), registered with mx_redact_secret */
    OPT_SECRET_FILE,   /* the first line of a file, into a SECRET field */
    OPT_VERSION,       /* a spec version; int (116..120) */
    OPT_ACCOUNTS,      /* repeatable "@a:hs=PASSWORD"; json array */
    OPT_ACCOUNTS_FILE, /* the same, one a line from a file */
    OPT_LIST,          /* repeatable, comma-separated names; json array */
    OPT_FORMAT,        /* optional "=text|json"; const char * */
};

struct opt_def {
    const char *name; /* long name, without "--" */
    const char *arg;  /* the value's placeholder in --help; NULL: takes none */
    enum opt_type type;
    size_t field;          /* offsetof(struct options, ...) */
    const char *env;       /* MXDEV_* variable the test processes read; NULL: none */
    const char *env_in;    /* variable read when the option is not given; NULL: none */
    const char *def;       /* default, as text (for --help); NULL: none */
    long min, max;         /* OPT_INT */
    const char *conflicts; /* an option that may not be given with this one */
    const char *help;
};

#define F(member) offsetof(struct options, member)

/* The rows come from mx_options.def, in the order of --help. */
#define OPTION_ROW(name, arg, type, member, env, env_in, def, min, max, conflicts, help) \
    {name, arg, type, F(member), env, env_in, def, min, max, conflicts, help},
#define MX_OPTION OPTION_ROW
#define MX_SETTING OPTION_ROW
#define MX_ALIAS OPTION_ROW
#define MX_RUN_VALUE(...)
static const struct opt_def opts[] = {
#include "mx_options.def"
};
#undef MX_OPTION
#undef MX_SETTING
#undef MX_ALIAS
#undef MX_RUN_VALUE
#undef OPTION_ROW

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

#define AT(o, def, type) ((type *)((char *)(o) + (def)->field))

void options_problem(struct options *o, const char *fmt, ...) {
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        text = NULL;
    json_array_append_new(o->problems, json_string(text ? text : "out of memory"));
    free(text);
}

void options_fail_on_problems(const struct options *o) {
    size_t i;
    json_t *p;
    if (json_array_size(o->problems) == 0)
        return;
    char *all = NULL;
    size_t len = 0;
    FILE *why = open_memstream(&all, &len);
    json_array_foreach(o->problems, i, p) {
        char *safe = mx_redact(json_string_value(p));
        fprintf(stderr, "error: %s\n", safe ? safe : "(out of memory)");
        if (why)
            fprintf(why, "%s%s", i ? "; " : "", json_string_value(p));
        free(safe);
    }
    fputs("see device-conformance --help\n", stderr);
    if (why && fclose(why) == 0)
        mx_report_unjudged_exit(EXIT_CONFIG, all);
    free(all);
    exit(EXIT_CONFIG);
}

void options_die(const char *fmt, ...) {
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    char *safe = n >= 0 ? mx_redact(text) : NULL;
    fprintf(stderr, "error: %s\n", safe ? safe : "out of memory");
    mx_report_unjudged_exit(EXIT_CONFIG, text ? text : "out of memory");
    free(safe);
    free(text);
    exit(EXIT_CONFIG);
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (a swap of two neighbours costs 1). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *options_closest(const char *word, const char *const *names) {
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; names[i]; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* Close means: at most a third of the word wrong, and never more than 3. */
    size_t limit = strlen(word) / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    return best_d <= limit ? best : NULL;
}

static const struct opt_def *find_option(const char *name, size_t len) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static void unknown_option(struct options *o, const char *arg) {
    const char *names[N_OPTS + 1];
    size_t n = strcspn(arg, "=");
    char word[128];
    for (size_t i = 0; i < N_OPTS; i++)
        names[i] = opts[i].name;
    names[N_OPTS] = NULL;
    /* Compare without the dashes and any "=value". */
    const char *bare = arg;
    while (*bare == '-' && bare - arg < 2)
        bare++;
    snprintf(word, sizeof(word), "%.*s", (int)(n - (size_t)(bare - arg)), bare);
    const char *near = options_closest(word, names);
    if (near)
        options_problem(o, "unknown option %.*s (did you mean --%s?)", (int)n, arg, near);
    else
        options_problem(o, "unknown option %.*s", (int)n, arg);
}

/* ---- values ---- */

/* The first line of a file, trailing whitespace removed; new malloc'd string,
 * or NULL with a problem added. */
static char *read_secret_file(struct options *o, const char *opt, const char *path) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f) {
        options_problem(o, "--%s %s: %s", opt, path, strerror(errno));
        return NULL;
    }
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        line[--n] = '\0';
    if (n <= 0) {
        free(line);
        options_problem(o, "--%s %s: the first line is empty", opt, path);
        return NULL;
    }
    return line;
}

/* A whole file (at most 1 MiB) as a new malloc'd string, or NULL with a problem. */
static char *read_text_file(struct options *o, const char *opt, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        options_problem(o, "--%s %s: %s", opt, path, strerror(errno));
        return NULL;
    }
    char *text = calloc(1, 1024 * 1024 + 1);
    size_t n = text ? fread(text, 1, 1024 * 1024, f) : 0;
    bool more = text && fgetc(f) != EOF;
    fclose(f);
    if (!text || more) {
        free(text);
        options_problem(o, "--%s %s: %s", opt, path,
                        more ? "larger than 1 MiB" : "out of memory");
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* One "@localpart:server=PASSWORD" account; its password is a secret. */
static void add_user(struct options *o, const char *origin, const char *entry) {
    const char *eq = strchr(entry, '=');
    const char *colon = strchr(entry, ':');
    if (eq)
        mx_redact_secret(eq + 1);
    if (entry[0] != '@' || !eq || !colon || colon > eq || eq[1] == '\0' ||
        strchr(entry, '\n')) {
        options_problem(o, "%s: expected @localpart:server=PASSWORD", origin);
        return;
    }
    json_array_append_new(o->users, json_string(entry));
}

/* Accounts one a line (blank lines and '#' comments skipped); frees text. */
static void add_users_text(struct options *o, const char *origin, char *text) {
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        while (n > 0 &&
               (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        line += strspn(line, " \t");
        if (line[0] == '\0' || line[0] == '#')
            continue;
        add_user(o, origin, line);
    }
    free(text);
}

static void add_list(struct options *o, const struct opt_def *d, const char *value) {
    json_t *list = *AT(o, d, json_t *);
    char *copy = strdup(value);
    char *save = NULL;
    if (!copy)
        return;
    for (char *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        item += strspn(item, " \t");
        size_t n = strcspn(item, " \t");
        item[n] = '\0';
        if (item[0])
            json_array_append_new(list, json_string(item));
    }
    free(copy);
    if (json_array_size(list) == 0)
        options_problem(o, "--%s: no name given", d->name);
}

/* Stores value (NULL for flags) into the option's field. */
static void set_value(struct options *o, const struct opt_def *d, const char *value,
                      const char *origin) {
    char *end;
    switch (d->type) {
        case OPT_FLAG:
            *AT(o, d, bool) = true;
            break;
        case OPT_STRING:
            if (!value[0])
                options_problem(o, "%s: empty value", origin);
            *AT(o, d, const char *) = value;
            break;
        case OPT_INT: {
            errno = 0;
            long n = strtol(value, &end, 10);
            if (errno != 0 || end == value || *end != '\0' || n < d->min || n > d->max)
                options_problem(o, "%s \"%s\": expected an integer from %ld to %ld",
                                origin, value, d->min, d->max);
            else
                *AT(o, d, long) = n;
            break;
        }
        case OPT_FILE:
            if (access(value, R_OK) < 0)
                options_problem(o, "%s %s: %s", origin, value, strerror(errno));
            *AT(o, d, const char *) = value;
            break;
        case OPT_DIR:
            if (access(value, R_OK | X_OK) < 0)
                options_problem(o, "%s %s: %s", origin, value, strerror(errno));
            *AT(o, d, const char *) = value;
            break;
        case OPT_SECRET:
        case OPT_SECRET_FILE: {
            char *secret = d->type == OPT_SECRET ? strdup(value)
                                                 : read_secret_file(o, d->name, value);
            mx_redact_secret(secret);
            free(*AT(o, d, char *));
            *AT(o, d, char *) = secret;
            break;
        }
        case OPT_VERSION: {
            int v = mx_version_parse(value);
            if (v < 0)
                options_problem(o, "%s \"%s\": expected 1.16, 1.17, 1.18, 1.19 or 1.20",
                                origin, value);
            else
                *AT(o, d, int) = v;
            break;
        }
        case OPT_ACCOUNTS:
            add_user(o, origin, value);
            break;
        case OPT_ACCOUNTS_FILE: {
            char *text = read_text_file(o, d->name, value);
            if (text)
                add_users_text(o, origin, text);
            break;
        }
        case OPT_LIST:
            add_list(o, d, value);
            break;
        case OPT_FORMAT:
            if (!value)
                value = "text";
            if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
                options_problem(o, "%s=%s: expected text or json", origin, value);
            *AT(o, d, const char *) = value;
            break;
    }
}

/* ---- URL ---- */

/* Checks --homeserver with libcurl's URL parser and derives o->url and
 * o->display_url. Credentials in it are registered as secrets first. */
static void parse_homeserver(struct options *o) {
    CURLU *u = curl_url();
    char *scheme = NULL, *user = NULL, *password = NULL, *query = NULL, *fragment = NULL;
    char *full = NULL, *shown = NULL;
    CURLUcode rc;

    if (!u) {
        options_problem(o, "out of memory");
        return;
    }
    /* Secrets whatever else is wrong with the URL. */
    mx_redact_url_userinfo(o->homeserver);
    if (!strstr(o->homeserver, "://")) {
        options_problem(o, "--homeserver \"%s\": expected an http:// or https:// URL",
                        o->homeserver);
        goto out;
    }
    rc = curl_url_set(u, CURLUPART_URL, o->homeserver, CURLU_NON_SUPPORT_SCHEME);
    if (rc != CURLUE_OK) {
        options_problem(o, "--homeserver \"%s\": %s", o->homeserver,
                        curl_url_strerror(rc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    for (char *p = scheme; p && *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        options_problem(o, "--homeserver \"%s\": scheme \"%s\" is not http or https",
                        o->homeserver, scheme ? scheme : "");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        options_problem(o, "--homeserver \"%s\": a base URL has no ?query or #fragment",
                        o->homeserver);
        goto out;
    }
    curl_url_set(u, CURLUPART_SCHEME, scheme, 0);
    if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        options_problem(o, "--homeserver \"%s\": cannot be rebuilt", o->homeserver);
        goto out;
    }
    bool has_user = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
    bool has_password = curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK;
    mx_redact_secret(password);
    if (has_user || has_password) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    }
    curl_url_get(u, CURLUPART_URL, &shown, 0);
    o->url = strdup(full);
    if (shown && (has_user || has_password)) {
        /* "scheme://" + "***@" + the rest */
        size_t head = strlen(scheme) + 3;
        if (asprintf(&o->display_url, "%.*s***@%s", (int)head, shown, shown + head) < 0)
            o->display_url = NULL;
    } else {
        o->display_url = shown ? strdup(shown) : NULL;
    }
    if (!o->url || !o->display_url) {
        options_problem(o, "out of memory");
        goto out;
    }
    for (char *s = o->url; s;) {
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
            s[--n] = '\0';
        s = (s == o->url) ? o->display_url : NULL;
    }
out:
    curl_free(scheme);
    curl_free(user);
    curl_free(password);
    curl_free(query);
    curl_free(fragment);
    curl_free(full);
    curl_free(shown);
    curl_url_cleanup(u);
}

/* ---- parser ---- */

/* Reads argv up to "--"; returns the index of criterion's first argument. */
static int parse_argv(struct options *o, int argc, char **argv, unsigned char *given) {
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (strcmp(a, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            options_problem(o, "unexpected argument \"%s\"", a);
            continue;
        }
        size_t n = strcspn(a + 2, "=");
        const struct opt_def *d = strncmp(a, "--", 2) == 0 ? find_option(a + 2, n) : NULL;
        if (!d) {
            unknown_option(o, a);
            /* "--spec-verison 1.18": the word after it is its value, not an
             * argument of its own. */
            if (!strchr(a, '=') && i + 1 < argc && argv[i + 1][0] != '-')
                i++;
            continue;
        }
        given[d - opts]++;
        const char *value = a[2 + n] == '=' ? a + 3 + n : NULL;
        char origin[64];
        snprintf(origin, sizeof(origin), "--%s", d->name);
        if (d->type == OPT_FLAG && value) {
            options_problem(o, "--%s takes no value", d->name);
            continue;
        }
        if (d->type != OPT_FLAG && d->type != OPT_FORMAT && !value) {
            if (i + 1 >= argc) {
                options_problem(o, "--%s needs a value (%s)", d->name, d->arg);
                continue;
            }
            value = argv[++i];
        }
        set_value(o, d, value, origin);
    }
    return i;
}

/* Criterion's arguments: argv[0] plus everything from first on. --list,
 * --help and --version there ask only for information: no homeserver. */
static void take_criterion_args(struct options *o, int argc, char **argv, int first) {
    o->criterion_argc = 1 + (argc - first);
    o->criterion_argv = calloc((size_t)o->criterion_argc + 1, sizeof(char *));
    if (!o->criterion_argv) {
        options_problem(o, "out of memory");
        o->criterion_argc = 0;
        return;
    }
    o->criterion_argv[0] = argv[0];
    for (int k = first; k < argc; k++) {
        const char *c = argv[k];
        o->criterion_argv[1 + k - first] = argv[k];
        if (strcmp(c, "--filter") == 0 || strncmp(c, "--filter=", 9) == 0)
            o->criterion_filter = true;
        if (strcmp(c, "--list") == 0 || strcmp(c, "-l") == 0 ||
            strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 ||
            strcmp(c, "--version") == 0)
            o->criterion_info_only = true;
    }
}

/* The environment variables of the options not given. */
static void read_environment(struct options *o, const unsigned char *given) {
    for (size_t k = 0; k < N_OPTS; k++) {
        const struct opt_def *d = &opts[k];
        const char *v = d->env_in ? getenv(d->env_in) : NULL;
        bool any_given = given[k];
        /* An option and its -file twin share the field and the variable. */
        for (size_t m = 0; m < N_OPTS; m++)
            if (m != k && opts[m].field == d->field && given[m])
                any_given = true;
        if (!v || !v[0] || any_given)
            continue;
        char origin[64];
        snprintf(origin, sizeof(origin), "$%s", d->env_in);
        if (d->type == OPT_ACCOUNTS) {
            char *copy = strdup(v);
            if (copy)
                add_users_text(o, origin, copy);
        } else {
            set_value(o, d, v, origin);
        }
    }
}

static void check_conflicts(struct options *o, const unsigned char *given) {
    for (size_t k = 0; k < N_OPTS; k++) {
        const char *other = opts[k].conflicts;
        const struct opt_def *c = other ? find_option(other, strlen(other)) : NULL;
        if (c && given[k] && given[c - opts] && k < (size_t)(c - opts))
            options_problem(o, "--%s and --%s contradict each other: give one",
                            opts[k].name, c->name);
    }
}

void options_parse(struct options *o, int argc, char **argv) {
    unsigned char given[N_OPTS] = {0};

    memset(o, 0, sizeof(*o));
    o->users = json_array();
    o->only = json_array();
    o->groups = json_array();
    o->problems = json_array();
    for (size_t k = 0; k < N_OPTS; k++)
        if (opts[k].def)
            set_value(o, &opts[k], opts[k].def, "the default");

    take_criterion_args(o, argc, argv, parse_argv(o, argc, argv, given));
    read_environment(o, given);
    check_conflicts(o, given);

    if (o->help || o->version || o->list_requirements || o->list_options ||
        o->criterion_info_only)
        return;
    /* It prints a configuration for a server it does not talk to. */
    if (o->print_server_config || o->as_registration_out) {
        if (!o->print_server_config)
            options_problem(o, "--as-registration-out needs --print-server-config");
        return;
    }
    if (!o->homeserver)
        options_problem(o,
                        "no homeserver: give --homeserver URL or set MATRIX_HOMESERVER");
    else if (o->homeserver[0])
        parse_homeserver(o);
    if (o->format && strcmp(o->format, "text") != 0 && strcmp(o->format, "json") != 0)
        options_problem(o, "--format \"%s\": expected text or json", o->format);
    if (o->require_appservice && !o->as_registration)
        options_problem(o, "--require-appservice needs --as-registration FILE");
    if ((json_array_size(o->only) || json_array_size(o->groups)) && o->criterion_filter)
        options_problem(o,
                        "--only/--group and criterion's --filter select twice: use one");
}

/* ---- --help ---- */

/* Writes text wrapped at 80 columns, each line indented by indent. */
static void put_wrapped(FILE *f, const char *text, int col, int indent) {
    const char *p = text;
    while (*p) {
        size_t word = strcspn(p, " ");
        if (col > indent && col + 1 + (int)word > 80) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, word, f);
        col += (int)word;
        p += word;
        p += strspn(p, " ");
    }
    fputc('\n', f);
}

void options_usage(FILE *f) {
    fputs("usage: device-conformance [OPTIONS] [-- CRITERION-OPTIONS]\n"
          "\n"
          "Checks a Matrix homeserver's device management API (client-server spec)\n"
          "against the requirement catalogue, and writes reports.\n"
          "\n",
          f);
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt_def *d = &opts[i];
        char head[64], text[512];
        int col;
        if (!d->arg)
            col = snprintf(head, sizeof(head), "  --%s", d->name);
        else if (d->arg[0] == '[')
            col = snprintf(head, sizeof(head), "  --%s%s", d->name, d->arg);
        else
            col = snprintf(head, sizeof(head), "  --%s %s", d->name, d->arg);
        fputs(head, f);
        if (col >= 28) {
            fputs("\n", f);
            col = 0;
        }
        fprintf(f, "%*s", 28 - col, "");
        size_t n = (size_t)snprintf(text, sizeof(text), "%s", d->help);
        if (d->def && n < sizeof(text))
            n += (size_t)snprintf(text + n, sizeof(text) - n, " (default %s)", d->def);
        if (d->env_in && n < sizeof(text) && d->type != OPT_ACCOUNTS)
            snprintf(text + n, sizeof(text) - n, " (or $%s)", d->env_in);
        put_wrapped(f, text, 28, 28);
    }
    fputs(
        "\n"
        "Everything after a lone \"--\" goes to criterion (its filter, jobs and list\n"
        "options; see README). Any other unknown option is an error.\n"
        "\n"
        "Exit status: 0 conformant, 1 conformance failures or checks not run (only\n"
        "of checks that passed in the baseline, if given), 2 usage or configuration\n"
        "error, 3 homeserver unreachable or not speaking the Matrix client-server API,\n"
        "4 no check judged, 130/143 interrupted (SIGINT/SIGTERM).\n",
        f);
}

void options_list(FILE *f) {
    for (size_t i = 0; i < N_OPTS; i++)
        fprintf(f, "%s\t%s\n", opts[i].name,
                !opts[i].arg                 ? "flag"
                : opts[i].type == OPT_FORMAT ? "optional"
                                             : "value");
}

/* ---- hand-off to the test processes ---- */

void options_export(const struct options *o) {
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt_def *d = &opts[i];
        char buf[32];
        const char *value = NULL;
        char *joined = NULL;
        if (!d->env)
            continue;
        switch (d->type) {
            case OPT_FLAG:
                value = *AT(o, d, bool) ? "1" : "0";
                break;
            case OPT_INT:
                snprintf(buf, sizeof(buf), "%ld", *AT(o, d, long));
                value = buf;
                break;
            case OPT_VERSION:
                value = mx_version_name(*AT(o, d, int));
                break;
            case OPT_SECRET:
            case OPT_SECRET_FILE:
                value = *AT(o, d, char *);
                break;
            case OPT_ACCOUNTS:
            case OPT_ACCOUNTS_FILE:
            case OPT_LIST: {
                json_t *list = *AT(o, d, json_t *);
                size_t k, len = 1;
                json_t *item;
                json_array_foreach(list, k, item) len +=
                    strlen(json_string_value(item)) + 1;
                joined = json_array_size(list) ? calloc(1, len) : NULL;
                json_array_foreach(list, k, item) {
                    if (joined) {
                        strcat(joined, json_string_value(item));
                        strcat(joined, "\n");
                    }
                }
                value = joined;
                break;
            }
            default:
                value = *AT(o, d, const char *);
                break;
        }
        /* The homeserver goes over normalised, credentials included. */
        if (d->field == F(homeserver) && o->url)
            value = o->url;
        if (value)
            setenv(d->env, value, 1);
        else
            unsetenv(d->env);
        free(joined);
    }
}

void options_free(struct options *o) {
    free(o->registration_token);
    free(o->shared_secret);
    json_decref(o->users);
    json_decref(o->only);
    json_decref(o->groups);
    json_decref(o->problems);
    free(o->url);
    free(o->display_url);
    free(o->criterion_argv);
}
