/* cmd_apply.c — `scarp apply RUN_DIR NEW.ini`: the trained models of one study mapped
 * onto another area, after a domain report (issue 17; src/run/apply.c, docs/08-apply.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/apply.h"
#include "scarp/config.h"
#include "scarp/threads.h"

static const char HEAD[] =
    "usage: scarp apply RUN_DIR NEW.ini [--model NAME] [--out DIR] [--tile N] [--threads N] [--quiet]\n\n"
    "Maps the models trained in RUN_DIR (a run folder of scarp train / scarp run) onto the area of\n"
    "NEW.ini: its layer stack is built as usual (any CRS and resolution, terrain derived on its DEM)\n"
    "and matched to the models' factors by name. First a domain report: per factor the share of the\n"
    "new area's cells outside the training range, categories never seen in training (an error, or\n"
    "nodata cells with [apply] unseen = nodata), grids and series of both areas; OUT/apply/domain.json\n"
    "and domain.txt, and OUT/map/outside_range.tif (+ .qml). Then the map, as scarp map writes it\n"
    "(OUT/map/susceptibility.tif, classes.tif + .qml, quicklook.png, ...), and where NEW.ini has an\n"
    "inventory, the transfer's metrics over all its samples (OUT/apply/metrics.json).\n"
    "OUT is NEW.ini's [project] out (or --out); it must not be RUN_DIR.\n\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp apply provinceA/run provinceB/study.ini             # [map] model of NEW.ini (best: RUN_DIR's)\n"
    "  scarp apply provinceA/run provinceB/study.ini --model logreg --out transfer\n"
    "  scarp apply provinceA/run provinceB/study.ini --threads 2 --quiet\n";

static void print_domain(const scarp_apply_report *r, void *user)
{
    (void)user;
    const double V = r->valid_cells > 0 ? (double)r->valid_cells : 1;
    printf("domain: %lld valid cells; %.2f %% outside the training range in >= 1 factor, %.2f %% unseen categories%s\n",
           (long long)r->valid_cells, 100.0 * (double)r->outside_cells / V, 100.0 * (double)r->unseen_cells / V,
           r->unseen_cells ? " (mapped as nodata)" : "");
    for (int i = 0; i < r->n_factors; i++) {
        const scarp_apply_factor *f = &r->factors[i];
        if (f->outside == 0) continue;
        if (f->n_unseen)
            printf("  %-20s %6.2f %% unseen category (%d value%s%s)\n", f->name, 100 * f->share, f->n_unseen,
                   f->n_unseen > 1 ? "s" : "", f->unseen_other_cells ? " and more" : "");
        else
            printf("  %-20s %6.2f %% outside %.6g .. %.6g (%lld below, %lld above)\n", f->name, 100 * f->share,
                   f->train_min, f->train_max, (long long)f->below, (long long)f->above);
    }
    printf("grids: training %s %gx%g, new %s %gx%g\n", r->train_crs, r->train_res[0], r->train_res[1], r->new_crs,
           r->new_res[0], r->new_res[1]);
    if (r->train_series.present > 0 || r->new_series.present > 0)
        printf("series: training %s .. %s (%d stations), new %s .. %s (%d stations)\n", r->train_series.first,
               r->train_series.last, r->train_series.n_stations, r->new_series.first, r->new_series.last,
               r->new_series.n_stations);
    printf("domain report: %s\n", r->domain_path);
    fflush(stdout);
}

int cmd_apply(int argc, char **argv)
{
    cli_common common = {0};
    scarp_apply_options opts = {0};
    const cli_option options[] = {
        {"model", 0, CLI_STRING, "NAME", "model to apply (default: NEW.ini's [map] model; best = RUN_DIR's choice);\n"
         "NAME.model in RUN_DIR/models, its fold/seed ensemble, or model file paths", &opts.model_name, 0, 0, 0},
        {"tile", 0, CLI_INT, "N", "map tile size in cells (default: [map] tile = 512)", &opts.tile, 16, 65536, 0},
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {"apply", HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (optind >= argc) return cli_usage_error("apply", "missing RUN_DIR and NEW.ini");
    if (optind + 1 >= argc) return cli_usage_error("apply", "missing NEW.ini after RUN_DIR");
    if (optind + 2 < argc) return cli_usage_error("apply", "extra argument '%s'", argv[optind + 2]);
    const char *run_dir = argv[optind];
    cli_common_apply(&common);
    static scarp_config cfg; /* large: keep it off the stack */
    scarp_config_defaults(&cfg);
    scarp_status st = scarp_config_load(&cfg, argv[optind + 1]);
    if (st) return cli_fail("apply", st);
    if (common.threads == 0 && cfg.threads > 0) scarp_threads_set(cfg.threads);
    const char *out = common.out ? common.out : cfg.out;
    if ((rc = cli_lock_out("apply", out))) return rc;
    if (!common.quiet) opts.on_domain = print_domain;
    scarp_progress prog;
    scarp_progress_init(&prog, common.quiet);
    static scarp_apply_report rep;
    st = scarp_apply_run(run_dir, &cfg, out, &opts, &prog, &rep);
    if (st) return cli_fail("apply", st);
    if (!common.quiet) {
        printf("map: %s (%d model file%s), %lld valid cells mapped\n", rep.model, rep.members,
               rep.members > 1 ? "s" : "", (long long)rep.map.valid_cells);
        if (rep.map.date[0]) printf("map date: %s (%s)\n", rep.map.date, rep.map.date_rule);
        if (rep.evaluated)
            printf("transfer: AUC %.3f [%.3f, %.3f] on all %zu samples of the new area (%zu landslides), accuracy "
                   "%.3f, F1 %.3f%s\n",
                   rep.metrics.auc, rep.metrics.auc_lo, rep.metrics.auc_hi, rep.metrics.n, rep.metrics.n_pos,
                   rep.metrics.at_half.accuracy, rep.metrics.at_half.f1, rep.dropped_unseen ? " (samples on unseen categories left out)" : "");
        printf("outputs: %s/map/, %s/apply/\n", out, out);
    }
    return 0;
}
