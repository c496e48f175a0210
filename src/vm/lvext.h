/* The libvirt functions of the remote-host modules (volumes, console), resolved on first use beside the machine module's own table. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/error.h"

/* Every libvirt function volumes.c and console.c call (machine.c's table is
 * private to it); the same library, loaded once. */
#define VK_LVEXT_SYMBOLS(X)                                                                                   \
	X(virGetLastError) X(virGetLastErrorMessage) X(virNodeGetFreeMemory) X(virDomainFree)                \
	X(virDomainLookupByName) X(virDomainOpenConsole) X(virStoragePoolBuild) X(virStoragePoolCreate)      \
	X(virStoragePoolDefineXML) X(virStoragePoolFree) X(virStoragePoolGetInfo) X(virStoragePoolIsActive)  \
	X(virStoragePoolListAllVolumes) X(virStoragePoolLookupByName) X(virStoragePoolRefresh)               \
	X(virStoragePoolSetAutostart) X(virStorageVolCreateXML) X(virStorageVolDelete) X(virStorageVolFree)  \
	X(virStorageVolGetConnect) X(virStorageVolGetName) X(virStorageVolGetPath)                           \
	X(virStorageVolLookupByName) X(virStorageVolUpload) X(virStreamAbort) X(virStreamFinish)            \
	X(virStreamFree) X(virStreamNew) X(virStreamRecv) X(virStreamSendAll) X(virStreamSparseSendAll)

#define VK_LVEXT_MEMBER(name) __typeof__(name) *name;
struct vk_lvext {
	VK_LVEXT_SYMBOLS(VK_LVEXT_MEMBER)
};
#undef VK_LVEXT_MEMBER

/* The table, with libvirt loaded (vk_machine_load, which also quiets
 * libvirt's own printing); NULL with ERR set when libvirt or one of the
 * functions is missing. The table lives as long as the process. */
const struct vk_lvext *vk_lvext_load(struct vk_error *err);

/* Sets ERR to "WHAT: libvirt's last error message" (VK_ERR_LIBVIRT) and
 * returns -1; call it only after vk_lvext_load succeeded. */
int vk_lvext_error(struct vk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
