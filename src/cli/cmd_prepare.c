/* cmd_prepare.c — `scarp prepare`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_prepare(int argc, char **argv)
{
    fprintf(stderr, "scarp prepare: not available in this build yet\n");
    return 1;
}
