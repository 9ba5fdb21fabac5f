/* SPDX-License-Identifier: Apache-2.0 */
/* pp_suricata against the real Suricata (ids mode), TAP on stdout.
 *
 *   this process, own netns A            forked server, own netns B
 *   [pp_suricata + Suricata on veth-a] 10.99.0.1 ---- 10.99.0.2 [TCP :7000]
 *
 * Both namespaces are anonymous (unshare): they, the veth and everything
 * in them vanish when the processes exit, whatever happens; the server and
 * Suricata get PR_SET_PDEATHSIG. Needs root and Suricata; otherwise the
 * whole test is skipped ("1..0 # SKIP").
 *
 * Checks: READY; "uid=0(root)" sent across the veth gives on_alert with
 * sid 2100498 and flow.src = the client socket's local address; the time
 * from send to on_alert is printed; kill -9 of Suricata gives DOWN then
 * READY again and alerts still arrive; close reaps the child. */
#include "peerpipe/ids/suricata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PP_SOURCE_ROOT
#error PP_SOURCE_ROOT
#endif

#define SRV_IP "10.99.0.2"
#define CLI_IP "10.99.0.1"
#define SRV_PORT 7000

static int tap_n, tap_failed;
static pid_t server_pid;
static char work_dir[] = "/tmp/pp-suricata-test.XXXXXX";
static bool work_made;

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	if (!cond)
		tap_failed++;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (work_made && !getenv("PP_KEEP"))
		nftw(work_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		printf("# command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* The forked server in its own namespace: accepts and reads until EOF. */
static void server_main(int to_parent, int from_parent)
{
	char c;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNET) != 0)
		_exit(1);
	if (write(to_parent, "n", 1) != 1 || read(from_parent, &c, 1) != 1)
		_exit(1);
	if (system("ip link set lo up && ip addr add " SRV_IP "/24 dev veth-b && "
	           "ip link set veth-b up") != 0)
		_exit(1);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SRV_PORT)};
	inet_pton(AF_INET, SRV_IP, &sa.sin_addr);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 8) != 0)
		_exit(1);
	if (write(to_parent, "l", 1) != 1)
		_exit(1);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		char buf[4096];
		if (fd < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
}

static int setup_net(void)
{
	int up[2], down[2];
	char c, cmd[256];

	if (unshare(CLONE_NEWNET) != 0 || pipe(up) != 0 || pipe(down) != 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0)
		server_main(up[1], down[0]);
	if (read(up[0], &c, 1) != 1)
		return -1;
	g_snprintf(cmd, sizeof(cmd),
	           "ip link set lo up && ip link add veth-a type veth peer name veth-b netns %d && "
	           "ip addr add " CLI_IP "/24 dev veth-a && ip link set veth-a up",
	           (int)server_pid);
	if (sh(cmd) != 0 || write(down[1], "g", 1) != 1 || read(up[0], &c, 1) != 1 || c != 'l')
		return -1;
	return 0;
}

/* ---- the module under test ------------------------------------------- */

static GMainContext *ctx;
static enum pp_suricata_state states[32];
static int n_states;
static struct pp_eve last_alert;
static int n_alerts;
static gint64 alert_at;
static bool closed;

static void on_state(void *user, enum pp_suricata_state st, const char *reason)
{
	(void)user;
	printf("# state %s: %s\n", pp_suricata_state_name(st), reason);
	if (n_states < (int)G_N_ELEMENTS(states))
		states[n_states++] = st;
}

static void on_alert(void *user, const struct pp_eve *e)
{
	(void)user;
	if (e->type != PP_EVE_ALERT)
		return;
	if (!n_alerts || !alert_at)
		alert_at = g_get_monotonic_time();
	last_alert = *e;
	n_alerts++;
}

static void on_closed(void *user)
{
	(void)user;
	closed = true;
}

static bool saw(enum pp_suricata_state st, int from)
{
	for (int i = from; i < n_states; i++)
		if (states[i] == st)
			return true;
	return false;
}

static gboolean tick_fn(gpointer d)
{
	(void)d;
	return G_SOURCE_CONTINUE;
}

static void iterate_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	GSource *tick = g_timeout_source_new(50); /* wakes the blocking iteration */
	g_source_set_callback(tick, tick_fn, NULL, NULL);
	g_source_attach(tick, ctx);
	while (!cond(arg) && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	g_source_destroy(tick);
	g_source_unref(tick);
}

struct want_state { enum pp_suricata_state st; int from; };
static bool cond_state(void *a)
{
	struct want_state *w = a;
	return saw(w->st, w->from) || saw(PP_SURICATA_FAILED, w->from);
}
static bool cond_alerts(void *a) { return n_alerts >= *(int *)a; }
static bool cond_closed(void *a) { (void)a; return closed; }

/* One connection with the test string; checks the alert it causes. */
static void attack(const char *label)
{
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(SRV_PORT)};
	struct sockaddr_in me;
	socklen_t mel = sizeof(me);
	char ip[INET_ADDRSTRLEN];
	int want = n_alerts + 1;
	const char msg[] = "uid=0(root) gid=0(root)\n";

	inet_pton(AF_INET, SRV_IP, &srv.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool conn = connect(fd, (struct sockaddr *)&srv, sizeof(srv)) == 0 &&
	            getsockname(fd, (struct sockaddr *)&me, &mel) == 0;
	ok(conn, "%s: connected across the veth", label);
	inet_ntop(AF_INET, &me.sin_addr, ip, sizeof(ip));
	alert_at = 0;
	gint64 t0 = g_get_monotonic_time();
	bool sent = send(fd, msg, sizeof(msg) - 1, 0) == (ssize_t)(sizeof(msg) - 1);
	iterate_until(cond_alerts, &want, 10000);
	ok(sent && n_alerts >= want, "%s: on_alert called", label);
	if (n_alerts >= want) {
		printf("# %s: send -> on_alert %.3f ms\n", label, (alert_at - t0) / 1000.0);
		ok(last_alert.alert.signature_id == 2100498, "%s: sid 2100498 (got %u: %s)", label,
		   last_alert.alert.signature_id, last_alert.alert.signature);
		ok(strcmp(last_alert.flow_src.ip, ip) == 0 && last_alert.flow_src.has_port &&
		       last_alert.flow_src.port == ntohs(me.sin_port),
		   "%s: flow.src %s:%u is the client socket %s:%u", label, last_alert.flow_src.ip,
		   last_alert.flow_src.port, ip, ntohs(me.sin_port));
	} else {
		ok(false, "%s: sid 2100498", label);
		ok(false, "%s: flow.src is the client socket", label);
	}
	close(fd);
}

int main(void)
{
	const char *bin = getenv("PP_SURICATA_BIN") ? getenv("PP_SURICATA_BIN") : "/usr/bin/suricata";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for network namespaces\n");
		return 0;
	}
	if (access(bin, X_OK) != 0 || system("command -v ip >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP %s or ip(8) not installed\n", bin);
		return 0;
	}
	atexit(cleanup);
	if (setup_net() != 0) {
		printf("1..0 # SKIP cannot build the namespaces\n");
		return 0;
	}
	if (!mkdtemp(work_dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	work_made = true;
	printf("1..17\n");

	ctx = g_main_context_new();
	const char *rules[] = {PP_SOURCE_ROOT "/deploy/suricata/peerpipe.rules", NULL};
	g_autofree char *wd = g_build_filename(work_dir, "ids", NULL);
	struct pp_suricata_config cfg = {
		.mode = PP_SURICATA_IDS, .interface = "veth-a", .work_dir = wd,
		.rule_files = rules, .binary = bin,
	};
	struct pp_suricata_callbacks cb = {.on_state = on_state, .on_alert = on_alert};
	struct pp_suricata *s = NULL;
	const char *why = NULL;
	int err = pp_suricata_new(ctx, &cfg, &cb, NULL, &s, &why);
	ok(err == 0, "pp_suricata_new (%s)", why ? why : "ok");
	if (err != 0)
		return 1;
	ok(pp_suricata_start(s) == 0, "pp_suricata_start");

	gint64 t = g_get_monotonic_time();
	struct want_state w = {PP_SURICATA_READY, 0};
	iterate_until(cond_state, &w, 60000);
	ok(saw(PP_SURICATA_READY, 0), "READY (after %.0f ms)", (g_get_monotonic_time() - t) / 1000.0);

	attack("first run");

	pid_t pid = pp_suricata_pid(s);
	int from = n_states;
	ok(pid > 0 && kill(pid, SIGKILL) == 0, "kill -9 the Suricata child (pid %d)", (int)pid);
	w = (struct want_state){PP_SURICATA_DOWN, from};
	iterate_until(cond_state, &w, 10000);
	ok(saw(PP_SURICATA_DOWN, from), "DOWN after the kill");
	t = g_get_monotonic_time();
	w = (struct want_state){PP_SURICATA_READY, from};
	iterate_until(cond_state, &w, 60000);
	ok(saw(PP_SURICATA_READY, from) && pp_suricata_pid(s) != pid,
	   "READY again with a new child (after %.0f ms)", (g_get_monotonic_time() - t) / 1000.0);

	attack("after restart");

	struct pp_suricata_stats st;
	pp_suricata_get_stats(s, &st);
	printf("# stats: alerts %" G_GUINT64_FORMAT " bad %" G_GUINT64_FORMAT " starts %"
	       G_GUINT64_FORMAT " eve connections %" G_GUINT64_FORMAT "\n",
	       st.alerts, st.bad_lines, st.starts, st.eve_connections);
	pid = pp_suricata_pid(s);
	pp_suricata_close(s, on_closed, NULL);
	iterate_until(cond_closed, NULL, 10000);
	ok(closed && kill(pid, 0) != 0 && errno == ESRCH && waitpid(pid, NULL, WNOHANG) < 0,
	   "close: child %d stopped and reaped", (int)pid);

	/* A rule file Suricata refuses: FAILED with Suricata's own message. */
	g_autofree char *bad = g_build_filename(work_dir, "bad.rules", NULL);
	g_file_set_contents(bad, "alert tcp any any -> any any (msg:\"x\"; nosuchkw; sid:1;)\n",
	                    -1, NULL);
	const char *bad_rules[] = {rules[0], bad, NULL};
	g_autofree char *wd2 = g_build_filename(work_dir, "ids-bad", NULL);
	cfg.work_dir = wd2;
	cfg.rule_files = bad_rules;
	closed = false;
	from = n_states;
	err = pp_suricata_new(ctx, &cfg, &cb, NULL, &s, &why);
	ok(err == 0 && pp_suricata_start(s) == 0, "second instance, bad rule file: started");
	w = (struct want_state){PP_SURICATA_FAILED, from};
	iterate_until(cond_state, &w, 30000);
	ok(saw(PP_SURICATA_FAILED, from) && !saw(PP_SURICATA_READY, from),
	   "bad rule file: FAILED, never READY");
	pp_suricata_close(s, on_closed, NULL);
	iterate_until(cond_closed, NULL, 10000);
	g_main_context_unref(ctx);
	return tap_failed ? 1 : 0;
}
