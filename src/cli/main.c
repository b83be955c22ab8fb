/* main.c — the scarp command: one table of subcommands (as git's cmd_struct). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"synth", cmd_synth, "build the synthetic study area (DEM, layers, vectors, rainfall, inventory)"},
    {"terrain", cmd_terrain, "derive slope, aspect, curvature, flow, TWI, SPI from a DEM"},
    {"prepare", cmd_prepare, "layer stack, samples, splits, patches and sequences from a config"},
    {"train", cmd_train, "train the configured models"},
    {"evaluate", cmd_evaluate, "test-split metrics, ROC, importance, report"},
    {"map", cmd_map, "susceptibility and class maps for the whole grid"},
    {"apply", cmd_apply, "map a run's models onto another area, after a domain report"},
    {"run", cmd_run, "the whole study: prepare, train, evaluate, map, report"},
    {"info", cmd_info, "describe a raster, a model file or a run folder"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: scarp COMMAND [options]   (scarp COMMAND --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexample:\n  scarp synth --preset mini --out area && scarp run area/study.ini\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("scarp %s\n", SCARP_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scarp: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
