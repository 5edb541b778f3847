/* probe.c - the machine's FMA peak, measured with this target's vectors. */

//@@ fma_peak
/* GFLOP/s of `threads` threads doing nothing but FMAs: each runs 12
   independent chains of v${V} FMAs (enough to hide two pipes' latency).  The
   best of 10 samples of about 20 ms: on a shared machine a sample during
   which a thread lost its core measured half the peak (ResNet-50's profile
   then showed layers at 109% of "peak"), and nothing makes FMAs faster than
   they are, so the fastest sample is the machine's.  The profile divides
   achieved GFLOP/s by this. */
static volatile float fma_peak_result; /* keeps the chains' work observable */

/* One sample: GFLOP/s of `threads` threads for about `seconds_wanted`. */
static double fma_peak_sample(int threads, double seconds_wanted)
{
    double flops = 0, seconds = 0;
    float checksum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : flops, checksum) reduction(max : seconds)
    {
        /* values the compiler cannot see (volatile) and that differ from lane
           to lane and chain to chain, or it computes fewer chains than written */
        volatile float factor = 0.999999f, step = 1e-7f;
        v${V} m = {0}, c = {0};
        for (int i = 0; i < ${V}; i++) {
            m[i] = factor;
            c[i] = step * (float)(i + 1);
        }
        v${V} a0 = c * 1, a1 = c * 2, a2 = c * 3, a3 = c * 4, a4 = c * 5, a5 = c * 6;
        v${V} a6 = c * 7, a7 = c * 8, a8 = c * 9, a9 = c * 10, a10 = c * 11, a11 = c * 12;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        long rounds = 0;
        double elapsed;
        do {
            for (int i = 0; i < 1024; i++) {
                a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
                a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
                a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
            }
            rounds++;
            clock_gettime(CLOCK_MONOTONIC, &now);
            elapsed = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
        } while (elapsed < seconds_wanted);
        v${V} sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        for (int i = 0; i < ${V}; i++)
            checksum += sum[i];
        flops += (double)rounds * 1024 * 12 * 2 * ${V};
        seconds = elapsed;
    }
    fma_peak_result += checksum;
    return flops / seconds / 1e9;
}

static double fma_peak(int threads)
{
    double best = 0;
    for (int i = 0; i < 10; i++) {
        double gflops = fma_peak_sample(threads, 0.02);
        best = gflops > best ? gflops : best;
    }
    return best;
}
