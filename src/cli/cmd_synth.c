/* cmd_synth.c — `scarp synth`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_synth(int argc, char **argv)
{
    fprintf(stderr, "scarp synth: not available in this build yet\n");
    return 1;
}
