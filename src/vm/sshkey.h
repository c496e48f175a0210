/* Per-profile SSH key pair: ECDSA P-256 made with OpenSSL, PEM private key, OpenSSH public key. */
#pragma once

#include "util/error.h"

/* Makes a new key pair: PRIV_PATH (PKCS#8 PEM, 0600, read by the system ssh
 * with -i) and PRIV_PATH.pub (one OpenSSH line "ecdsa-sha2-nistp256 B64 COMMENT",
 * 0644). Both are written atomically; existing files are replaced. COMMENT must
 * not contain whitespace or control characters. */
int vk_sshkey_generate(const char *priv_path, const char *comment, struct vk_error *err);

/* Keeps an existing pair (both files present), else makes one. */
int vk_sshkey_ensure(const char *priv_path, const char *comment, struct vk_error *err);

/* Returns the public key line of PRIV_PATH.pub without the trailing newline;
 * the caller frees it. */
char *vk_sshkey_read_public(const char *priv_path, struct vk_error *err);
