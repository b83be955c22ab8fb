/* cmd_map.c — `scarp map`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_map(int argc, char **argv)
{
    fprintf(stderr, "scarp map: not available in this build yet\n");
    return 1;
}
