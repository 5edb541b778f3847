/*
 * clock.h - time: a monotonic clock for rates and ETAs, and the test hook
 * that slows a run down so that tests can interrupt or kill it at a known
 * point (FLATNET_TEST_DELAY_MS=N: a pause of N ms after each training step,
 * halfway through each checkpoint file written, and between the renames that
 * put a checkpoint and its optimizer state in place).
 */
#ifndef FN_CLOCK_H
#define FN_CLOCK_H

double fn_now(void); /* seconds, monotonic */
void fn_test_delay(void);

#endif
