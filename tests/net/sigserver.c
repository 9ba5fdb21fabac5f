/* SPDX-License-Identifier: Apache-2.0 */
#include "sigserver.h"
#include "tmptree.h"

#include "peerpipe/jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define LISTEN_TIMEOUT_MS 10000

struct SigServer {
	char *dir;
	char *secret;          /* 64 hex characters */
	char *secret_path;
	char *tls_cert, *tls_key;
	GPtrArray *args;       /* extra arguments */
	GPtrArray *files;      /* paths written in dir */
	GPid pid;
	int status;            /* wait status once reaped */
	gboolean reaped;
	guint16 port;
	char *listen_line;
	GThread *out_thread, *err_thread;
	int out_fd, err_fd;
	GMutex lock;
	GCond cond;
	GString *out, *err;
	gboolean out_eof;
};

static const char *signal_bin(void)
{
	const char *bin = g_getenv("PP_SIGNAL_BIN");
	if (!bin || !*bin)
		g_error("PP_SIGNAL_BIN is not set: run the tests through meson");
	if (!g_file_test(bin, G_FILE_TEST_IS_EXECUTABLE))
		g_error("PP_SIGNAL_BIN=%s is not an executable", bin);
	return bin;
}

SigServer *sig_server_new(void)
{
	SigServer *s = g_new0(SigServer, 1);
	GError *err = NULL;
	s->dir = g_dir_make_tmp("pp-sigtest-XXXXXX", &err);
	g_assert_no_error(err);
	GString *hex = g_string_new(NULL);
	for (int i = 0; i < 32; i++)
		g_string_append_printf(hex, "%02x", g_random_int() & 0xff);
	s->secret = g_string_free(hex, FALSE);
	s->args = g_ptr_array_new_with_free_func(g_free);
	s->files = g_ptr_array_new_with_free_func(g_free);
	char *content = g_strconcat(s->secret, "\n", NULL);
	s->secret_path = g_strdup(sig_server_write_file(s, "jwt.secret", content, -1));
	g_free(content);
	s->out_fd = s->err_fd = -1;
	g_mutex_init(&s->lock);
	g_cond_init(&s->cond);
	s->out = g_string_new(NULL);
	s->err = g_string_new(NULL);
	return s;
}

void sig_server_share_secret(SigServer *s, SigServer *from)
{
	GError *err = NULL;
	g_assert_cmpint(s->pid, ==, 0);
	g_free(s->secret);
	s->secret = g_strdup(from->secret);
	char *content = g_strconcat(s->secret, "\n", NULL);
	g_file_set_contents_full(s->secret_path, content, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &err);
	g_assert_no_error(err);
	g_free(content);
}

void sig_server_add_args(SigServer *s, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(s->args, g_strdup(a));
	va_end(ap);
}

void sig_server_set_tls(SigServer *s, const char *cert, const char *key)
{
	g_free(s->tls_cert);
	g_free(s->tls_key);
	s->tls_cert = g_strdup(cert);
	s->tls_key = g_strdup(key);
}

const char *sig_server_write_file(SigServer *s, const char *name,
                                  const void *data, gssize len)
{
	GError *err = NULL;
	char *path = g_build_filename(s->dir, name, NULL);
	g_file_set_contents_full(path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &err);
	g_assert_no_error(err);
	g_ptr_array_add(s->files, path);
	return path;
}

const char *sig_server_dir(SigServer *s)
{
	return s->dir;
}

static gpointer out_reader(gpointer data)
{
	SigServer *s = data;
	char buf[4096];
	for (;;) {
		gssize r = read(s->out_fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		g_mutex_lock(&s->lock);
		if (r <= 0) {
			s->out_eof = TRUE;
			g_cond_broadcast(&s->cond);
			g_mutex_unlock(&s->lock);
			break;
		}
		g_string_append_len(s->out, buf, r);
		g_cond_broadcast(&s->cond);
		g_mutex_unlock(&s->lock);
	}
	return NULL;
}

static gpointer err_reader(gpointer data)
{
	SigServer *s = data;
	char buf[4096];
	for (;;) {
		gssize r = read(s->err_fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		g_mutex_lock(&s->lock);
		g_string_append_len(s->err, buf, r);
		g_mutex_unlock(&s->lock);
		/* echo to our stderr: meson keeps it in the test log */
		for (gssize off = 0; off < r;) {
			gssize w = write(STDERR_FILENO, buf + off, (size_t)(r - off));
			if (w <= 0)
				break;
			off += w;
		}
	}
	return NULL;
}

/* fork + exec with stdout/stderr on pipes; the child dies with us. */
static GPid spawn(char **argv, int *out_fd, int *err_fd)
{
	int po[2], pe[2];
	g_assert_cmpint(pipe2(po, O_CLOEXEC), ==, 0);
	g_assert_cmpint(pipe2(pe, O_CLOEXEC), ==, 0);
	pid_t ppid = getpid();
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(127);
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	*out_fd = po[0];
	*err_fd = pe[0];
	return pid;
}

static gboolean parse_listen_line(const char *line, gboolean tls, guint16 *port)
{
	GRegex *re = g_regex_new("^peerpipe-signal: listening on (wss?)://127\\.0\\.0\\.1:([0-9]{1,5})/v1/ws$",
	                         0, 0, NULL);
	GMatchInfo *mi = NULL;
	gboolean ok = g_regex_match(re, line, 0, &mi);
	if (ok) {
		char *scheme = g_match_info_fetch(mi, 1);
		char *p = g_match_info_fetch(mi, 2);
		guint64 v = g_ascii_strtoull(p, NULL, 10);
		ok = strcmp(scheme, tls ? "wss" : "ws") == 0 && v > 0 && v < 65536;
		*port = (guint16)v;
		g_free(scheme);
		g_free(p);
	}
	g_match_info_free(mi);
	g_regex_unref(re);
	return ok;
}

void sig_server_run(SigServer *s)
{
	g_assert_cmpint(s->pid, ==, 0);
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)signal_bin());
	g_ptr_array_add(argv, "--listen");
	g_ptr_array_add(argv, "127.0.0.1:0");
	if (s->tls_cert) {
		g_ptr_array_add(argv, "--tls-cert");
		g_ptr_array_add(argv, s->tls_cert);
		g_ptr_array_add(argv, "--tls-key");
		g_ptr_array_add(argv, s->tls_key);
	} else {
		g_ptr_array_add(argv, "--insecure");
	}
	g_ptr_array_add(argv, "--jwt-secret-file");
	g_ptr_array_add(argv, s->secret_path);
	for (guint i = 0; i < s->args->len; i++)
		g_ptr_array_add(argv, s->args->pdata[i]);
	g_ptr_array_add(argv, NULL);
	char *cmd = g_strjoinv(" ", (char **)argv->pdata);
	g_test_message("starting: %s", cmd);
	g_free(cmd);

	s->pid = spawn((char **)argv->pdata, &s->out_fd, &s->err_fd);
	g_ptr_array_free(argv, TRUE);
	s->out_thread = g_thread_new("sig-stdout", out_reader, s);
	s->err_thread = g_thread_new("sig-stderr", err_reader, s);

	gint64 deadline = g_get_monotonic_time() + LISTEN_TIMEOUT_MS * 1000;
	char *line = NULL;
	g_mutex_lock(&s->lock);
	for (;;) {
		char *nl = strchr(s->out->str, '\n');
		if (nl) {
			line = g_strndup(s->out->str, (gsize)(nl - s->out->str));
			break;
		}
		if (s->out_eof || !g_cond_wait_until(&s->cond, &s->lock, deadline))
			break;
	}
	char *out_copy = g_strdup(s->out->str);
	char *err_copy = g_strdup(s->err->str);
	g_mutex_unlock(&s->lock);
	if (!line || !parse_listen_line(line, s->tls_cert != NULL, &s->port)) {
		int st = sig_server_stop(s, 2000);
		g_error("peerpipe-signal did not print a valid 'listening on' line within %d ms "
		        "(exit status 0x%x)\nstdout: %s\nstderr: %s",
		        LISTEN_TIMEOUT_MS, st, out_copy, err_copy);
	}
	g_free(out_copy);
	g_free(err_copy);
	s->listen_line = line;
	g_test_message("server pid %d on port %u", (int)s->pid, s->port);
}

SigServer *sig_server_start(const char *arg, ...)
{
	SigServer *s = sig_server_new();
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(s->args, g_strdup(a));
	va_end(ap);
	sig_server_run(s);
	return s;
}

guint16 sig_server_port(SigServer *s)
{
	return s->port;
}

GPid sig_server_pid(SigServer *s)
{
	return s->pid;
}

const char *sig_server_listen_line(SigServer *s)
{
	return s->listen_line;
}

char *sig_server_log(SigServer *s)
{
	g_mutex_lock(&s->lock);
	char *c = g_strdup(s->err->str);
	g_mutex_unlock(&s->lock);
	return c;
}

static gboolean reap(SigServer *s, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (!s->reaped) {
		int st;
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			s->status = st;
			s->reaped = TRUE;
			break;
		}
		if (r < 0 && errno != EINTR)
			g_error("waitpid: %s", g_strerror(errno));
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(5000);
	}
	return TRUE;
}

gboolean sig_server_alive(SigServer *s)
{
	return s->pid > 0 && !reap(s, 0);
}

static void join_readers(SigServer *s)
{
	if (s->out_thread)
		g_thread_join(s->out_thread);
	if (s->err_thread)
		g_thread_join(s->err_thread);
	s->out_thread = s->err_thread = NULL;
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->out_fd = s->err_fd = -1;
}

int sig_server_stop(SigServer *s, int timeout_ms)
{
	g_assert_cmpint(s->pid, >, 0);
	if (!s->reaped)
		kill(s->pid, SIGTERM);
	int rc;
	if (reap(s, timeout_ms)) {
		rc = s->status;
	} else {
		kill(s->pid, SIGKILL);
		reap(s, 5000);
		rc = -1;
	}
	join_readers(s);
	return rc;
}

int sig_server_wait(SigServer *s, int timeout_ms)
{
	if (!reap(s, timeout_ms))
		return -1;
	join_readers(s);
	return s->status;
}

static char *describe_status(int st)
{
	if (st == -1)
		return g_strdup("did not exit within the timeout after SIGTERM (killed)");
	if (WIFEXITED(st))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(st), g_strsignal(WTERMSIG(st)));
	return g_strdup_printf("wait status 0x%x", st);
}

void sig_server_stop_clean(SigServer *s)
{
	gboolean was_alive = sig_server_alive(s);
	int st = sig_server_stop(s, 10000);
	char *what = describe_status(st);
	if (!was_alive)
		g_test_message("server had already exited before SIGTERM: %s", what);
	g_assert_true(was_alive);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		g_test_message("server stop: %s", what);
	g_free(what);
	g_assert_cmpint(st, !=, -1);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	sig_server_free(s);
}

void sig_server_free(SigServer *s)
{
	if (!s)
		return;
	if (s->pid > 0 && !s->reaped) {
		kill(s->pid, SIGKILL);
		reap(s, 5000);
	}
	join_readers(s);
	tmptree_remove(s->dir);
	g_free(s->dir);
	g_free(s->secret);
	g_free(s->secret_path);
	g_free(s->tls_cert);
	g_free(s->tls_key);
	g_free(s->listen_line);
	g_ptr_array_unref(s->args);
	g_ptr_array_unref(s->files);
	g_string_free(s->out, TRUE);
	g_string_free(s->err, TRUE);
	g_mutex_clear(&s->lock);
	g_cond_clear(&s->cond);
	g_free(s);
}

int sig_run_sync(const char *const *args, int timeout_ms, char **out, char **err)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)signal_bin());
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	int fds[2];
	GPid pid = spawn((char **)argv->pdata, &fds[0], &fds[1]);
	g_ptr_array_free(argv, TRUE);

	GString *bufs[2] = { g_string_new(NULL), g_string_new(NULL) };
	gboolean open_[2] = { TRUE, TRUE };
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (open_[0] || open_[1]) {
		struct pollfd p[2];
		int n = 0, map[2];
		for (int i = 0; i < 2; i++)
			if (open_[i]) {
				p[n] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
				map[n++] = i;
			}
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			break;
		int r = poll(p, (nfds_t)n, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (int k = 0; k < n; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			gssize got = read(fds[map[k]], buf, sizeof(buf));
			if (got <= 0)
				open_[map[k]] = FALSE;
			else
				g_string_append_len(bufs[map[k]], buf, got);
		}
	}
	int st = -1;
	gint64 left = (deadline - g_get_monotonic_time()) / 1000;
	gboolean done = FALSE;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			done = TRUE;
			break;
		}
		if (left-- <= 0)
			break;
		g_usleep(1000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		st = -1;
	}
	close(fds[0]);
	close(fds[1]);
	g_test_message("sync run: status 0x%x\nstdout: %s\nstderr: %s", st, bufs[0]->str, bufs[1]->str);
	if (out)
		*out = g_string_free(bufs[0], FALSE);
	else
		g_string_free(bufs[0], TRUE);
	if (err)
		*err = g_string_free(bufs[1], FALSE);
	else
		g_string_free(bufs[1], TRUE);
	return st;
}

const char *sig_server_secret(SigServer *s)
{
	return s->secret;
}

const char *sig_server_secret_path(SigServer *s)
{
	return s->secret_path;
}

/* ---- tokens -------------------------------------------------------------- */

static gint64 now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

char *sig_token_times(SigServer *s, const char *sub, const char *room,
                      const char *role, gint64 exp, gint64 nbf, gint64 iat)
{
	struct pp_jwt_claims c = { 0 };
	g_assert_cmpuint(strlen(sub), <=, PP_NAME_MAX);
	g_assert_cmpuint(strlen(room), <=, PP_NAME_MAX);
	g_strlcpy(c.sub, sub, sizeof(c.sub));
	g_strlcpy(c.room, room, sizeof(c.room));
	g_assert_cmpint(pp_role_parse(role, &c.role), ==, 0);
	c.exp = exp;
	c.nbf = nbf;
	c.iat = iat;
	char *tok = NULL;
	g_assert_cmpint(pp_jwt_sign((const uint8_t *)s->secret, strlen(s->secret), &c, &tok), ==, 0);
	char *r = g_strdup(tok);
	free(tok);
	return r;
}

char *sig_token(SigServer *s, const char *sub, const char *room, const char *role)
{
	gint64 now = now_s();
	return sig_token_times(s, sub, room, role, now + 600, 0, now);
}

char *sig_b64url(const void *data, gsize len)
{
	char *b = g_base64_encode(data, len);
	for (char *p = b; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	char *eq = strchr(b, '=');
	if (eq)
		*eq = '\0';
	return b;
}

char *sig_token_craft(const void *key, gsize keylen, const char *header_json,
                      const char *payload_json, const char *md)
{
	char *h = sig_b64url(header_json, strlen(header_json));
	char *p = sig_b64url(payload_json, strlen(payload_json));
	char *signing = g_strconcat(h, ".", p, NULL);
	char *sig;
	if (md) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		const EVP_MD *m = strcmp(md, "sha512") == 0 ? EVP_sha512() : EVP_sha256();
		g_assert_nonnull(HMAC(m, key, (int)keylen, (const unsigned char *)signing,
		                      strlen(signing), mac, &maclen));
		sig = sig_b64url(mac, maclen);
	} else {
		sig = g_strdup("");
	}
	char *tok = g_strconcat(signing, ".", sig, NULL);
	g_free(h);
	g_free(p);
	g_free(signing);
	g_free(sig);
	return tok;
}

static char *claims_json(const char *sub, const char *room, const char *role,
                         gint64 exp, gint64 nbf, gint64 iat)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "sub", sub, "room", room, "role", role);
	if (exp)
		json_object_set_new(o, "exp", json_integer(exp));
	if (nbf)
		json_object_set_new(o, "nbf", json_integer(nbf));
	if (iat)
		json_object_set_new(o, "iat", json_integer(iat));
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char *r = g_strdup(t);
	free(t);
	return r;
}

const char *sig_bad_token_name(SigBadToken kind)
{
	static const char *const names[SIG_BAD_COUNT] = {
		"alg-none", "wrong-secret", "expired", "nbf-future", "other-room",
		"bad-role", "hs512", "no-exp", "sub-chars", "tampered", "garbage",
	};
	return names[kind];
}

char *sig_token_bad(SigServer *s, SigBadToken kind, const char *sub,
                    const char *room, const char *role)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *key = s->secret;
	gsize keylen = strlen(key);
	gint64 now = now_s();
	char *payload = NULL, *tok = NULL;

	switch (kind) {
	case SIG_BAD_ALG_NONE:
		payload = claims_json(sub, room, role, now + 600, 0, now);
		tok = sig_token_craft(key, keylen, "{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL);
		break;
	case SIG_BAD_WRONG_SECRET: {
		static const char other[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		payload = claims_json(sub, room, role, now + 600, 0, now);
		tok = sig_token_craft(other, strlen(other), hs256, payload, "sha256");
		break;
	}
	case SIG_BAD_EXPIRED:
		payload = claims_json(sub, room, role, now - 3600, 0, now - 7200);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_NBF_FUTURE:
		payload = claims_json(sub, room, role, now + 7200, now + 3600, now);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_OTHER_ROOM:
		payload = claims_json(sub, strcmp(room, "elsewhere") ? "elsewhere" : "elsewhere2",
		                      role, now + 600, 0, now);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_ROLE:
		payload = claims_json(sub, room, "admin", now + 600, 0, now);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_HS512:
		payload = claims_json(sub, room, role, now + 600, 0, now);
		tok = sig_token_craft(key, keylen, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, "sha512");
		break;
	case SIG_BAD_NO_EXP:
		payload = claims_json(sub, room, role, 0, 0, now);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_SUB_CHARS:
		payload = claims_json("bad name/x", room, role, now + 600, 0, now);
		tok = sig_token_craft(key, keylen, hs256, payload, "sha256");
		break;
	case SIG_BAD_SIG_TAMPERED: {
		/* a good desktop token whose payload is swapped for a gateway one */
		payload = claims_json(sub, room, "desktop", now + 600, 0, now);
		char *good = sig_token_craft(key, keylen, hs256, payload, "sha256");
		char *evil = claims_json(sub, room, "gateway", now + 600, 0, now);
		char *evil64 = sig_b64url(evil, strlen(evil));
		char **parts = g_strsplit(good, ".", 3);
		tok = g_strjoin(".", parts[0], evil64, parts[2], NULL);
		g_strfreev(parts);
		g_free(good);
		g_free(evil);
		g_free(evil64);
		break;
	}
	case SIG_BAD_GARBAGE:
		tok = g_strdup("this-is.not-a.jwt!");
		break;
	default:
		g_assert_not_reached();
	}
	g_free(payload);
	return tok;
}

void sig_make_cert(const char *dir, const char *stem, char **cert, char **key)
{
	char *c = g_strdup_printf("%s/%s.crt", dir, stem);
	char *k = g_strdup_printf("%s/%s.key", dir, stem);
	const char *argv[] = {
		"openssl", "req", "-x509", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", k, "-out", c, "-days", "2",
		"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
		NULL,
	};
	char *out = NULL, *err = NULL;
	int st = 0;
	GError *e = NULL;
	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
	             &out, &err, &st, &e);
	g_assert_no_error(e);
	if (!g_spawn_check_wait_status(st, NULL))
		g_error("openssl req failed: %s", err);
	g_free(out);
	g_free(err);
	*cert = c;
	*key = k;
}
