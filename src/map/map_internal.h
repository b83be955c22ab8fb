/* map_internal.h — between the map engine's compute phase (map.c) and its assembly
 * (assemble.c: rasters, classes, statistics, figures, summary). */
#ifndef SCARP_MAP_INTERNAL_H
#define SCARP_MAP_INTERNAL_H
#include "scarp/config.h"
#include "scarp/map.h"
#include "scarp/stack.h"

/* Rank 0, after every tile is stored: writes the files of OUT/map (see scarp_map_run_ex). */
scarp_status scarp__map_assemble(const scarp_stack *stack, const scarp_tile_store *store, const scarp_tiling *tiling,
                                 int bands, const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                                 const char *model_path, int n_models, scarp_map_report *rep);

/* The same for dated maps: tiles hold n_dates × bpd bands (per date: mean, then the sd
 * when bpd = 2); writes OUT/map/dates/ (see scarp_map_run_ex). Class breaks are computed
 * once from a seeded sample pooled over every date, so the classes mean the same on each
 * date and the top-class share can be compared between dates. */
scarp_status scarp__map_assemble_dates(const scarp_stack *stack, const scarp_tile_store *store,
                                       const scarp_tiling *tiling, int bpd, const int32_t *dates, int n_dates,
                                       const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                                       const char *model_name, int n_models, scarp_map_report *rep);

/* Shared by assemble.c and dates.c. */
uint64_t scarp__map_splitmix(uint64_t x);
/* A colour ramp for the uncertainty (sd) rasters: t in [0, 1] → rgb (viridis-like). */
void scarp__map_ramp(double t, double rgb[3]);
/* PNG of a continuous raster sampled to qw × qh (NaN = no data, grey) with a colour bar
 * from 0 to vmax, a title and a note line under the bar. */
scarp_status scarp__map_write_ramp_png(const char *path, const float *q, int qw, int qh, double vmax,
                                       const char *title, const char *bar_label, const char *note);

#endif
