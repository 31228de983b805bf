/* What the lab's shims (lab-clock.c, lab-fsync.c) share: a whole number read from the file
 * an environment variable names, read again at most once a second. Raw system calls only
 * and no allocation: the shims run inside a server whose allocator may call them while it
 * starts. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* "+12", "-60", "3000": an optional sign, then digits; anything after them is ignored. */
static long lab_parse(const char *s, ssize_t n) {
    long sign = 1, value = 0;
    ssize_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) value = value * 10 + (s[i] - '0');
    return sign * value;
}

/* Set *value from the file named by the environment variable `variable`, unless it was
 * read in this CLOCK_MONOTONIC second (*read_at); a missing file keeps *value. */
static void lab_refresh(const char *variable, long *value, long *read_at) {
    struct timespec now;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) != 0 || now.tv_sec == *read_at)
        return;
    *read_at = now.tv_sec;
    const char *path = getenv(variable);
    if (!path) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[32];
    ssize_t n = syscall(SYS_read, fd, text, sizeof text);
    syscall(SYS_close, fd);
    if (n > 0) *value = lab_parse(text, n);
}
