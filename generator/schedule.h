/*
 * schedule.h - how every convolution pass is tiled and run: one plain record
 * per (layer, pass), decided by a pass between planning and emission.
 *
 * The algorithm is the network description; the schedule is this table.  The
 * cost model (schedule.c) fills it from the target's machine model
 * (target.h); a schedule file (gen -S, sched_file.c) or a seed
 * (gen --schedule-seed, for tests) may set any record to another legal tile.
 * conv.c only prints what a record says.  Every legal record computes the
 * same result, up to float rounding.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include "geom.h"
#include "graph.h"
#include "lower.h"
#include "plan.h"
#include "target.h"

/* Pixels a micro-kernel tile holds at most (conv.c's tables are this size). */
#define SC_MAX_P 32

typedef enum { SC_FWD, SC_BWD_DATA, SC_BWD_WEIGHTS, SC_PASSES } sc_pass;

/* How a pass walks its output.  fwd and bwd_data: row (tiles of a few pixels
   of an output row), flat (a 1x1 stride-1 conv's image as one long row), plane
   (tiles of whole small planes), packed (flat, over the pixels a strided 1x1
   reads, gathered by a step of their own).  bwd_weights: row (a dW tile swept
   over (dY row, X row) pairs) or plane (a dW tile a tap, over every image). */
typedef enum { SC_ROW, SC_FLAT, SC_PLANE, SC_PACKED, SC_KINDS } sc_kind;

/* The outermost parallel loop of a fwd or bwd_data pass: output-channel
   blocks (a thread reuses one group's weights over images, from L2) or
   images.  bwd_weights is always split over tasks of (ob output blocks x
   chunk input blocks) of dW that each thread owns whole: no reduction, and
   every dW element sums its (image, pixel) terms in the same order whatever
   the tile, so every legal bwd_weights schedule gives the same bits. */
typedef enum { SC_OUTER_BLOCKS, SC_OUTER_IMAGES } sc_outer;

typedef struct {
    sc_kind kind;   /* fixed by the shape (small planes are planes) */
    int p;          /* row: output pixels a tile; plane: images a tile;
                       bwd_weights row: output pixels of a dY row a slice
                       (a tile sweeps a slice); bwd_weights plane: 1 */
    int q;          /* vectors of output channels a tile */
    int chunk;      /* fwd, bwd_data: input blocks a micro-kernel call sweeps;
                       bwd_weights: input blocks of dW a task owns */
    int cc;         /* bwd_weights: input channels a dW tile */
    sc_outer outer;
    int ob;         /* bwd_weights: output blocks of dW a task owns (q's multiple) */
} sc_tile;

#define SC_SOURCE_MAX 96

typedef struct {
    int node;               /* the layer */
    sc_pass pass;
    int used;               /* the program runs this pass (the first conv's
                               bwd_data only when the input needs a gradient) */
    sc_tile tile;           /* what runs */
    sc_tile model;          /* what the cost model chose */
    double cost;            /* predicted cycles a vector FMA, of tile */
    int has_alt;
    sc_tile alt;            /* the model's runner-up, and its cost */
    double alt_cost;
    const char *alt_why;    /* why the runner-up lost though the model
                               scores it cheaper ("a tie"), or NULL */
    char source[SC_SOURCE_MAX]; /* "" when the model chose, "net.sched:3", "seed 7" */
    char shape[96];         /* the layer shape's name: "conv3x3s1p1_64to64_56x56_n8" */
    char kernel[140];       /* the kernel's: shape, pass and a tile other than the
                               model's; an added bwd_data's ends in _acc besides */
} sc_record;

typedef struct {
    const tg_target *target;
    sc_record *recs;
    int n, cap;
    int *of_node;           /* per node: its SC_FWD record, the next two follow; -1 */
    char origin[256];       /* what chose the records: "the cost model", ... */
} sc_schedule;

/* The model's schedule of every conv pass the program runs. */
void sc_build(const gr_graph *g, const pl_plan *p, const tg_target *t, sc_schedule *s);
void sc_free(sc_schedule *s);
/* The record of (node, pass), or NULL when the program has no such pass. */
const sc_record *sc_find(const sc_schedule *s, int node, sc_pass pass);
sc_record *sc_find_mut(sc_schedule *s, int node, sc_pass pass);

/* The pass's geometry, as the record's kernel sees it. */
ge_pass sc_geometry(const gr_graph *g, const pl_plan *p, const sc_record *r);
/* Whether tile could run (node, pass): 0, or -1 with why in `why`. */
int sc_legal(const gr_graph *g, const pl_plan *p, const tg_target *t, int node, sc_pass pass,
             const sc_tile *tile, char *why, size_t size);
/* The model's task for a bwd_weights tile's q: its ob, chunk and p. */
void sc_weight_task(const gr_graph *g, const pl_plan *p, const tg_target *t, int node,
                    sc_tile *tile);
/* Sets record r to tile (legal), with its source; its cost and kernel name follow. */
void sc_set(const gr_graph *g, const pl_plan *p, const tg_target *t, sc_record *r,
            const sc_tile *tile, const char *source);
/* Every record of the passes in bit set `passes` (1 << SC_FWD ...) a legal
   tile drawn from `seed` (the space is the model's own, every divisor, every
   legal size): tests check each computes the same. */
void sc_randomize(const gr_graph *g, const pl_plan *p, sc_schedule *s, unsigned seed,
                  int passes);

/* What the tuner measures for r, at most max tiles, the model's first: the
   model's with the other loop order and without chunks, or with the L1
   budget's chunk where the model's has none (bwd_weights: with a task a dW
   tile over whole rows), then the legal tiles the model ranks best
   that do not spill, each run as the model would.  Returns how many. */
int sc_candidates(const gr_graph *g, const pl_plan *p, const tg_target *t, const sc_record *r,
                  sc_tile *out, int max);

/* Words of records, as schedule files and tables write them. */
const char *sc_pass_name(sc_pass pass);
const char *sc_kind_name(sc_kind kind);
/* The kind a word names, or -1. */
int sc_kind_of_name(const char *word);
/* The pass the first len characters of word name, or -1. */
int sc_pass_of_name(const char *word, size_t len);
/* "7x4 chunk 2", "2 images x 4" ...: the tile in a few words */
void sc_tile_text(const sc_record *r, const sc_tile *t, char *buf, size_t size);
/* "ob/4 x n x row = 16 x 8 x 56 = 7168": the parallel loop and its iterations */
void sc_split_text(const gr_graph *g, const pl_plan *p, const sc_record *r, char *buf,
                   size_t size);
/* "tile 7 px x 4 vec (28 acc), chunk 2": the tile as a call site's comment says it */
void sc_call_text(const sc_record *r, char *buf, size_t size);

#endif
