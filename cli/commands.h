/*
 * commands.h — every command of `tongyuan`, one function each: argv[0] is the command's name,
 * the return value the exit status (EXIT_FOUND, EXIT_NONE, EXIT_ERROR: common.h). main.c
 * dispatches to them; `tongyuan serve` is the executable tongyuan-serve (server/serve.c's
 * cmd_serve), which main.c runs in its place.
 */
#ifndef TY_CLI_COMMANDS_H
#define TY_CLI_COMMANDS_H

int cmd_compare(int argc, char **argv); /* compare.c: two documents, or --pairs FILE */
int cmd_index(int argc, char **argv);   /* index.c: index build|add|stats|... */
int cmd_check(int argc, char **argv);   /* check.c: documents against an index */
int cmd_dedup(int argc, char **argv);   /* dedup.c: exact, near and spun copies */
int cmd_extract(int argc, char **argv); /* extract.c: the text a file is compared as */

#endif
