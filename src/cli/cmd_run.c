/* cmd_run.c — `scarp run`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_run(int argc, char **argv)
{
    fprintf(stderr, "scarp run: not available in this build yet\n");
    return 1;
}
