/* The runner's options, declared once in a table (options.c): the parser,
 * --help, the checks of the values and the hand-off to the test processes
 * (MXDEV_* variables, read back by mx_env()) all come from that table. */
#ifndef MXDEV_OPTIONS_H
#define MXDEV_OPTIONS_H

#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>

#define EXIT_CONFIG 2
#define EXIT_UNREACHABLE 3

struct options {
    const char *homeserver; /* as given (argv or $MATRIX_HOMESERVER) */
    const char *as_registration;
    bool require_appservice;
    int spec_version;
    bool strict;
    bool fresh_sessions;
    long timeout_s;
    long settle_ms;
    long deadline_s;
    const char *report_dir;
    const char *expect_fail;
    const char *baseline;          /* --baseline: an earlier run's results.json */
    const char *write_expect_fail; /* --write-expect-fail: where today's failures go */
    const char *format;            /* --format: "text" or "json" */
    bool quiet;                    /* --quiet: only the closing lines */
    bool github;                   /* --github: failures as workflow annotations */
    char *registration_token;      /* owned; a secret */
    char *shared_secret;           /* owned; a secret */
    json_t *users;                 /* owned: "@a:hs=PASSWORD" strings */
    bool insecure;
    const char *cacert;
    const char *spec_dir;
    json_t *only;                    /* owned: requirement IDs (--only) */
    json_t *groups;                  /* owned: group names (--group) */
    const char *list_requirements;   /* NULL, "text" or "json" */
    long explore_steps;              /* --explore N: random steps after probing; 0 none */
    long explore_seed;               /* --seed S; 0: a fresh one, printed */
    const char *print_server_config; /* --print-server-config NAME */
    const char *as_registration_out; /* --as-registration-out FILE */
    bool help;
    bool version;
    bool list_options;

    /* Derived by options_parse from the above. */
    char *url;                /* owned: --homeserver normalised (scheme lower-case, no
                                 trailing slash); keeps its credentials for libcurl */
    char *display_url;        /* owned: the same with any user:password as "***" */
    json_t *problems;         /* owned: one string a configuration problem */
    int criterion_argc;       /* argv[0] plus everything after "--" */
    char **criterion_argv;    /* owned array; the strings are argv's */
    bool criterion_filter;    /* criterion's --filter was given after "--" */
    bool criterion_info_only; /* criterion's --list, --help or --version */
};

/* Parses argv into o (defaults first, then the options, then the
 * environment variables for options not given). Every problem found is
 * appended to o->problems; nothing is printed and nothing exits. */
void options_parse(struct options *o, int argc, char **argv);

/* Appends a problem ("--x: why") to o->problems. */
void options_problem(struct options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints every problem as an "error: " line and exits 2 when there is any. */
void options_fail_on_problems(const struct options *o);

/* Prints one problem and exits 2 (for problems found after the probe). */
void options_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void options_usage(FILE *f);
/* The option names, one a line with "value", "optional" or "flag". */
void options_list(FILE *f);

/* Exports every option that has an MXDEV_* variable, so that the test
 * processes (and this process, through mx_env_reload) see them. */
void options_export(const struct options *o);

void options_free(struct options *o);

/* The closest of names to word (optimal string alignment distance), or
 * NULL when none is reasonably close. names is NULL-terminated. */
const char *options_closest(const char *word, const char *const *names);

#endif
