/* SPDX-License-Identifier: Apache-2.0 */
/* Rule copies in the work directory: ips mode's, where every `alert` rule
 * becomes `rejectboth`, and a sidecar's (verbatim, ids mode).
 *
 * In NFQUEUE mode an `alert` rule only reports; the packet would still
 * reach the service. `drop` would stop it, but leave both TCP ends waiting
 * (the gateway's socket retransmits into a flow Suricata keeps dropping).
 * `rejectboth` drops the packet and resets both ends at once, so the
 * service never sees the attack and the gateway learns of it immediately.
 * The operator's files are never touched: the copies live in the private
 * work directory and are made again at every start. */
#include "suricata_int.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACTION_FROM "alert"
#define ACTION_TO "rejectboth"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_word_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* Whether the rule text [p, end) has the `noalert` keyword (alone or as
 * flowbits:noalert, xbits..., with any spacing) outside quoted strings. */
static bool has_noalert(const char *p, const char *end)
{
	static const char kw[] = "noalert";
	const size_t n = sizeof(kw) - 1;
	bool quoted = false;

	for (const char *q = p; q < end; q++) {
		if (*q == '\\' && q + 1 < end) {
			q++; /* escaped: \" \; \\ */
			continue;
		}
		if (*q == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted || (size_t)(end - q) < n || g_ascii_strncasecmp(q, kw, n) != 0)
			continue;
		if ((q > p && is_word_char(q[-1])) || (q + n < end && is_word_char(q[n])))
			continue;
		return true;
	}
	return false;
}

/* One line [p, end) (without its line end): the copy, rewritten when it is
 * an alert rule. */
static bool rewrite_line(const char *p, const char *end, GString *out)
{
	const char *tok = p;
	size_t n = strlen(ACTION_FROM);

	while (tok < end && is_blank(*tok))
		tok++;
	if (tok < end && *tok != '#' && (size_t)(end - tok) > n &&
	    g_ascii_strncasecmp(tok, ACTION_FROM, n) == 0 && is_blank(tok[n]) &&
	    !has_noalert(tok + n, end)) {
		g_string_append_len(out, p, tok - p);
		g_string_append(out, ACTION_TO);
		g_string_append_len(out, tok + n, end - (tok + n));
		return true;
	}
	g_string_append_len(out, p, end - p);
	return false;
}

int pp_suricata_rules_ips(const char *in, size_t len, GString *out, size_t *rewritten,
                          const char **why)
{
	const char *p = in, *end = in + len;
	bool continued = false; /* the previous line ended with a backslash */
	size_t count = 0;

	if (len > PP_SURICATA_RULES_FILE_MAX) {
		if (why)
			*why = "rule file over the 64 MiB limit";
		return PP_ERR_TOO_BIG;
	}
	if (len && memchr(in, '\0', len)) {
		if (why)
			*why = "rule file has a NUL byte (not a text file)";
		return PP_ERR_INVALID;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *body_end = eol; /* without a CR before the LF */

		if (body_end > p && body_end[-1] == '\r')
			body_end--;
		if (continued)
			g_string_append_len(out, p, body_end - p);
		else if (rewrite_line(p, body_end, out))
			count++;
		g_string_append_len(out, body_end, eol - body_end);
		if (nl)
			g_string_append_c(out, '\n');
		/* Suricata joins a line ending in "\" with the next one */
		continued = body_end > p && body_end[-1] == '\\';
		p = nl ? nl + 1 : end;
	}
	if (rewritten)
		*rewritten = count;
	if (why)
		*why = NULL;
	return 0;
}

char *pp_suricata_rules_ips_path(const char *work_dir, size_t i, const char *src)
{
	g_autofree char *base = g_path_get_basename(src);
	return g_strdup_printf("%s/rules-ips/%02zu-%s", work_dir, i, base);
}

/* A sidecar in ids mode reads verbatim copies: it shares the work
 * directory, not the gateway's file system. */
static char *rules_sidecar_path(const char *work_dir, size_t i, const char *src)
{
	g_autofree char *base = g_path_get_basename(src);
	return g_strdup_printf("%s/rules-ids/%02zu-%s", work_dir, i, base);
}

char *pp_suricata_rules_copy_path(const struct pp_suricata_config *cfg, size_t i)
{
	if (cfg->mode == PP_SURICATA_IPS)
		return pp_suricata_rules_ips_path(cfg->work_dir, i, cfg->rule_files[i]);
	if (cfg->sidecar)
		return rules_sidecar_path(cfg->work_dir, i, cfg->rule_files[i]);
	return NULL;
}

/* Reads a regular file of at most max bytes. 0 or -errno/PP_ERR_TOO_BIG/
 * PP_ERR_INVALID (not a regular file). */
static int read_bounded(const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = PP_ERR_INVALID;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		err = PP_ERR_TOO_BIG;
		goto out;
	}
	/* One byte more than the size: a file that grew meanwhile is seen. */
	buf = g_malloc((size_t)st.st_size + 2);
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			err = PP_ERR_TOO_BIG; /* growing while we read: try again later */
			goto out;
		}
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL; /* transferred */
out:
	g_free(buf);
	close(fd);
	return err;
}

int pp_suricata_rules_copy(const struct pp_suricata_config *cfg, char *reason, size_t cap)
{
	bool ips = cfg->mode == PP_SURICATA_IPS;
	g_autofree char *dir = g_build_filename(cfg->work_dir, ips ? "rules-ips" : "rules-ids", NULL);
	int err = 0;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		err = -errno;
		g_snprintf(reason, cap, "cannot create %s: %s", dir, g_strerror(errno));
		return err;
	}
	for (size_t i = 0; cfg->rule_files[i]; i++) {
		const char *src = cfg->rule_files[i];
		g_autofree char *dst = pp_suricata_rules_copy_path(cfg, i);
		g_autoptr(GString) out = NULL;
		g_autofree char *data = NULL;
		const char *why = NULL;
		GError *gerr = NULL;
		size_t len = 0, n = 0;

		err = read_bounded(src, PP_SURICATA_RULES_FILE_MAX, &data, &len);
		if (err != 0) {
			g_snprintf(reason, cap, "rule file %s: %s", src,
			           err == PP_ERR_TOO_BIG ? "over the 64 MiB limit of ips mode"
			           : err == PP_ERR_INVALID ? "not a regular file" : g_strerror(-err));
			return err;
		}
		out = g_string_sized_new(len + len / 16 + 64);
		if (ips)
			err = pp_suricata_rules_ips(data, len, out, &n, &why);
		else
			g_string_append_len(out, data, (gssize)len);
		if (err != 0) {
			g_snprintf(reason, cap, "rule file %s: %s", src, why);
			return err;
		}
		if (!g_file_set_contents_full(dst, out->str, (gssize)out->len,
		                              G_FILE_SET_CONTENTS_CONSISTENT, 0600, &gerr)) {
			g_snprintf(reason, cap, "cannot write %s: %s", dst, gerr->message);
			g_error_free(gerr);
			return PP_ERR_CONFIG;
		}
		if (ips)
			pp_info("suricata: ips mode: %s -> %s (%zu alert rules as rejectboth)", src, dst, n);
		else
			pp_info("suricata: sidecar: %s -> %s", src, dst);
	}
	return 0;
}
