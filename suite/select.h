/* Selecting checks by requirement (--only ID, --group NAME) and listing the
 * requirements (--list-requirements). */
#ifndef MXDEV_SELECT_H
#define MXDEV_SELECT_H

struct options;

/* Adds a problem to o for every --only ID and --group name the catalogue
 * does not know, with the closest known one when there is one. */
void select_validate(struct options *o);

/* The criterion pattern ("@(get/GET_OK|get/GET_OK__*|...)") that runs only
 * the selected checks; a new malloc'd string, or NULL when nothing is
 * selected (every check runs). */
char *select_pattern(const struct options *o);

/* Prints the requirements for o->spec_version, as text or as a JSON array
 * (o->list_requirements). Returns 0, or -1 when stdout failed. */
int select_list_requirements(const struct options *o);

#endif
