/* cmd_terrain.c — `scarp terrain`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_terrain(int argc, char **argv)
{
    fprintf(stderr, "scarp terrain: not available in this build yet\n");
    return 1;
}
