/* neighbours.h — the 8-neighbourhood shared by flow.c and the tiled chain (flow_tiled.c), so
 * both compute receivers and MFD fractions from the same expressions. Internal. */
#ifndef SCARP_TERRAIN_NEIGHBOURS_H
#define SCARP_TERRAIN_NEIGHBOURS_H
#include <math.h>
#include <stdint.h>
#include "scarp/grid.h"

/* Horizontal distances (m) from a cell of row r (of h rows) to its 8 neighbours N, NE, E, SE,
 * S, SW, W, NW. */
static inline void neighbour_distances(const scarp_cellsize *cs, int64_t h, int64_t r, double len[8])
{
    double dx = cs->dx_row[r];
    double dn = 0.5 * (cs->dy_row[r > 0 ? r - 1 : r] + cs->dy_row[r]);
    double ds = 0.5 * (cs->dy_row[r < h - 1 ? r + 1 : r] + cs->dy_row[r]);
    len[0] = dn;
    len[1] = sqrt(dx * dx + dn * dn);
    len[2] = dx;
    len[3] = sqrt(dx * dx + ds * ds);
    len[4] = ds;
    len[5] = len[3];
    len[6] = dx;
    len[7] = len[1];
}

#endif
