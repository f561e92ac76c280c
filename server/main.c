/*
 * main.c — the `tongyuan-serve` executable, which `tongyuan serve` runs (cli/main.c).
 *
 * The service is the only part of tongyuan that needs libmicrohttpd, and loading that library
 * (with GnuTLS, nettle, gmp, p11-kit... behind it) costs about 1.5 ms at every start. Kept in
 * its own executable, it no longer slows down `compare` or `check` run once per document.
 */
#include <string.h>

int cmd_serve(int argc, char **argv); /* serve.c */

int main(int argc, char **argv)
{
    char name[] = "serve";
    if (argc > 0)
        argv[0] = name; /* as if called as `tongyuan serve ...` */
    return cmd_serve(argc, argv);
}
