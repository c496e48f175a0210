/* Unit tests of the shared payload ISO: naming by input hash, contents and label, reuse, rebuild on change, concurrent builders, cache list/clean. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifacts/cache.h"
#include "artifacts/payload.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define K8S_VERSION "v1.35.4"

struct fixture {
	char *dir;
	char *files[7];
	char *units;
	struct vk_payload_inputs in;
};

static void put(const char *path, const char *data, mode_t mode)
{
	struct vk_error err = { 0 };

	if (vk_write_file_atomic(path, data, strlen(data), mode, &err) < 0) {
		printf("Bail out! %s\n", err.message);
		exit(1);
	}
}

/* Inputs named like the cache's files, with contents that tell them apart. */
static void fixture_make(struct fixture *f, const char *tmp, const char *name)
{
	static const char *const names[7] = { "kubeadm", "kubelet", "kubectl", "runc.amd64", "crictl",
					      "containerd.tar.gz", "cni-plugins.tgz" };
	struct vk_error err = { 0 };

	f->dir = xasprintf("%s/%s", tmp, name);
	f->units = xasprintf("%s/units", f->dir);
	vk_mkdir_p(f->units, 0755, &err);
	for (int i = 0; i < 7; i++) {
		_cleanup_free_ char *body = xasprintf("#!fake %s of %s\n", names[i], name);

		f->files[i] = xasprintf("%s/%s", f->dir, names[i]);
		put(f->files[i], body, 0644);
	}
	{
		_cleanup_free_ char *a = xasprintf("%s/kubelet.service", f->units);
		_cleanup_free_ char *b = xasprintf("%s/containerd.service", f->units);

		put(a, "[Service]\nExecStart=/usr/local/bin/kubelet\n", 0644);
		put(b, "[Service]\nExecStart=/usr/local/bin/containerd\n", 0644);
	}
	f->in = (struct vk_payload_inputs){
		.kubernetes_version = K8S_VERSION,
		.kubeadm = f->files[0],
		.kubelet = f->files[1],
		.kubectl = f->files[2],
		.runc = f->files[3],
		.crictl = f->files[4],
		.containerd = f->files[5],
		.cni_plugins = f->files[6],
		.units = f->units,
	};
}

static void fixture_free(struct fixture *f)
{
	free(f->dir);
	free(f->units);
	for (int i = 0; i < 7; i++)
		free(f->files[i]);
}

/* The ISO's primary volume label (sector 16, byte 40). */
static void iso_label(const char *iso, char label[33])
{
	int fd = open(iso, O_RDONLY);

	memset(label, 0, 33);
	if (fd >= 0 && pread(fd, label, 32, 32768 + 40) == 32)
		for (int i = 31; i >= 0 && label[i] == ' '; i--)
			label[i] = '\0';
	if (fd >= 0)
		close(fd);
}

/* Finds PATH on the ISO: its mode and (up to LEN-1) bytes. */
static bool iso_file(const char *iso, const char *path, mode_t *mode, char *buf, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	bool found = false;

	archive_read_support_format_iso9660(a);
	if (archive_read_open_filename(a, iso, 65536) == ARCHIVE_OK) {
		while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
			if (strcmp(archive_entry_pathname(ae), path) != 0)
				continue;
			ssize_t n = archive_read_data(a, buf, len - 1);

			buf[n > 0 ? n : 0] = '\0';
			*mode = archive_entry_perm(ae);
			found = true;
			break;
		}
	}
	archive_read_free(a);
	return found;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void test_build_and_reuse(const char *home, struct fixture *f)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *want_dir = xasprintf("%s/cache/payload/", home);
	_cleanup_free_ char *path = vk_payload_path(home, &f->in, &err);
	_cleanup_free_ char *again = vk_payload_path(home, &f->in, &err);
	_cleanup_free_ char *iso = NULL, *iso2 = NULL, *dir = NULL;
	struct stat st, st2;
	bool built = false;
	char label[33], buf[256];
	mode_t mode = 0;

	ok(path && strncmp(path, want_dir, strlen(want_dir)) == 0, "the ISO lives in HOME/cache/payload (%s)",
	   path ? path : err.message);
	ok(path && strncmp(path + strlen(want_dir), K8S_VERSION "-", strlen(K8S_VERSION) + 1) == 0 &&
		   strlen(path + strlen(want_dir)) == strlen(K8S_VERSION "-") + 12 + 4 &&
		   strcmp(path + strlen(path) - 4, ".iso") == 0,
	   "named <version>-<12 hex>.iso");
	is_str(again, path, "the same inputs give the same name");
	ok(!vk_path_exists(path), "vk_payload_path builds nothing");

	iso = vk_payload_ensure(home, &f->in, &built, &err);
	ok(iso && built, "the first ensure builds it (%s)", iso ? iso : err.message);
	is_str(iso, path, "at the path vk_payload_path names");
	ok(stat(iso, &st) == 0 && (st.st_mode & 0777) == 0644, "the ISO is 0644 (qemu's own user reads it)");
	dir = xstrndup(iso, strlen(want_dir) - 1);
	ok(stat(dir, &st2) == 0 && (st2.st_mode & 0777) == 0755, "its directory is 0755");
	iso_label(iso, label);
	is_str(label, VK_PAYLOAD_LABEL, "its volume label is VKPAYLOAD");
	/* Rock Ridge "useful" permissions: read (and execute) for all, no write. */
	ok(iso_file(iso, "bin/kubeadm", &mode, buf, sizeof(buf)) && strcmp(buf, "#!fake kubeadm of a\n") == 0 &&
		   (mode & 0111) == 0111,
	   "bin/kubeadm holds the input's bytes, executable");
	ok(iso_file(iso, "bin/runc", &mode, buf, sizeof(buf)) && strstr(buf, "runc.amd64") && (mode & 0111) == 0111,
	   "bin/runc is the runc input, executable");
	ok(iso_file(iso, "bin/crictl", &mode, buf, sizeof(buf)) && strstr(buf, "crictl"), "bin/crictl is there");
	ok(iso_file(iso, "containerd.tar.gz", &mode, buf, sizeof(buf)) && strstr(buf, "containerd.tar.gz") &&
		   (mode & 0111) == 0,
	   "containerd.tar.gz is there, not executable");
	ok(iso_file(iso, "cni-plugins.tgz", &mode, buf, sizeof(buf)) && strstr(buf, "cni-plugins"), "cni-plugins.tgz");
	ok(iso_file(iso, "units/kubelet.service", &mode, buf, sizeof(buf)) && strstr(buf, "ExecStart"),
	   "units/kubelet.service");
	ok(!iso_file(iso, "virtkube/mode", &mode, buf, sizeof(buf)) && !iso_file(iso, "user-data", &mode, buf, sizeof(buf)),
	   "nothing of a profile's own is on it");

	iso2 = vk_payload_ensure(home, &f->in, &built, &err);
	ok(iso2 && !built && strcmp(iso2, iso) == 0, "a second ensure reuses it (%s)", iso2 ? iso2 : err.message);
	ok(stat(iso2, &st2) == 0 && same_file(&st, &st2), "without rewriting it (same inode and mtime)");
}

static void test_changes(const char *home, struct fixture *f)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *before = vk_payload_path(home, &f->in, &err);
	_cleanup_free_ char *touched = NULL, *unit_changed = NULL, *iso = NULL, *unit = NULL;
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
	bool built = false;

	/* A re-downloaded binary: same name, other mtime. */
	utimensat(AT_FDCWD, f->files[1], times, 0);
	touched = vk_payload_path(home, &f->in, &err);
	ok(before && touched && strcmp(before, touched) != 0, "a changed input (kubelet's mtime) gives a new name");
	iso = vk_payload_ensure(home, &f->in, &built, &err);
	ok(iso && built && strcmp(iso, touched) == 0, "which is built anew (%s)", iso ? iso : err.message);
	ok(vk_path_exists(before), "the old ISO is left for whoever still uses it");

	unit = xasprintf("%s/kubelet.service", f->units);
	put(unit, "[Service]\nExecStart=/usr/local/bin/kubelet --v=2\n", 0644);
	unit_changed = vk_payload_path(home, &f->in, &err);
	ok(unit_changed && strcmp(unit_changed, touched) != 0, "a changed unit file gives a new name");

	f->in.kubernetes_version = "../v1";
	ok(vk_payload_path(home, &f->in, &err) == NULL && err.code == VK_ERR_INVALID && strstr(err.message, "../v1"),
	   "a version that could leave the directory is refused");
	f->in.kubernetes_version = K8S_VERSION;
	f->in.kubectl = "/nonexistent/kubectl";
	ok(vk_payload_ensure(home, &f->in, &built, &err) == NULL && strstr(err.message, "/nonexistent/kubectl"),
	   "a missing input is named");
	f->in.kubectl = f->files[2];
}

/* The images archive: optional, at VK_PAYLOAD_IMAGES, part of the name; the
 * test hook's variable stands in when the inputs name none. */
static void test_images(const char *home, struct fixture *f)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *archive = xasprintf("%s/images.oci.tar", f->dir);
	_cleanup_free_ char *without = NULL, *with = NULL, *hooked = NULL, *iso = NULL;
	bool built = false;
	char buf[256];
	mode_t mode = 0;

	put(archive, "#!fake OCI archive\n", 0600);
	unsetenv(VK_PAYLOAD_IMAGES_ENV);
	without = vk_payload_path(home, &f->in, &err);
	f->in.images = archive;
	with = vk_payload_path(home, &f->in, &err);
	ok(without && with && strcmp(without, with) != 0, "an images archive gives the ISO another name");
	iso = vk_payload_ensure(home, &f->in, &built, &err);
	ok(iso && built, "the ISO with images is built (%s)", iso ? iso : err.message);
	ok(iso && iso_file(iso, "images/images.oci.tar", &mode, buf, sizeof(buf)) &&
		   strcmp(buf, "#!fake OCI archive\n") == 0 && (mode & 0444) == 0444 && (mode & 0111) == 0,
	   "the archive is at images/images.oci.tar, readable, not executable");
	f->in.images = NULL;
	setenv(VK_PAYLOAD_IMAGES_ENV, archive, 1);
	hooked = vk_payload_path(home, &f->in, &err);
	is_str(hooked, with, "the test hook's archive counts as the input's");
	setenv(VK_PAYLOAD_IMAGES_ENV, "", 1);
	free(hooked);
	hooked = vk_payload_path(home, &f->in, &err);
	is_str(hooked, without, "an empty hook is no archive");
	unsetenv(VK_PAYLOAD_IMAGES_ENV);
}

/* Two starts at once: one builds, the other waits for its lock and reuses. */
static void test_concurrent(const char *home, struct fixture *f)
{
	pid_t pids[2];
	int built = 0, reused = 0;

	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vk_error err = { 0 };
			bool b = false;
			char *iso = vk_payload_ensure(home, &f->in, &b, &err);

			_exit(!iso ? 1 : b ? 10 : 20);
		}
	}
	for (int i = 0; i < 2; i++) {
		int status = 0;

		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
			built++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 20)
			reused++;
	}
	ok(built == 1 && reused == 1, "two concurrent ensures: one builds, one reuses (built %d, reused %d)", built,
	   reused);
}

static void test_cache(const char *home)
{
	struct vk_error err = { 0 };
	struct vk_cache_entry *e;
	size_t n = 0, isos = 0, others = 0, removed = 0, busy = 0;
	off_t freed = 0;
	int rc;
	_cleanup_free_ char *dir = xasprintf("%s/cache/payload", home);
	_cleanup_free_ char *tmpfile = xasprintf("%s/cache/payload/" K8S_VERSION "-000000000000.iso.tmp-abcdef", home);

	put(tmpfile, "half", 0600);
	e = vk_cache_list(home, &n, &err);
	for (size_t i = 0; e && i < n; i++) {
		if (strncmp(e[i].key, "payload/" K8S_VERSION "-", strlen("payload/" K8S_VERSION "-")) == 0 &&
		    e[i].state == VK_CACHE_BUILT && e[i].size > 0)
			isos++;
		else
			others++;
	}
	vk_cache_entries_free(e, n);
	ok(isos >= 2 && others == 0, "cache list shows the ISOs as built, not their locks or a build's temporary file (%zu, %zu)",
	   isos, others);
	rc = vk_cache_clean(home, &freed, &removed, &busy, &err);
	ok(rc == 0 && removed == isos && freed > 0, "cache clean removes them (%zu)", removed);
	ok(!vk_path_exists(dir), "and the payload directory");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	struct fixture a, b;
	struct vk_error err = { 0 };

	fixture_make(&a, tmp, "a");
	fixture_make(&b, tmp, "b");
	test_build_and_reuse(home, &a);
	test_changes(home, &a);
	test_images(home, &a);
	test_concurrent(home, &b);
	test_cache(home);
	fixture_free(&a);
	fixture_free(&b);
	if (!getenv("KEEP"))
		vk_remove_tree(tmp, &err);
	else
		printf("# kept %s\n", tmp);
	return done_testing();
}
