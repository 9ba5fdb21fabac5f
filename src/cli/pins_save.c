/* SPDX-License-Identifier: Apache-2.0 */
/* Saving the pins file so that a crash or a full disk leaves either the old
 * file or the new one, never half of one: write a temporary file in the
 * same directory, fsync it, rename it over the old one, fsync the
 * directory (the rename is only durable once the directory is on disk). */
#include "pins.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static GString *pins_render(const struct pp_pins *p)
{
	GString *s = g_string_new("# PeerPipe pinned gateways: NAME sha-256 FINGERPRINT\n"
	                          "# Managed by `peerpipe pin`; comments are not kept.\n");
	for (size_t i = 0; i < p->n; i++) {
		char fp[PP_FP_TEXT_MAX];
		if (pp_fingerprint_format(&p->v[i].fp, fp, sizeof(fp)) < 0)
			continue; /* cannot happen: pp_pins_add() checked it */
		g_string_append_printf(s, "%s %s\n", p->v[i].name, fp);
	}
	return s;
}

static int pins_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int pins_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Writes the temporary file; returns 0 or -errno with *step naming it. */
static int pins_write_tmp(int fd, const GString *s, const char **step)
{
	int rc;
	*step = "chmod";
	if (fchmod(fd, 0600) < 0)
		return -errno;
	*step = "write";
	if ((rc = pins_write_all(fd, s->str, s->len)) < 0)
		return rc;
	*step = "fsync";
	return fsync(fd) < 0 ? -errno : 0;
}

int pp_pins_save(const struct pp_pins *p, const char *path, char *err, size_t errlen)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	GString *s = pins_render(p);
	const char *step = "create a temporary file in";
	const char *what = dir;
	int rc;

	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 from the start */
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	what = tmp;
	rc = pins_write_tmp(fd, s, &step);
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		step = "close";
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		step = "rename over";
		what = path;
	}
	if (rc < 0)
		unlink(tmp);
	else if ((rc = pins_sync_dir(dir)) < 0) {
		step = "fsync";
		what = dir;
	}
out:
	if (rc < 0 && err && errlen)
		snprintf(err, errlen, "cannot %s %s: %s", step, what, strerror(-rc));
	g_string_free(s, TRUE);
	g_free(tmp);
	g_free(base);
	g_free(dir);
	return rc;
}
