/* Debug logging (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static vk_log_handler current_handler;
static int current_max;

void vk_log_setup(vk_log_handler handler, int max_level)
{
	current_handler = handler;
	current_max = max_level;
}

int vk_log_enabled(enum vk_log_level level)
{
	return current_handler && (int)level <= current_max;
}

void vk_log(enum vk_log_level level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	if (!vk_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	current_handler(level, buf);
}
