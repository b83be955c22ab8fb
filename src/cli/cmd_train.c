/* cmd_train.c — `scarp train`: placeholder until its issue lands (owned by that issue). */
#include <stdio.h>

#include "cli.h"

int cmd_train(int argc, char **argv)
{
    fprintf(stderr, "scarp train: not available in this build yet\n");
    return 1;
}
