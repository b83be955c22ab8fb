/* cmd_evaluate.c — `scarp evaluate`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_evaluate(int argc, char **argv)
{
    fprintf(stderr, "scarp evaluate: not available in this build yet\n");
    return 1;
}
