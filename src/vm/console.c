/* A domain's serial console copied into a local file over virDomainOpenConsole streams, by a thread with its own connection. */
#include "vm/console.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/lvext.h"
#include "vm/machine.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

static const struct vk_lvext *lv;

static int con_load(struct vk_error *err)
{
	lv = vk_lvext_load(err);
	return lv ? 0 : -1;
}

struct vk_console_copy {
	virConnectPtr conn;
	virStreamPtr st;
	int fd;
	pthread_t thread;
	/* Under MU: the thread has ended, or its owner let go (it then frees C itself). */
	pthread_mutex_t mu;
	bool running;
	bool orphaned;
	char *domain;
};

static void copy_free(struct vk_console_copy *c);

static void *copy_thread(void *arg)
{
	struct vk_console_copy *c = arg;
	char buf[16384];
	bool orphaned_end;

	for (;;) {
		int n = lv->virStreamRecv(c->st, buf, sizeof(buf));

		bool orphaned;

		if (n <= 0) {
			/* 0: the console closed (the domain stopped); <0: the connection went. */
			if (n < 0)
				vk_debug("console of '%s': %s", c->domain, lv->virGetLastErrorMessage());
			break;
		}
		pthread_mutex_lock(&c->mu);
		orphaned = c->orphaned;
		pthread_mutex_unlock(&c->mu);
		if (orphaned)
			break;
		for (int off = 0; off < n;) {
			ssize_t w = write(c->fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				vk_debug("console of '%s': cannot write its copy: %s", c->domain, strerror(errno));
				break;
			}
			off += (int)w;
		}
	}
	pthread_mutex_lock(&c->mu);
	c->running = false;
	orphaned_end = c->orphaned;
	pthread_mutex_unlock(&c->mu);
	if (orphaned_end) {
		lv->virStreamAbort(c->st);
		copy_free(c);
	}
	return NULL;
}

static void copy_free(struct vk_console_copy *c)
{
	if (c->st)
		lv->virStreamFree(c->st);
	vk_machine_disconnect(c->conn);
	if (c->fd >= 0)
		close(c->fd);
	free(c->domain);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

struct vk_console_copy *vk_console_copy_start(const char *uri, const char *domain, const char *path, bool force,
					      struct vk_error *err)
{
	struct vk_console_copy *c;
	virDomainPtr dom;
	int rc;

	if (con_load(err) < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	pthread_mutex_init(&c->mu, NULL);
	c->domain = xstrdup(domain);
	/* Its own connection: the thread blocks in it while the start goes on in the other. */
	if (!(c->conn = vk_machine_connect(uri, err)))
		goto fail;
	c->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (c->fd < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s' for the console of '%s'", path, domain);
		goto fail;
	}
	dom = lv->virDomainLookupByName(c->conn, domain);
	if (!dom) {
		vk_error_set(err, VK_ERR_LIBVIRT, "cannot find domain '%s': %s", domain, lv->virGetLastErrorMessage());
		goto fail;
	}
	c->st = lv->virStreamNew(c->conn, 0);
	rc = c->st ? lv->virDomainOpenConsole(dom, NULL, c->st, force ? VIR_DOMAIN_CONSOLE_FORCE : 0) : -1;
	lv->virDomainFree(dom);
	if (rc < 0) {
		virErrorPtr e = lv->virGetLastError();

		vk_error_set(err, e && e->code == VIR_ERR_OPERATION_FAILED && !force ? VK_ERR_EXISTS : VK_ERR_LIBVIRT,
			     "cannot open the console of domain '%s': %s", domain, lv->virGetLastErrorMessage());
		goto fail;
	}
	c->running = true;
	if (pthread_create(&c->thread, NULL, copy_thread, c) != 0) {
		vk_error_set(err, VK_ERR_FAILED, "cannot start the console copy of '%s'", domain);
		lv->virStreamAbort(c->st);
		goto fail;
	}
	return c;
fail:
	copy_free(c);
	return NULL;
}

bool vk_console_copy_running(struct vk_console_copy *c)
{
	bool running;

	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	running = c->running;
	pthread_mutex_unlock(&c->mu);
	return running;
}

/* The thread blocks in virStreamRecv until the guest writes or the console
 * closes; an abort from this thread while it does is not safe with the
 * remote driver (two calls wait on one stream). So a running thread is let
 * go: it ends at the guest's next output or the domain's end, and frees
 * what it has then. */
void vk_console_copy_stop(struct vk_console_copy *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->running) {
		c->orphaned = true;
		pthread_detach(c->thread);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	copy_free(c);
}
