/*
 * main.c — the `tongyuan` command: dispatch to subcommands. Each subcommand owns its argv,
 * stdout and exit status; the library underneath never prints or exits.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "common.h"
#include "commands.h"

/* `tongyuan serve` is the executable tongyuan-serve next to this one (server/main.c says why):
 * found through /proc/self/exe, else the directory of argv[0], else $PATH. It replaces this
 * process, so its exit status, signals and process id are those of `tongyuan serve`. */
static int run_serve(int argc, char **argv)
{
    static const char bin[] = "tongyuan-serve";
    char path[PATH_MAX];
    size_t dl = 0;
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof bin - 1);
    if (n > 0) {
        path[n] = 0;
        const char *slash = strrchr(path, '/');
        dl = slash ? (size_t)(slash - path) + 1 : 0;
    } else if (strchr(argv[0], '/') && strlen(argv[0]) < sizeof path - sizeof bin) {
        strcpy(path, argv[0]);
        dl = (size_t)(strrchr(path, '/') - path) + 1;
    }
    argv[1] = (char *)bin;
    if (dl) {
        memcpy(path + dl, bin, sizeof bin);
        execv(path, argv + 1);
    } else {
        execvp(bin, argv + 1);
    }
    fprintf(stderr, "tongyuan: serve: cannot run %s: %s (it is built with tongyuan: make)\n",
            dl ? path : bin, strerror(errno));
    (void)argc;
    return EXIT_ERROR;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tongyuan COMMAND [OPTIONS] ...\n"
            "Find reused text — verbatim, edited or machine-spun (伪原创) — between documents.\n\n"
            "Commands:\n"
            "  compare SOURCE SUSPECT   which passages of SUSPECT come from SOURCE\n"
            "  compare --pairs FILE     many pairs at once, in parallel\n"
            "  index build -o INDEX PATH...  index a corpus (files, directories, JSONL)\n"
            "  index add|stats INDEX ...     add documents later; what an index holds\n"
            "  check -x INDEX PATH...   which indexed documents each document reuses\n"
            "  dedup PATH... -o OUT     cluster copies (exact, near, spun); one to keep each\n"
            "  serve -x INDEX           HTTP service: JSON API and a page to check texts\n"
            "  extract PATH...          the text compared: decoded, or extracted from HTML,\n"
            "                           Word, OpenDocument, PDF and WARC files\n\n"
            "Run 'tongyuan COMMAND --help' for a command's options.\n"
            "  --version                print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_ERROR;
    }
    const char *c = argv[1];
    if (strcmp(c, "--version") == 0 || strcmp(c, "-V") == 0 || strcmp(c, "version") == 0) {
        printf("tongyuan %s (utf8proc %s)\n", ty_version(), utf8proc_version());
        return 0;
    }
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(c, "compare") == 0)
        return cmd_compare(argc - 1, argv + 1);
    if (strcmp(c, "dedup") == 0)
        return cmd_dedup(argc - 1, argv + 1);
    if (strcmp(c, "index") == 0)
        return cmd_index(argc - 1, argv + 1);
    if (strcmp(c, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(c, "extract") == 0)
        return cmd_extract(argc - 1, argv + 1);
    if (strcmp(c, "serve") == 0)
        return run_serve(argc, argv);
    fprintf(stderr, "tongyuan: unknown command '%s' (see tongyuan --help)\n", c);
    return EXIT_ERROR;
}
