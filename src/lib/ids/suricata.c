/* SPDX-License-Identifier: Apache-2.0 */
/* Suricata as a supervised child: config check (-T), start, readiness
 * ("Engine started" on its console output), restart with backoff, stop;
 * or, attached to a sidecar, readiness and liveness from its records.
 * See include/peerpipe/ids/suricata.h and docs/ids.md. */
#include "suricata_int.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_LINE_MAX 1024
#define REASON_MAX 256
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define QUICK_RUN_US (30 * G_USEC_PER_SEC) /* a run shorter than this failed quickly */

enum child_kind { CHILD_TEST, CHILD_RUN };

struct out_pipe {
	struct pp_suricata *s;
	int fd;
	GSource *src;
	size_t len;
	char buf[OUT_LINE_MAX];
};

struct pp_suricata {
	GMainContext *ctx;
	struct pp_suricata_config cfg; /* strings below are our copies */
	char **rules;
	char *eve_path, *yaml_path;
	struct pp_suricata_callbacks cb;
	void *user;
	struct pp_suricata_eve *eve;
	struct pp_suricata_stats stats;

	enum pp_suricata_state state;
	enum child_kind kind;
	GPid pid;
	GSource *child_src, *restart_src, *ready_src, *kill_src;
	GSource *watch_src;            /* sidecar: the heartbeat check */
	gint64 last_record;            /* sidecar: monotonic time of its last EVE record */
	struct out_pipe *out[2];
	gint64 run_started;
	unsigned quick_failures, backoff_ms;
	char last_error[REASON_MAX]; /* first "E: " line of this child */

	bool closing;
	void (*done)(void *user);
	void *done_user;
};

static void spawn(struct pp_suricata *s, enum child_kind kind);

const char *pp_suricata_state_name(enum pp_suricata_state st)
{
	switch (st) {
	case PP_SURICATA_STOPPED: return "stopped";
	case PP_SURICATA_STARTING: return "starting";
	case PP_SURICATA_READY: return "ready";
	case PP_SURICATA_DOWN: return "down";
	case PP_SURICATA_FAILED: return "failed";
	}
	return "?";
}

static void set_state(struct pp_suricata *s, enum pp_suricata_state st, const char *reason)
{
	s->state = st;
	if (st == PP_SURICATA_FAILED || st == PP_SURICATA_DOWN)
		pp_warn("suricata: %s: %s", pp_suricata_state_name(st), reason);
	else
		pp_info("suricata: %s: %s", pp_suricata_state_name(st), reason);
	if (!s->closing && s->cb.on_state)
		s->cb.on_state(s->user, st, reason);
}

static GSource *add_timeout(struct pp_suricata *s, unsigned ms, GSourceFunc fn)
{
	GSource *src = g_timeout_source_new(ms);
	g_source_set_callback(src, fn, s, NULL);
	g_source_attach(src, s->ctx);
	return src;
}

/* ---- the child's console output ------------------------------------------ */

static void on_out_line(struct pp_suricata *s, char *line)
{
	if (s->kind == CHILD_RUN && s->state == PP_SURICATA_STARTING &&
	    strstr(line, "Engine started")) {
		pp_source_clear(&s->ready_src);
		set_state(s, PP_SURICATA_READY, "engine started");
	}
	if (g_str_has_prefix(line, "E: ")) {
		if (!s->last_error[0]) /* the first error is the cause */
			g_strlcpy(s->last_error, line, sizeof(s->last_error));
		pp_warn("suricata: %s", line);
	} else {
		pp_debug("suricata: %s", line);
	}
}

/* Reads what is there; false at end of file or on error. */
static bool out_read(struct out_pipe *o)
{
	for (;;) {
		ssize_t n = read(o->fd, o->buf + o->len, sizeof(o->buf) - 1 - o->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		o->len += (size_t)n;
		char *nl;
		while ((nl = memchr(o->buf, '\n', o->len))) {
			*nl = '\0';
			on_out_line(o->s, o->buf);
			o->len -= (size_t)(nl + 1 - o->buf);
			memmove(o->buf, nl + 1, o->len);
		}
		if (o->len == sizeof(o->buf) - 1) { /* over-long line: cut it */
			o->buf[o->len] = '\0';
			on_out_line(o->s, o->buf);
			o->len = 0;
		}
	}
}

static void out_close(struct out_pipe **op)
{
	struct out_pipe *o = *op;
	if (!o)
		return;
	pp_source_clear(&o->src);
	close(o->fd);
	free(o);
	*op = NULL;
}

static gboolean on_out_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct out_pipe *o = data;
	struct pp_suricata *s = o->s;
	(void)fd;
	(void)cond;
	if (out_read(o))
		return G_SOURCE_CONTINUE;
	for (int i = 0; i < 2; i++)
		if (s->out[i] == o)
			out_close(&s->out[i]); /* destroys the dispatching source: fine */
	return G_SOURCE_REMOVE;
}

static struct out_pipe *out_open(struct pp_suricata *s, int fd)
{
	struct out_pipe *o = calloc(1, sizeof(*o));
	if (!o) {
		close(fd);
		return NULL;
	}
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	o->s = s;
	o->fd = fd;
	o->src = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(o->src, G_SOURCE_FUNC(on_out_readable), o, NULL);
	g_source_attach(o->src, s->ctx);
	return o;
}

/* ---- lifecycle --------------------------------------------------------- */

static gboolean finalize(gpointer data)
{
	struct pp_suricata *s = data;
	void (*done)(void *) = s->done;
	void *done_user = s->done_user;

	pp_source_clear(&s->restart_src);
	pp_source_clear(&s->ready_src);
	pp_source_clear(&s->kill_src);
	pp_source_clear(&s->child_src);
	pp_source_clear(&s->watch_src);
	out_close(&s->out[0]);
	out_close(&s->out[1]);
	pp_suricata_eve_close(s->eve);
	g_strfreev(s->rules);
	g_free((char *)s->cfg.interface);
	g_free((char *)s->cfg.work_dir);
	g_free((char *)s->cfg.binary);
	g_free((char *)s->cfg.home_net);
	g_free((char *)s->cfg.ssh_ports);
	g_free(s->eve_path);
	g_free(s->yaml_path);
	g_main_context_unref(s->ctx);
	free(s);
	if (done)
		done(done_user);
	return G_SOURCE_REMOVE;
}

static void schedule_finalize(struct pp_suricata *s)
{
	GSource *src = g_idle_source_new();
	g_source_set_callback(src, finalize, s, NULL);
	g_source_attach(src, s->ctx);
	g_source_unref(src);
}

static gboolean on_restart(gpointer data)
{
	struct pp_suricata *s = data;
	g_source_unref(s->restart_src);
	s->restart_src = NULL;
	spawn(s, CHILD_RUN);
	return G_SOURCE_REMOVE;
}

static void run_failed(struct pp_suricata *s, const char *what)
{
	char reason[REASON_MAX * 2];
	gint64 ran = s->run_started ? g_get_monotonic_time() - s->run_started : 0;

	if (ran >= QUICK_RUN_US) {
		s->quick_failures = 0;
		s->backoff_ms = BACKOFF_FIRST_MS;
	}
	s->quick_failures++;
	g_snprintf(reason, sizeof(reason), "%s%s%s", what, s->last_error[0] ? "; last error: " : "",
	           s->last_error);
	if (s->quick_failures >= s->cfg.max_quick_failures) {
		char r2[sizeof(reason) + 64];
		g_snprintf(r2, sizeof(r2), "gave up after %u quick failures: %s",
		           s->quick_failures, reason);
		set_state(s, PP_SURICATA_FAILED, r2);
		return;
	}
	set_state(s, PP_SURICATA_DOWN, reason);
	s->restart_src = add_timeout(s, s->backoff_ms, on_restart);
	s->backoff_ms = MIN(s->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
	struct pp_suricata *s = data;
	char what[128];

	g_spawn_close_pid(pid);
	s->pid = 0;
	pp_source_clear(&s->child_src);
	pp_source_clear(&s->ready_src);
	pp_source_clear(&s->kill_src);
	for (int i = 0; i < 2; i++) { /* the dead child's last words */
		if (s->out[i])
			out_read(s->out[i]);
		out_close(&s->out[i]);
	}
	if (s->closing) {
		schedule_finalize(s);
		return;
	}
	if (WIFSIGNALED(status))
		g_snprintf(what, sizeof(what), "suricata%s killed by signal %d",
		           s->kind == CHILD_TEST ? " -T" : "", WTERMSIG(status));
	else
		g_snprintf(what, sizeof(what), "suricata%s exited with status %d",
		           s->kind == CHILD_TEST ? " -T" : "", WEXITSTATUS(status));
	if (s->kind == CHILD_TEST) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			spawn(s, CHILD_RUN);
			return;
		}
		char reason[REASON_MAX * 2];
		g_snprintf(reason, sizeof(reason), "configuration refused (%s): %s", what,
		           s->last_error[0] ? s->last_error : "no error message");
		set_state(s, PP_SURICATA_FAILED, reason);
		return;
	}
	run_failed(s, what);
}

static gboolean on_ready_timeout(gpointer data)
{
	struct pp_suricata *s = data;
	g_source_unref(s->ready_src);
	s->ready_src = NULL;
	g_snprintf(s->last_error, sizeof(s->last_error), "not ready after %u ms",
	           s->cfg.ready_timeout_ms);
	if (s->pid)
		kill(s->pid, SIGKILL); /* on_child_exit counts the failure */
	return G_SOURCE_REMOVE;
}

static void child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* the gateway dies: so does Suricata */
}

static void spawn(struct pp_suricata *s, enum child_kind kind)
{
	bool ips = s->cfg.mode == PP_SURICATA_IPS;
	g_autofree char *capture = ips ? g_strdup_printf("%u", (unsigned)s->cfg.nfq_queue)
	                               : g_strdup_printf("--af-packet=%s", s->cfg.interface);
	const char *argv_test[] = {s->cfg.binary, "-T", "-c", s->yaml_path, "-l", s->cfg.work_dir,
	                           "--init-errors-fatal", NULL};
	const char *argv_run[9];
	GError *gerr = NULL;
	int fds[2] = {-1, -1};
	size_t n = 0;

	argv_run[n++] = s->cfg.binary;
	argv_run[n++] = "-c";
	argv_run[n++] = s->yaml_path;
	argv_run[n++] = "-l";
	argv_run[n++] = s->cfg.work_dir;
	if (ips)
		argv_run[n++] = "-q"; /* NFQUEUE <capture>; ids: --af-packet=IF */
	argv_run[n++] = capture;
	argv_run[n++] = "--init-errors-fatal";
	argv_run[n] = NULL;

	s->kind = kind;
	s->last_error[0] = '\0';
	if (!g_spawn_async_with_pipes(s->cfg.work_dir,
	                              (char **)(kind == CHILD_TEST ? argv_test : argv_run), NULL,
	                              G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL |
	                                  G_SPAWN_CLOEXEC_PIPES,
	                              child_setup, NULL, &s->pid, NULL, &fds[0], &fds[1], &gerr)) {
		char reason[REASON_MAX];
		g_snprintf(reason, sizeof(reason), "cannot run %s: %s", s->cfg.binary, gerr->message);
		g_error_free(gerr);
		s->pid = 0;
		if (kind == CHILD_TEST)
			set_state(s, PP_SURICATA_FAILED, reason);
		else
			run_failed(s, reason);
		return;
	}
	for (int i = 0; i < 2; i++)
		s->out[i] = out_open(s, fds[i]);
	s->child_src = g_child_watch_source_new(s->pid);
	g_source_set_callback(s->child_src, G_SOURCE_FUNC(on_child_exit), s, NULL);
	g_source_attach(s->child_src, s->ctx);
	if (kind == CHILD_RUN) {
		s->stats.starts++;
		s->run_started = g_get_monotonic_time();
		s->ready_src = add_timeout(s, s->cfg.ready_timeout_ms, on_ready_timeout);
		set_state(s, PP_SURICATA_STARTING, "suricata started");
	}
}

/* ---- public ------------------------------------------------------------ */

static void on_eve(void *user, const struct pp_eve *e)
{
	struct pp_suricata *s = user;
	if (!s->closing && s->cb.on_alert)
		s->cb.on_alert(s->user, e);
}

/* ---- sidecar: readiness and liveness from its EVE records ------------- */

static void on_sidecar_activity(void *user, bool record, unsigned open)
{
	struct pp_suricata *s = user;

	if (s->closing)
		return;
	if (record) {
		s->last_record = g_get_monotonic_time();
		if (s->state != PP_SURICATA_READY)
			set_state(s, PP_SURICATA_READY, "the sidecar's Suricata is connected");
	} else if (open == 0 && s->state == PP_SURICATA_READY) {
		set_state(s, PP_SURICATA_DOWN, "the sidecar's Suricata closed its EVE connection");
	}
}

static gboolean on_sidecar_watch(gpointer data)
{
	struct pp_suricata *s = data;
	char reason[REASON_MAX];

	if (s->state == PP_SURICATA_READY &&
	    g_get_monotonic_time() - s->last_record > PP_SURICATA_SIDECAR_SILENCE_S * G_USEC_PER_SEC) {
		g_snprintf(reason, sizeof(reason), "no EVE record from the sidecar for %d s "
		           "(its heartbeat comes every %d s)", PP_SURICATA_SIDECAR_SILENCE_S,
		           PP_SURICATA_HEARTBEAT_S);
		set_state(s, PP_SURICATA_DOWN, reason);
	}
	return G_SOURCE_CONTINUE;
}

static int make_work_dir(const char *dir)
{
	struct stat st;
	if (g_mkdir_with_parents(dir, 0700) != 0)
		return -errno;
	if (lstat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (chmod(dir, 0700) != 0)
		return -errno;
	return 0;
}

int pp_suricata_new(GMainContext *ctx, const struct pp_suricata_config *cfg,
                    const struct pp_suricata_callbacks *cb, void *user,
                    struct pp_suricata **out, const char **why)
{
	struct pp_suricata *s = NULL;
	int err = pp_suricata_config_check(cfg, why);

	if (err != 0)
		goto out;
	err = make_work_dir(cfg->work_dir);
	if (err != 0) {
		if (why)
			*why = "cannot create the work directory";
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = PP_ERR_NOMEM;
		goto out;
	}
	s->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
	s->cfg = *cfg;
	s->cfg.interface = g_strdup(cfg->interface);
	s->cfg.work_dir = g_strdup(cfg->work_dir);
	s->cfg.binary = g_strdup(cfg->binary ? cfg->binary : "/usr/bin/suricata");
	s->cfg.home_net = g_strdup(cfg->home_net);
	s->cfg.ssh_ports = g_strdup(cfg->ssh_ports);
	s->rules = g_strdupv((char **)cfg->rule_files);
	s->cfg.rule_files = (const char *const *)s->rules;
	s->cfg.eve_socket = NULL;
	if (!s->cfg.max_quick_failures)
		s->cfg.max_quick_failures = 5;
	if (!s->cfg.ready_timeout_ms)
		s->cfg.ready_timeout_ms = 60000;
	if (!s->cfg.stop_grace_ms)
		s->cfg.stop_grace_ms = 5000;
	s->eve_path = cfg->eve_socket ? g_strdup(cfg->eve_socket)
	                              : g_build_filename(cfg->work_dir, "eve.sock", NULL);
	s->yaml_path = g_build_filename(cfg->work_dir, "suricata.yaml", NULL);
	s->cb = *cb;
	s->user = user;
	s->backoff_ms = BACKOFF_FIRST_MS;
	err = pp_suricata_eve_open(s->ctx, s->eve_path, &s->stats, on_eve, s, &s->eve);
	if (err != 0) {
		if (why)
			*why = "cannot bind the EVE socket";
		finalize(s);
		s = NULL;
		goto out;
	}
	if (s->cfg.sidecar)
		pp_suricata_eve_on_activity(s->eve, on_sidecar_activity);
	*out = s;
	s = NULL; /* transferred */
out:
	return err;
}

int pp_suricata_start(struct pp_suricata *s)
{
	const char *why = NULL;
	GError *gerr = NULL;

	if (s->state != PP_SURICATA_STOPPED || s->closing)
		return PP_ERR_STATE;
	if (s->cfg.mode == PP_SURICATA_IPS || s->cfg.sidecar) {
		char reason[REASON_MAX * 2];
		if (pp_suricata_rules_copy(&s->cfg, reason, sizeof(reason)) != 0) {
			set_state(s, PP_SURICATA_FAILED, reason);
			return 0;
		}
	}
	g_autofree char *yaml = pp_suricata_config_yaml(&s->cfg, s->eve_path, &why);
	if (!yaml)
		return PP_ERR_INVALID;
	if (!g_file_set_contents_full(s->yaml_path, yaml, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                              &gerr)) {
		pp_error("suricata: %s", gerr->message);
		g_error_free(gerr);
		return PP_ERR_CONFIG;
	}
	if (s->cfg.sidecar) {
		char reason[REASON_MAX * 2];
		if (pp_suricata_sidecar_write_args(&s->cfg, s->yaml_path, reason, sizeof(reason)) != 0) {
			set_state(s, PP_SURICATA_FAILED, reason);
			return 0;
		}
		s->watch_src = add_timeout(s, 1000, on_sidecar_watch);
		set_state(s, PP_SURICATA_STARTING, "waiting for the sidecar's Suricata "
		          "(suricata $(cat <work_dir>/sidecar.args))");
		return 0;
	}
	s->state = PP_SURICATA_STARTING;
	spawn(s, CHILD_TEST);
	return 0;
}

static gboolean on_kill_timeout(gpointer data)
{
	struct pp_suricata *s = data;
	g_source_unref(s->kill_src);
	s->kill_src = NULL;
	if (s->pid) {
		pp_warn("suricata: still running %u ms after SIGTERM: SIGKILL", s->cfg.stop_grace_ms);
		kill(s->pid, SIGKILL);
	}
	return G_SOURCE_REMOVE;
}

void pp_suricata_close(struct pp_suricata *s, void (*done)(void *user), void *user)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->done = done;
	s->done_user = user;
	s->state = PP_SURICATA_STOPPED;
	pp_source_clear(&s->restart_src);
	pp_source_clear(&s->ready_src);
	if (s->pid) {
		kill(s->pid, SIGTERM);
		s->kill_src = add_timeout(s, s->cfg.stop_grace_ms, on_kill_timeout);
	} else {
		schedule_finalize(s);
	}
}

enum pp_suricata_state pp_suricata_state(const struct pp_suricata *s)
{
	return s->state;
}

pid_t pp_suricata_pid(const struct pp_suricata *s)
{
	return s->kind == CHILD_RUN ? s->pid : 0;
}

void pp_suricata_get_stats(const struct pp_suricata *s, struct pp_suricata_stats *out)
{
	*out = s->stats;
}
