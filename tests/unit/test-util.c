/* Unit tests for src/util: strbuf, errors, mkdir -p, atomic writes, file reads, locks. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void test_strbuf(void)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	char *out;
	size_t len;

	is_str(sb.buf, "", "a new strbuf reads as an empty string");
	vk_strbuf_addstr(&sb, "hello");
	vk_strbuf_addch(&sb, ' ');
	vk_strbuf_addf(&sb, "%s-%d", "world", 42);
	is_str(sb.buf, "hello world-42", "strbuf appends strings, chars and formats");
	for (int i = 0; i < 1000; i++)
		vk_strbuf_addch(&sb, 'x');
	is_int(sb.len, 14 + 1000, "strbuf grows past its first allocation");
	vk_strbuf_reset(&sb);
	vk_strbuf_add_xml_escaped(&sb, "<a href='x'>&\"</a>");
	is_str(sb.buf, "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&lt;/a&gt;", "XML escaping covers the five specials");
	out = vk_strbuf_detach(&sb, &len);
	is_int(len, strlen(out), "detach reports the length");
	is_str(sb.buf, "", "a detached strbuf is empty and usable");
	free(out);
	out = vk_strbuf_detach(&sb, NULL);
	is_str(out, "", "detaching an empty strbuf gives an owned empty string");
	free(out);
	vk_strbuf_release(&sb);
}

static void test_error(void)
{
	struct vk_error err = { 0 };

	is_int(vk_error_set(&err, VK_ERR_NOT_FOUND, "profile '%s' does not exist", "dev"), -1,
	       "vk_error_set returns -1");
	is_str(err.message, "profile 'dev' does not exist", "message is formatted");
	vk_error_prefix(&err, "cannot stop '%s'", "dev");
	is_str(err.message, "cannot stop 'dev': profile 'dev' does not exist", "prefix adds context");
	vk_error_set_errno(&err, VK_ERR_IO, ENOENT, "cannot read '%s'", "/x");
	is_str(err.message, "cannot read '/x': No such file or directory", "errno text is appended");
	is_int(err.code, VK_ERR_IO, "code is kept");
	vk_error_hint(&err, "do %s", "this");
	is_str(err.hint, "do this", "hint is set");
	ok(vk_error_set(NULL, VK_ERR_FAILED, "x") == -1, "a NULL error struct is allowed");
}

static void test_mkdir_and_files(const char *tmp)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *deep = xasprintf("%s/a/b/c", tmp);
	_cleanup_free_ char *file = xasprintf("%s/a/file", tmp);
	_cleanup_free_ char *under_file = xasprintf("%s/a/file/sub", tmp);
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len = 0;

	ok(vk_mkdir_p(deep, 0700, &err) == 0, "mkdir -p creates nested directories");
	ok(stat(deep, &st) == 0 && (st.st_mode & 0777) == 0700, "with the requested mode");
	ok(vk_mkdir_p(deep, 0700, &err) == 0, "mkdir -p of an existing directory succeeds");

	ok(vk_write_file_atomic(file, "one", 3, 0600, &err) == 0, "atomic write creates a file");
	ok(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600, "the file has mode 0600");
	ok(vk_read_file(file, &data, &len, &err) == 0 && len == 3 && strcmp(data, "one") == 0,
	   "read back what was written");
	free(TAKE_PTR(data));
	ok(vk_write_file_atomic(file, "second", 6, 0644, &err) == 0, "atomic write replaces a file");
	ok(stat(file, &st) == 0 && (st.st_mode & 0777) == 0644, "replacement has the new mode");

	ok(vk_mkdir_p(under_file, 0700, &err) < 0, "mkdir -p under a regular file fails");
	contains(err.message, "a file of that name exists", "and says why");

	ok(vk_read_file(deep, &data, &len, &err) < 0, "reading a directory fails");
	contains(err.message, "it is a directory", "and says it is a directory");
	ok(vk_read_file("/nonexistent/virtkube", &data, &len, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "reading a missing file is NOT_FOUND");
}

static void kill_self(const char *tmp_path)
{
	(void)tmp_path;
	raise(SIGKILL);
}

static void test_killed_writer(const char *tmp)
{
	_cleanup_free_ char *file = xasprintf("%s/killed", tmp);
	_cleanup_free_ char *data = NULL;
	struct vk_error err = { 0 };
	int status = 0;
	pid_t pid;

	vk_write_file_atomic(file, "old contents", 12, 0600, &err);
	pid = fork();
	if (pid == 0) {
		vk_fs_before_rename_hook = kill_self;
		vk_write_file_atomic(file, "new contents that never land", 28, 0600, &err);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was killed before its rename");
	ok(vk_read_file(file, &data, NULL, &err) == 0 && strcmp(data, "old contents") == 0,
	   "the old file is intact after a writer died between write and rename");
}

static void test_lock(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/test.lock", tmp);
	_cleanup_free_ char *pidstr = NULL;
	struct vk_lock lock = VK_LOCK_INIT;
	struct vk_error err = { 0 };
	int ready[2], done[2];
	char c;
	pid_t pid;

	if (pipe(ready) < 0 || pipe(done) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct vk_lock held = VK_LOCK_INIT;

		vk_lock_acquire(&held, path, "profile 'x'", 0, NULL);
		if (write(ready[1], "r", 1) < 0 || read(done[0], &c, 1) < 0)
			_exit(1);
		vk_lock_release(&held);
		_exit(0);
	}
	if (read(ready[0], &c, 1) < 0)
		return;
	ok(vk_lock_acquire(&lock, path, "profile 'x'", 200, &err) < 0, "a held lock cannot be taken");
	is_int(err.code, VK_ERR_BUSY, "the error is BUSY");
	pidstr = xasprintf("pid %d", (int)pid);
	contains(err.message, pidstr, "the error names the holder's pid");
	contains(err.message, "profile 'x'", "the error names what is locked");
	if (write(done[1], "d", 1) < 0)
		return;
	ok(vk_lock_acquire(&lock, path, "profile 'x'", 5000, &err) == 0,
	   "a waiter gets the lock once the holder releases it");
	waitpid(pid, NULL, 0);
	vk_lock_release(&lock);
	vk_lock_release(&lock);
	ok(lock.fd == -1, "releasing twice is harmless");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	struct vk_error err = { 0 };

	test_strbuf();
	test_error();
	test_mkdir_and_files(tmp);
	test_killed_writer(tmp);
	test_lock(tmp);
	vk_remove_tree(tmp, &err);
	ok(!vk_path_exists(tmp), "remove_tree removes the test directory");
	return done_testing();
}
