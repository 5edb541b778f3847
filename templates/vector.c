/* vector.c - the generated file's vector types and the helpers kernels share. */

//@@ vector_helpers
/* ${V} floats: one vector of a channel block, and its comparison masks */
typedef float v${V} __attribute__((vector_size(${BYTES})));
typedef int32_t i${V} __attribute__((vector_size(${BYTES})));

/* x in every lane.  x - 0 is x for every x, so the compiler emits one
   broadcast from memory; 0 + x is not (-0 + 0 is +0) and costs an add and a
   shuffle on the FMA port. */
static inline v${V} splat(float x)
{
    return x - (v${V}){0};
}

/* a where mask is set (all ones), else b */
static inline v${V} vselect(i${V} mask, v${V} a, v${V} b)
{
    return (v${V})((mask & (i${V})a) | (~mask & (i${V})b));
}

/* relu's gradient: g where relu's output z is positive, else 0 */
static inline v${V} relu_mask(v${V} z, v${V} g)
{
    return (v${V})((i${V})g & (z > 0));
}

/* p, opaque to the optimiser: what is loaded through the result is loaded
   where the code says.  A conv epilogue's BN scales and shifts are the same
   for every tile of a row, and GCC would otherwise hoist their loads out of
   the row's loop into registers the accumulators need: 2 x Q of them spill
   the tile (a 1x1 conv ran 1.25x slower so). */
static inline const float *opaque(const float *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}
