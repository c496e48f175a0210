/* Advisory file locks (see lock.h). */
#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "util/clock.h"

static long read_holder_pid(int fd)
{
	char buf[32] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	return strtol(buf, NULL, 10);
}

int vk_lock_acquire(struct vk_lock *lock, const char *path, const char *what, long timeout_ms,
		    struct vk_error *err)
{
	long deadline = vk_now_ms() + timeout_ms;
	char pidbuf[32];
	int fd, len;

	lock->fd = -1;
	lock->path = NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open lock file '%s'", path);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int saved = errno;

			close(fd);
			return vk_error_set_errno(err, VK_ERR_IO, saved, "cannot lock '%s'", path);
		}
		if (vk_now_ms() >= deadline) {
			long pid = read_holder_pid(fd);

			close(fd);
			if (pid > 0)
				vk_error_set(err, VK_ERR_BUSY, "%s is in use by another virtkube process (pid %ld)", what, pid);
			else
				vk_error_set(err, VK_ERR_BUSY, "%s is in use by another virtkube process", what);
			return vk_error_hint(err, "wait for it to finish, or stop it; the lock is '%s'", path);
		}
		usleep(50 * 1000);
	}
	len = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pidbuf, (size_t)len, 0) < 0) {
		/* The pid is only informative; the lock itself is held. */
	}
	lock->fd = fd;
	lock->path = xstrdup(path);
	return 0;
}

void vk_lock_release(struct vk_lock *lock)
{
	if (!lock)
		return;
	if (lock->fd >= 0) {
		/* Clear the pid before unlocking so nobody reports a stale holder. */
		if (ftruncate(lock->fd, 0) < 0) {
			/* harmless: the next holder overwrites it */
		}
		flock(lock->fd, LOCK_UN);
		close(lock->fd);
	}
	lock->fd = -1;
	free(lock->path);
	lock->path = NULL;
}
