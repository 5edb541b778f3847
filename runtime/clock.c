/* clock.c - a monotonic clock and the FLATNET_TEST_DELAY_MS hook (see clock.h). */
#define _GNU_SOURCE
#include "clock.h"

#include <stdlib.h>
#include <time.h>

double fn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void fn_test_delay(void)
{
    const char *ms = getenv("FLATNET_TEST_DELAY_MS");
    long delay = ms ? atol(ms) : 0;
    if (delay > 0) {
        struct timespec ts = {delay / 1000, delay % 1000 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
