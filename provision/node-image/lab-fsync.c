/* lab-fsync: make one process's fsync() and fdatasync() slow by a delay read from a file
 * (the slow-fsync fault, lab/chaos/faults/resources.py): a disk that takes that long to
 * make a write durable.
 *
 * Preloaded (LD_PRELOAD) into every lab Redis instance, it sleeps the milliseconds written
 * in the file named by LAB_FSYNC_DELAY_FILE ("0": none, read again at most once a second)
 * before each fsync() or fdatasync() it passes on. Nothing else is slowed: writes, reads
 * and every other process stay as fast as the machine. Raw system calls only and no
 * allocation, like lab-clock.c, so it is safe while the allocator starts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long delay_ms;
static long read_at = -1;  /* CLOCK_MONOTONIC second of the last read */

static void refresh(void) {
    struct timespec now;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) != 0 || now.tv_sec == read_at)
        return;
    read_at = now.tv_sec;
    const char *path = getenv("LAB_FSYNC_DELAY_FILE");
    if (!path) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[32];
    ssize_t n = syscall(SYS_read, fd, text, sizeof text);
    syscall(SYS_close, fd);
    long value = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
        value = value * 10 + (text[i] - '0');
    if (n > 0) delay_ms = value;
}

static void slow_down(void) {
    refresh();
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
