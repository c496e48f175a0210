/* Debug logging behind -v/-vv: the engine logs, the CLI decides where it goes. */
#pragma once

enum vk_log_level {
	VK_LOG_INFO = 1,  /* -v */
	VK_LOG_DEBUG = 2, /* -vv */
};

typedef void (*vk_log_handler)(enum vk_log_level level, const char *msg);

/* Installs the sink and the highest level that reaches it (0 = nothing). */
void vk_log_setup(vk_log_handler handler, int max_level);
int vk_log_enabled(enum vk_log_level level);
void vk_log(enum vk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vk_info(...) vk_log(VK_LOG_INFO, __VA_ARGS__)
#define vk_debug(...) vk_log(VK_LOG_DEBUG, __VA_ARGS__)
