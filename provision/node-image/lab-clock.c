/* lab-clock: shift one process's wall clock by an offset read from a file (the
 * clock-jump fault, lab/chaos/faults/resources.py).
 *
 * Preloaded (LD_PRELOAD) into a lab process, it answers clock_gettime(CLOCK_REALTIME*),
 * gettimeofday() and time() with the real time plus the whole seconds written in the file
 * named by LAB_CLOCK_OFFSET_FILE ("+0": none), read again at most once a second. Every
 * other clock (CLOCK_MONOTONIC: timers, timeouts) stays real. It makes raw system calls
 * and allocates nothing, so it is safe in a process whose allocator (jemalloc) reads the
 * clock while it starts: libfaketime is not (it recurses and gives up). */
#define _GNU_SOURCE
#include <sys/time.h>

#include "lab-shim.h"

static long offset_s;
static long read_at = -1;  /* CLOCK_MONOTONIC second of the last read */

int clock_gettime(clockid_t id, struct timespec *ts) {
    int answer = (int)syscall(SYS_clock_gettime, id, ts);
    if (answer == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        lab_refresh("LAB_CLOCK_OFFSET_FILE", &offset_s, &read_at);
        ts->tv_sec += offset_s;
    }
    return answer;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *t) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
