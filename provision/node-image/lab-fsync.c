/* lab-fsync: make one process's fsync() and fdatasync() slow by a delay read from a file
 * (the slow-fsync fault, lab/chaos/faults/resources.py): a disk that takes that long to
 * make a write durable.
 *
 * Preloaded (LD_PRELOAD) into every lab Redis instance, it sleeps the milliseconds written
 * in the file named by LAB_FSYNC_DELAY_FILE ("0": none, read again at most once a second)
 * before each fsync() or fdatasync() it passes on. Nothing else is slowed: writes, reads
 * and every other process stay as fast as the machine. Raw system calls only and no
 * allocation (lab-shim.h), so it is safe while the allocator starts. */
#define _GNU_SOURCE
#include "lab-shim.h"

static long delay_ms;
static long read_at = -1;  /* CLOCK_MONOTONIC second of the last read */

static void slow_down(void) {
    lab_refresh("LAB_FSYNC_DELAY_FILE", &delay_ms, &read_at);
    if (delay_ms <= 0) return;
    struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    syscall(SYS_nanosleep, &pause, NULL);
}

int fsync(int fd) {
    slow_down();
    return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd) {
    slow_down();
    return (int)syscall(SYS_fdatasync, fd);
}
