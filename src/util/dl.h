/* Loading a shared library on first use into a table of its functions (libvirt, libarchive). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One function of a table: its name and where its pointer goes. */
struct vk_dl_symbol {
	const char *name;
	size_t offset;
};

/* An entry of a vk_dl_symbol array for member NAME of TABLE_TYPE (a struct
 * whose members are named after the functions they point to). */
#define VK_DL_SYMBOL(table_type, name) { #name, offsetof(table_type, name) },

/* For an X-macro LIST of a library's functions, with VK_DL_TABLE_TYPE
 * defined as the table's struct type:
 *   static struct t { LIST(VK_DL_MEMBER) } t;  (one typed pointer per function)
 *   static const struct vk_dl_symbol syms[] = { LIST(VK_DL_ENTRY) }; */
#define VK_DL_MEMBER(name) __typeof__(name) *name;
#define VK_DL_ENTRY(name) VK_DL_SYMBOL(VK_DL_TABLE_TYPE, name)

/* Opens SONAME (RTLD_LAZY | RTLD_LOCAL) and stores each of SYMS into TABLE
 * (TABLE_SIZE bytes). On failure TABLE is zeroed, the library closed, and
 * FAILURE (FAILURE_LEN bytes) says "cannot load WHAT (SONAME): " and the
 * loader's reason or the first missing function. Call it once per library
 * (pthread_once); the table then lives as long as the process. */
bool vk_dl_open(const char *what, const char *soname, const struct vk_dl_symbol *syms, size_t nsyms, void *table,
		size_t table_size, char *failure, size_t failure_len);
