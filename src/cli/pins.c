/* SPDX-License-Identifier: Apache-2.0 */
/* The pins file: parse with limits, edit in memory, save atomically. */
#include "pins.h"

#include "peerpipe/config.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


bool pp_pins_name_valid(const char *name)
{
	/* The one name rule of the project (service, identity, room names). */
	return pp_tunnel_service_name_valid(name);
}

int pp_pins_parse_fp(const char *text, struct pp_fingerprint *fp)
{
	char buf[PP_FP_TEXT_MAX + 1];
	const char *p = text;
	size_t o = 0;

	/* Rebuild "name hex" with one space, refusing anything else. */
	while (g_ascii_isspace(*p))
		p++;
	while (*p && !g_ascii_isspace(*p) && o < sizeof(buf) - 1)
		buf[o++] = *p++;
	if (*p && !g_ascii_isspace(*p))
		return PP_ERR_INVALID; /* a word longer than any fingerprint */
	while (g_ascii_isspace(*p))
		p++;
	if (!*p) {
		/* One word: bare hex, taken as sha-256. */
		char word[PP_FP_TEXT_MAX + 1];
		int n;

		memcpy(word, buf, o);
		n = g_snprintf(buf, sizeof(buf), "sha-256 %.*s", (int)o, word);
		if (o == 0 || n < 0 || (size_t)n >= sizeof(buf))
			return PP_ERR_INVALID;
		o = (size_t)n;
	} else {
		buf[o++] = ' ';
		while (*p && !g_ascii_isspace(*p) && o < sizeof(buf) - 1)
			buf[o++] = *p++;
		while (g_ascii_isspace(*p))
			p++;
		if (*p)
			return PP_ERR_INVALID;
	}
	if (pp_fingerprint_parse(buf, o, fp) < 0 || !pp_fingerprint_pinnable(fp))
		return PP_ERR_INVALID;
	return 0;
}

static struct pp_pin *pins_find(const struct pp_pins *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

static int pins_append(struct pp_pins *p, const char *name, const struct pp_fingerprint *fp)
{
	if (p->n >= PP_PINS_MAX)
		return PP_ERR_TOO_BIG;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pp_pin *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return PP_ERR_NOMEM;
		p->v = v;
		p->cap = cap;
	}
	snprintf(p->v[p->n].name, sizeof(p->v[p->n].name), "%s", name);
	p->v[p->n].fp = *fp;
	p->n++;
	return 0;
}

/* One line without its newline: blank, comment or "NAME FINGERPRINT". */
static int pins_line(struct pp_pins *p, const char *file, int line, const char *s,
                     size_t n, char *err, size_t errlen)
{
	char buf[PP_PINS_LINE_MAX + 1], *name, *fp_text;
	struct pp_fingerprint fp;

	if (n > PP_PINS_LINE_MAX)
		return pp_cfg_fail(err, errlen, "%s:%d: line longer than %d bytes", file, line,
		                 PP_PINS_LINE_MAX);
	memcpy(buf, s, n);
	buf[n] = 0;
	name = g_strstrip(buf);
	if (!*name || *name == '#')
		return 0;
	fp_text = name + strcspn(name, " \t");
	if (!*fp_text)
		return pp_cfg_fail(err, errlen, "%s:%d: expected \"NAME sha-256 AB:CD:...\"", file, line);
	*fp_text++ = 0;
	if (!pp_pins_name_valid(name))
		return pp_cfg_fail(err, errlen, "%s:%d: \"%s\" is not a valid name (1..64 of A-Z a-z 0-9 . _ -)",
		                 file, line, name);
	if (pp_pins_parse_fp(fp_text, &fp) < 0)
		return pp_cfg_fail(err, errlen, "%s:%d: pin \"%s\": expected a sha-256 fingerprint (sha-256 AB:CD:..., 32 hex pairs)",
		                 file, line, name);
	if (pins_find(p, name))
		return pp_cfg_fail(err, errlen, "%s:%d: \"%s\" is pinned twice", file, line, name);
	if (pins_append(p, name, &fp) < 0)
		return pp_cfg_fail(err, errlen, "%s:%d: more than %d pins", file, line, PP_PINS_MAX);
	return 0;
}

int pp_pins_parse(const char *name, const char *text, size_t len, struct pp_pins *out,
                  char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int line = 1, rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > PP_PINS_FILE_MAX)
		return pp_cfg_fail(err, errlen, "%s: larger than %d bytes", name, PP_PINS_FILE_MAX);
	if (memchr(text, 0, len))
		return pp_cfg_fail(err, errlen, "%s: not a text file (NUL byte)", name);
	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		rc = pins_line(out, name, line++, p, (size_t)(eol - p), err, errlen);
		p = eol + 1;
	}
	if (rc < 0)
		pp_pins_free(out);
	return rc;
}

/* Reads at most PP_PINS_FILE_MAX bytes from fd into *text. */
static int pins_read_fd(int fd, char **text, size_t *len)
{
	size_t cap = PP_PINS_FILE_MAX + 1, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return PP_ERR_NOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			free(buf);
			return PP_ERR_TOO_BIG;
		}
	}
	*text = buf;
	*len = n;
	return 0;
}

int pp_pins_load(const char *path, struct pp_pins *out, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* nothing pinned yet */
	if (fd < 0)
		return pp_cfg_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = pp_cfg_fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = pp_cfg_fail(err, errlen, "%s: writable by group or others (mode %04o): "
		               "anyone who can write it chooses the gateways you trust; chmod 600 it",
		               path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = pins_read_fd(fd, &text, &len);
	if (rc == PP_ERR_TOO_BIG)
		rc = pp_cfg_fail(err, errlen, "%s: larger than %d bytes", path, PP_PINS_FILE_MAX);
	else if (rc < 0)
		rc = pp_cfg_fail(err, errlen, "%s: %s", path, pp_strerror(rc));
	else
		rc = pp_pins_parse(path, text, len, out, err, errlen);
out:
	free(text);
	close(fd);
	return rc;
}

void pp_pins_free(struct pp_pins *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int pp_pins_lookup(const struct pp_pins *p, const char *name, struct pp_fingerprint *out)
{
	const struct pp_pin *pin = pins_find(p, name);
	if (!pin)
		return PP_ERR_NOT_FOUND;
	*out = pin->fp;
	return 0;
}

int pp_pins_add(struct pp_pins *p, const char *name, const struct pp_fingerprint *fp,
                bool replace)
{
	if (!pp_pins_name_valid(name) || !pp_fingerprint_pinnable(fp))
		return PP_ERR_INVALID;
	struct pp_pin *pin = pins_find(p, name);
	if (!pin)
		return pins_append(p, name, fp);
	if (pp_fingerprint_equal(&pin->fp, fp))
		return 0;
	if (!replace)
		return PP_ERR_STATE; /* a changed key is what pinning must catch */
	pin->fp = *fp;
	return 0;
}

int pp_pins_remove(struct pp_pins *p, const char *name)
{
	struct pp_pin *pin = pins_find(p, name);
	if (!pin)
		return PP_ERR_NOT_FOUND;
	size_t i = (size_t)(pin - p->v);
	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*pin));
	p->n--;
	return 0;
}
