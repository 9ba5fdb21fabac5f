/* SPDX-License-Identifier: Apache-2.0 */
/* The ban store on disk: reading with limits, the lock, atomic writes.
 * See bans.h; the format is in bans_json.c. */
#include "bans.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bans {
	char *path;
	GArray *list;        /* struct ban, as last read or written */
	bool have_file;      /* st describes the file list came from */
	struct stat st;
	bool bad_seen;       /* bad_st is a file already reported unreadable */
	struct stat bad_st;
};


/* The process's or the system's shortage, not the file's fault. */
static bool bans_error_transient(int rc)
{
	return rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM || rc == -ENOBUFS || rc == -EAGAIN ||
	       rc == -EINTR;
}

static bool bans_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads and parses path into out (emptied first). 0 with *exists false
 * when there is no file; *st describes what was read. */
static int bans_read(const char *path, GArray *out, bool *exists, struct stat *st, char *err,
                     size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc;

	g_array_set_size(out, 0);
	*exists = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return bans_fail(err, errlen, -errno, "%s: %s", path, g_strerror(errno));
	}
	*exists = true;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		rc = bans_fail(err, errlen, PP_ERR_INVALID, "%s: not a regular file", path);
		goto out;
	}
	if (st->st_size > BANS_FILE_MAX) {
		rc = bans_fail(err, errlen, PP_ERR_TOO_BIG, "%s: over %d bytes", path, BANS_FILE_MAX);
		goto out;
	}
	/* One byte more than allowed, in case it grew since fstat. */
	buf = g_malloc(BANS_FILE_MAX + 1);
	while (len <= BANS_FILE_MAX && (r = read(fd, buf + len, BANS_FILE_MAX + 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = bans_fail(err, errlen, -errno, "%s: %s", path, g_strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	{
		char why[256] = "";
		rc = bans_parse(buf, len, out, why, sizeof(why));
		if (rc < 0)
			bans_fail(err, errlen, rc, "%s: %s", path, why);
	}
out:
	g_free(buf);
	close(fd);
	return rc;
}

int bans_open(const char *path, struct bans **out, char *err, size_t errlen)
{
	struct bans *b = g_new0(struct bans, 1);
	int rc;

	*out = NULL;
	b->path = g_strdup(path);
	b->list = g_array_new(FALSE, TRUE, sizeof(struct ban));
	rc = bans_read(path, b->list, &b->have_file, &b->st, err, errlen);
	if (rc < 0) {
		bans_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void bans_free(struct bans *b)
{
	if (!b)
		return;
	g_array_free(b->list, TRUE);
	g_free(b->path);
	g_free(b);
}

const char *bans_path(const struct bans *b)
{
	return b->path;
}

int bans_refresh(struct bans *b, char *err, size_t errlen)
{
	GArray *fresh;
	struct stat st;
	bool exists;
	int rc;

	if (stat(b->path, &st) < 0) {
		if (errno != ENOENT || !b->have_file)
			return 0; /* unchanged, or unreadable metadata: keep what we have */
		b->have_file = false; /* removed: the operator lifted everything */
		g_array_set_size(b->list, 0);
		return 1;
	}
	if (b->have_file && bans_same_file(&st, &b->st))
		return 0;
	if (b->bad_seen && bans_same_file(&st, &b->bad_st))
		return 0;
	fresh = g_array_new(FALSE, TRUE, sizeof(struct ban));
	rc = bans_read(b->path, fresh, &exists, &st, err, errlen);
	if (rc < 0) {
		g_array_free(fresh, TRUE);
		/* A file that cannot be read for want of fds or memory is read
		 * again at the next check: remembering it as unreadable would
		 * ignore an operator's lift until the file changed again. */
		if (!bans_error_transient(rc)) {
			b->bad_seen = true;
			b->bad_st = st;
		}
		return rc;
	}
	g_array_free(b->list, TRUE);
	b->list = fresh;
	b->have_file = exists;
	b->st = st;
	b->bad_seen = false;
	return 1;
}

const struct ban *bans_find(const struct bans *b, const struct pp_fingerprint *fp, int64_t now)
{
	for (guint i = 0; i < b->list->len; i++) {
		const struct ban *e = &g_array_index(b->list, struct ban, i);
		if (e->until > now && pp_fingerprint_equal(&e->fp, fp))
			return e;
	}
	return NULL;
}

size_t bans_count(const struct bans *b)
{
	return b->list->len;
}

const struct ban *bans_at(const struct bans *b, size_t i)
{
	return i < b->list->len ? &g_array_index(b->list, struct ban, i) : NULL;
}

/* --- writing ---------------------------------------------------------------------- */

/* Files root writes for an operator keep the owner of the store (the file,
 * else its directory): the gateway usually runs as its own user
 * (DynamicUser=yes) and must still read and replace them. */
static void bans_keep_owner(int fd, const char *path)
{
	struct stat st;
	gchar *dir;
	int rc;

	if (geteuid() != 0)
		return;
	rc = stat(path, &st);
	if (rc < 0) {
		dir = g_path_get_dirname(path);
		rc = stat(dir, &st);
		g_free(dir);
	}
	if (rc == 0 && (st.st_uid != 0 || st.st_gid != 0))
		(void)!fchown(fd, st.st_uid, st.st_gid);
}

/* The exclusive lock on "<path>.lock" (created 0600 when missing). */
static int bans_lock(const char *path, char *err, size_t errlen)
{
	gchar *lock_path = g_strconcat(path, ".lock", NULL);
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		fd = bans_fail(err, errlen, -errno, "%s: %s", lock_path, g_strerror(errno));
		goto out;
	}
	bans_keep_owner(fd, path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			fd = bans_fail(err, errlen, -e, "%s: lock: %s", lock_path, g_strerror(e));
			goto out;
		}
	}
out:
	g_free(lock_path);
	return fd;
}

static void bans_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

static int bans_fsync_dir(const char *path)
{
	gchar *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	g_free(dir);
	return rc;
}

static int bans_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* text -> path, atomically: temporary file in the same directory, fsync,
 * rename, fsync of the directory. On failure the old file is untouched
 * and the temporary file gone. *st describes the new file. */
static int bans_write_file(const char *path, const char *text, struct stat *st, char *err,
                           size_t errlen)
{
	gchar *tmp = g_strconcat(path, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		rc = bans_fail(err, errlen, -errno, "%s: cannot create a temporary file: %s", path,
		               g_strerror(errno));
		g_free(tmp);
		return rc;
	}
	bans_keep_owner(fd, path);
	rc = bans_write_all(fd, text, strlen(text));
	if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		rc = -errno;
	if (rc < 0) {
		bans_fail(err, errlen, rc, "%s: writing %s: %s", path, tmp, g_strerror(-rc));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = bans_fail(err, errlen, -errno, "%s: writing %s: %s", path, tmp, g_strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = bans_fail(err, errlen, -errno, "%s: rename: %s", path, g_strerror(errno));
		goto fail;
	}
	g_free(tmp);
	/* The rename is done; a failed directory fsync only weakens durability
	 * across a power loss, and the file is consistent either way. */
	bans_fsync_dir(path);
	/* After the rename (it may change ctime): what our own refresh will
	 * see, so that it does not read back what we wrote. We hold the lock:
	 * no other writer can have replaced it meanwhile. */
	if (stat(path, st) < 0)
		memset(st, 0, sizeof(*st));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	g_free(tmp);
	return rc;
}

/* The read-modify-write under the lock: the file as it is now, edit()
 * applied, expired bans dropped, written; the handle then holds exactly
 * what was written. edit returns how many entries it changed; 0 leaves
 * the file alone. */
typedef size_t (*bans_edit_fn)(GArray *list, void *data);

static int bans_update(struct bans *b, bans_edit_fn edit, void *data, int64_t now,
                       size_t *changed, char *err, size_t errlen)
{
	GArray *cur = g_array_new(FALSE, TRUE, sizeof(struct ban));
	struct stat st;
	bool exists;
	char *text = NULL;
	size_t n;
	int lock, rc;

	if ((lock = bans_lock(b->path, err, errlen)) < 0) {
		g_array_free(cur, TRUE);
		return lock;
	}
	if ((rc = bans_read(b->path, cur, &exists, &st, err, errlen)) < 0)
		goto out;
	n = edit(cur, data);
	if (changed)
		*changed = n;
	if (n > 0) {
		text = bans_format((const struct ban *)(void *)cur->data, cur->len, now);
		if (!text) {
			rc = bans_fail(err, errlen, PP_ERR_NOMEM, "%s: out of memory", b->path);
			goto out;
		}
		if ((rc = bans_write_file(b->path, text, &st, err, errlen)) < 0)
			goto out;
		exists = true;
		for (guint i = cur->len; i-- > 0;) /* as written: without the expired */
			if (g_array_index(cur, struct ban, i).until <= now)
				g_array_remove_index(cur, i);
	}
	g_array_free(b->list, TRUE);
	b->list = cur;
	cur = NULL;
	b->have_file = exists;
	b->st = st;
	b->bad_seen = false;
	rc = 0;
out:
	g_free(text);
	if (cur)
		g_array_free(cur, TRUE);
	bans_unlock(lock);
	return rc;
}

/* Adds or extends: one entry per fingerprint. */
static size_t bans_merge(GArray *list, const struct ban *ban)
{
	for (guint i = 0; i < list->len; i++) {
		struct ban *e = &g_array_index(list, struct ban, i);
		if (pp_fingerprint_equal(&e->fp, &ban->fp)) {
			if (e->until > ban->until)
				return 0; /* a longer ban stands */
			*e = *ban;
			return 1;
		}
	}
	if (list->len >= BANS_MAX)
		g_array_remove_index(list, 0); /* the oldest entry gives way */
	g_array_append_val(list, *ban);
	return 1;
}

static size_t bans_edit_add(GArray *list, void *data)
{
	return bans_merge(list, data);
}

int bans_add(struct bans *b, const struct ban *ban, int64_t now, char *err, size_t errlen)
{
	int rc = bans_update(b, bans_edit_add, (void *)ban, now, NULL, err, errlen);

	if (rc < 0)
		bans_merge(b->list, ban); /* enforced here, even if not saved */
	return rc;
}

struct bans_lift_ctx {
	bool (*match)(const struct ban *ban, void *user);
	void *user;
	int64_t now;
};

static size_t bans_edit_lift(GArray *list, void *data)
{
	struct bans_lift_ctx *c = data;
	size_t n = 0;

	for (guint i = list->len; i-- > 0;) {
		const struct ban *e = &g_array_index(list, struct ban, i);
		if (e->until > c->now && (!c->match || c->match(e, c->user))) {
			g_array_remove_index(list, i);
			n++;
		}
	}
	return n;
}

int bans_lift(struct bans *b, bool (*match)(const struct ban *ban, void *user), void *user,
              int64_t now, size_t *lifted, char *err, size_t errlen)
{
	struct bans_lift_ctx c = { match, user, now };
	size_t n = 0;
	int rc = bans_update(b, bans_edit_lift, &c, now, &n, err, errlen);

	if (lifted)
		*lifted = rc < 0 ? 0 : n;
	return rc;
}

int bans_repair(const char *path, char *aside, size_t asidecap, char *err, size_t errlen)
{
	char stamp[BANS_TIME_TEXT_MAX];
	gchar *to = NULL;
	struct stat st;
	int lock, rc;

	lock = bans_lock(path, err, errlen);
	if (lock < 0)
		return lock;
	bans_time_format((int64_t)time(NULL), stamp);
	to = g_strconcat(path, ".corrupt-", stamp, NULL);
	if (aside && asidecap)
		aside[0] = '\0';
	if (rename(path, to) < 0 && errno != ENOENT) {
		rc = bans_fail(err, errlen, -errno, "%s: cannot move it to %s: %s", path, to,
		               g_strerror(errno));
		goto out;
	}
	if (aside && asidecap && access(to, F_OK) == 0)
		g_strlcpy(aside, to, asidecap);
	rc = bans_write_file(path, "{\n  \"version\": 1,\n  \"bans\": []\n}\n", &st, err, errlen);
out:
	g_free(to);
	bans_unlock(lock);
	return rc;
}
