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
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long offset_s;
static long read_at = -1;  /* CLOCK_MONOTONIC second of the last read */

static long parse(const char *s, ssize_t n) {
    long sign = 1, value = 0;
    ssize_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) value = value * 10 + (s[i] - '0');
    return sign * value;
}

static void refresh(void) {
    struct timespec now;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) != 0 || now.tv_sec == read_at)
        return;
    read_at = now.tv_sec;
    const char *path = getenv("LAB_CLOCK_OFFSET_FILE");
    if (!path) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[32];
    ssize_t n = syscall(SYS_read, fd, text, sizeof text);
    syscall(SYS_close, fd);
    if (n > 0) offset_s = parse(text, n);
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    int answer = (int)syscall(SYS_clock_gettime, id, ts);
    if (answer == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        refresh();
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
