/* The one table of libvirt functions: machine.c loads libvirt on first use and fills it; the remote-host modules (volumes, console) call through it. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/error.h"

/* Every libvirt function virtkube calls. The headers give their types at
 * build time; the code is loaded only in the processes that reach libvirt,
 * so the other commands never pay for its ~55 libraries. */
#define VK_LVEXT_SYMBOLS(X)                                                                                   \
	X(virGetVersion) X(virGetLastError) X(virGetLastErrorMessage) X(virSetErrorFunc)                      \
	X(virConnSetErrorFunc) X(virConnectOpen) X(virConnectClose) X(virConnectGetCapabilities)              \
	X(virConnectGetURI) X(virConnectGetDomainCapabilities) X(virConnectListAllDomains)                    \
	X(virConnectListAllNetworks) X(virDomainAttachDeviceFlags) X(virDomainDetachDeviceFlags)              \
	X(virDomainCreate) X(virDomainCreateXML) X(virDomainDefineXML) X(virDomainDestroy) X(virDomainFree)   \
	X(virDomainGetName) X(virDomainGetState) X(virDomainGetXMLDesc) X(virDomainIsActive)                  \
	X(virDomainLookupByName) X(virDomainShutdown) X(virDomainShutdownFlags) X(virDomainUndefine)          \
	X(virDomainUndefineFlags) X(virDomainUpdateDeviceFlags) X(virNetworkCreate) X(virNetworkDefineXML)    \
	X(virNetworkDestroy) X(virNetworkFree) X(virNetworkGetXMLDesc) X(virNetworkIsActive)                  \
	X(virNetworkIsPersistent) X(virNetworkLookupByName) X(virNetworkUndefine) X(virNetworkUpdate)         \
	X(virStoragePoolCreateXML) X(virStoragePoolDestroy) X(virStoragePoolFree) X(virStoragePoolIsActive)   \
	X(virStoragePoolIsPersistent) X(virStoragePoolLookupByName) X(virStoragePoolUndefine)                 \
	X(virStorageVolCreateXML) X(virStorageVolFree) X(virStorageVolLookupByName)                           \
	X(virConnectGetAllDomainStats) X(virDomainStatsRecordListFree) X(virDomainSuspend) X(virDomainResume) \
	X(virDomainGetUUIDString) X(virDomainGetBlockInfo) X(virDomainSetTime) X(virDomainGetTime)            \
	X(virDomainSnapshotCreateXML) X(virDomainSnapshotLookupByName) X(virDomainRevertToSnapshot)           \
	X(virDomainSnapshotDelete) X(virDomainSnapshotFree) X(virNodeGetFreeMemory) X(virDomainOpenConsole)   \
	X(virStoragePoolBuild) X(virStoragePoolCreate) X(virStoragePoolDefineXML) X(virStoragePoolGetInfo)    \
	X(virStoragePoolListAllVolumes) X(virStoragePoolRefresh) X(virStoragePoolSetAutostart)                \
	X(virStorageVolDelete) X(virStorageVolGetConnect) X(virStorageVolGetName) X(virStorageVolGetPath)     \
	X(virStorageVolUpload) X(virStreamAbort) X(virStreamFinish) X(virStreamFree) X(virStreamNew)          \
	X(virStreamRecv) X(virStreamSendAll) X(virStreamSparseSendAll) X(virStoragePoolGetXMLDesc)          \
	X(virInterfaceLookupByName) X(virInterfaceFree)

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
