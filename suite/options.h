/* The runner's options, declared once (lib/mx_options.def): the fields
 * below, the parser, --help, the checks of the values and the hand-off to
 * the test processes (MXDEV_* variables, read back by mx_env()) all come
 * from that list. */
#ifndef MXDEV_OPTIONS_H
#define MXDEV_OPTIONS_H

#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>

#define EXIT_CONFIG 2
#define EXIT_UNREACHABLE 3

/* The C type of an option's field, by its type in mx_options.def (an alias
 * has no field of its own). */
#define OPTION_FIELD_OPT_FLAG bool
#define OPTION_FIELD_OPT_STRING const char *
#define OPTION_FIELD_OPT_INT long
#define OPTION_FIELD_OPT_FILE const char *
#define OPTION_FIELD_OPT_DIR const char *
#define OPTION_FIELD_OPT_SECRET char * /* owned; registered as a secret */
#define OPTION_FIELD_OPT_VERSION int
#define OPTION_FIELD_OPT_ACCOUNTS json_t * /* owned: "@a:hs=PASSWORD" strings */
#define OPTION_FIELD_OPT_LIST json_t *     /* owned: strings */
#define OPTION_FIELD_OPT_FORMAT const char *

struct options {
    /* One field per option of mx_options.def, named by its member. */
#define OPTION_FIELD(name, arg, type, member, ...) OPTION_FIELD_##type member;
#define MX_OPTION OPTION_FIELD
#define MX_SETTING OPTION_FIELD
#define MX_ALIAS(...)
#define MX_RUN_VALUE(...)
#include "mx_options.def"
#undef MX_OPTION
#undef MX_SETTING
#undef MX_ALIAS
#undef MX_RUN_VALUE
#undef OPTION_FIELD

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
