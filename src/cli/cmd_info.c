/* cmd_info.c — `scarp info`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_info(int argc, char **argv)
{
    fprintf(stderr, "scarp info: not available in this build yet\n");
    return 1;
}
