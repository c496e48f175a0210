/* The remote-host modules' libvirt table: resolved once with vk_dl_open, and libvirt's last error turned into a vk_error. */
#include "vm/lvext.h"

#include <pthread.h>
#include <stdarg.h>

#include "vm/machine.h"
#include "util/cleanup.h"
#include "util/dl.h"
#include "util/xalloc.h"

static struct vk_lvext table;

#define LVEXT_ENTRY(name) VK_DL_SYMBOL(struct vk_lvext, name)
static const struct vk_dl_symbol symbols[] = { VK_LVEXT_SYMBOLS(LVEXT_ENTRY) };
#undef LVEXT_ENTRY

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char failure[VK_ERROR_MSG_MAX];

static void resolve(void)
{
	loaded = vk_dl_open("libvirt", VK_LIBVIRT_SONAME, symbols, VK_ARRAY_SIZE(symbols), &table, sizeof(table),
			    failure, sizeof(failure));
}

const struct vk_lvext *vk_lvext_load(struct vk_error *err)
{
	if (vk_machine_load(err) < 0)
		return NULL;
	pthread_once(&once, resolve);
	if (loaded)
		return &table;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "%s", failure);
	return NULL;
}

int vk_lvext_error(struct vk_error *err, const char *fmt, ...)
{
	const char *m = table.virGetLastErrorMessage();
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	return vk_error_set(err, VK_ERR_LIBVIRT, "%s: %s", what, m && *m ? m : "unknown libvirt error");
}
