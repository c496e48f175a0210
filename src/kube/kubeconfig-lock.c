/* kubeconfig locks: virtkube's flock on REAL.virtkube-lock, and kubectl's own PATH.lock taken the way client-go's clientcmd takes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/kubeconfig-internal.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LOCK_SUFFIX ".virtkube-lock"
#define LOCK_TIMEOUT_MS 10000
/* What a lock file of kubectl's that virtkube created starts with. */
#define KUBECTL_LOCK_MARK "virtkube pid "

void vk_kc_unlock(struct wlocks *w)
{
	if (w->kubectl) {
		if (unlink(w->kubectl) < 0 && errno != ENOENT)
			vk_debug("cannot remove '%s': %s", w->kubectl, strerror(errno));
		free(w->kubectl);
		w->kubectl = NULL;
	}
	vk_lock_release(&w->flock);
}

/* True when LOCK was created by a virtkube: one that died, since every
 * virtkube holds the flock (which the caller holds now) while it has one. */
static bool lock_left_by_virtkube(const char *lock)
{
	_cleanup_free_ char *text = NULL;

	if (vk_read_file(lock, &text, NULL, NULL) < 0)
		return false;
	return strncmp(text, KUBECTL_LOCK_MARK, strlen(KUBECTL_LOCK_MARK)) == 0;
}

/* Takes kubectl's lock on PATH the way client-go's clientcmd does (create
 * PATH.lock with O_EXCL, remove it when done), waiting for a kubectl that
 * holds it. The caller holds virtkube's flock. */
static int kubectl_lock(const char *path, struct wlocks *w, struct vk_error *err)
{
	_cleanup_free_ char *lock = xasprintf("%s.lock", path);
	long start = vk_now_ms();
	struct stat st;
	long age = -1;

	for (;;) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0) {
			char mark[64];
			int n = snprintf(mark, sizeof(mark), KUBECTL_LOCK_MARK "%ld\n", (long)getpid());

			if (write(fd, mark, (size_t)n) != n)
				vk_debug("cannot write '%s': %s", lock, strerror(errno));
			close(fd);
			w->kubectl = TAKE_PTR(lock);
			return 0;
		}
		if (errno != EEXIST)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create kubectl's lock file '%s'", lock);
		if (lock_left_by_virtkube(lock)) {
			vk_info("removing '%s', left by a virtkube that did not finish", lock);
			if (unlink(lock) < 0 && errno != ENOENT)
				return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot remove the stale lock file '%s'", lock);
			continue;
		}
		if (vk_now_ms() - start >= vk_kubeconfig_lock_timeout_ms)
			break;
		usleep(20 * 1000);
	}
	if (stat(lock, &st) == 0)
		age = (long)(time(NULL) - st.st_mtime);
	vk_error_set(err, VK_ERR_BUSY, "kubeconfig '%s' is locked: '%s' is there (kubectl's lock file, %ld s old), waited %.1f s",
		     path, lock, age, vk_kubeconfig_lock_timeout_ms / 1000.0);
	if (age >= 60)
		return vk_error_hint(err, "kubectl holds it only while it writes, so one this old is likely stale: if no kubectl is running, remove '%s'",
				     lock);
	return vk_error_hint(err, "kubectl holds it while it changes the file: try again; if no kubectl is running, the lock is stale: remove '%s'",
			     lock);
}

/* Checks the file can be replaced, makes its directory, and takes the locks. */
int vk_kc_lock(const char *path, bool create_dir, struct wlocks *w, struct vk_error *err)
{
	_cleanup_free_ char *real = vk_kc_resolve_path(path);
	_cleanup_free_ char *lock_path = xasprintf("%s" LOCK_SUFFIX, real);
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(real, '/');
	struct stat st;

	if (stat(real, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is a directory, expected a file", path);
			return vk_error_hint(err, "remove or rename it, or point $KUBECONFIG at a file");
		}
		/* The mode bits, not access(2): root may write anything, but a
		 * file made read-only says its owner wants it left alone. */
		if (!(st.st_mode & S_IWUSR) || access(real, W_OK) < 0) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is read-only", path);
			return vk_error_hint(err, "make it writable (chmod u+w), or point $KUBECONFIG at another file");
		}
	}
	if (slash && slash != real && create_dir) {
		dir = xstrndup(real, (size_t)(slash - real));
		if (vk_mkdir_p(dir, 0700, err) < 0)
			return vk_error_prefix(err, "cannot create the kubeconfig's directory");
	}
	if (vk_lock_acquire(&w->flock, lock_path, "the kubeconfig", LOCK_TIMEOUT_MS, err) < 0)
		return vk_error_prefix(err, "cannot lock kubeconfig '%s'", path);
	if (kubectl_lock(path, w, err) < 0) {
		vk_kc_unlock(w);
		return -1;
	}
	return 0;
}
