/* Loading a shared library on first use into a table of its functions. */
#include "util/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool vk_dl_open(const char *what, const char *soname, const struct vk_dl_symbol *syms, size_t nsyms, void *table,
		size_t table_size, char *failure, size_t failure_len)
{
	void *handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);

	if (!handle) {
		snprintf(failure, failure_len, "cannot load %s (%s): %s", what, soname, dlerror());
		return false;
	}
	for (size_t i = 0; i < nsyms; i++) {
		void *sym = dlsym(handle, syms[i].name);

		if (!sym) {
			snprintf(failure, failure_len, "cannot load %s (%s): it has no %s (too old, or not %s): %s", what,
				 soname, syms[i].name, what, dlerror());
			memset(table, 0, table_size);
			dlclose(handle);
			return false;
		}
		memcpy((char *)table + syms[i].offset, &sym, sizeof(sym));
	}
	return true;
}
