/* SPDX-License-Identifier: Apache-2.0 */
/* pp_suricata against the real Suricata (ids and ips mode), TAP on stdout.
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
 * READY again and alerts still arrive; close reaps the child.
 *
 * ips mode (NFQUEUE): pp_nfq_rules installs the netfilter rules (twice:
 * the second replaces the first), Suricata reads the queue; a socket
 * without the mark is not inspected (the server gets the test string); a
 * marked one gets a blocked alert, a reset, and the server never gets the
 * string; with fail-open a live connection goes on while Suricata is
 * killed and the restarted one still blocks the string on it; close and
 * pp_nfq_rules_remove leave nothing behind. The server reports what each
 * connection brought (by the client's port). */
#include "peerpipe/ids/nfq_rules.h"
#include "peerpipe/ids/suricata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
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
#define IPS_QUEUE 3599
#define IPS_MARK 0x50500000u
#define ATTACK "uid=0(root) gid=0(root)\n"

/* What the server got on one connection. */
struct srv_report {
	uint16_t port;      /* the client's */
	uint8_t saw_attack; /* ATTACK arrived */
	uint64_t bytes;
};
static int report_fd = -1;

static int tap_n, tap_failed;
static pid_t server_pid;
static char work_dir[] = "/tmp/pp-suricata-test.XXXXXX";
static bool work_made;

static void ok(bool cond, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
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

/* The forked server in its own namespace: accepts, reads until EOF or a
 * reset, and reports each connection to the parent. */
static void server_main(int to_parent, int from_parent, int reports)
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
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		int fd = accept(ls, (struct sockaddr *)&peer, &pl);
		char buf[4096], seen[8192];
		size_t kept = 0;
		ssize_t n;
		struct srv_report r = {.port = ntohs(peer.sin_port)};
		if (fd < 0)
			continue;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			r.bytes += (uint64_t)n;
			size_t k = MIN((size_t)n, sizeof(seen) - kept);
			memcpy(seen + kept, buf, k);
			kept += k;
		}
		r.saw_attack = memmem(seen, kept, ATTACK, strlen(ATTACK)) != NULL;
		close(fd);
		if (write(reports, &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
	}
}

/* The server's report on the connection from port (others are skipped). */
static bool wait_report(uint16_t port, struct srv_report *out, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (g_get_monotonic_time() < end) {
		struct pollfd pfd = {.fd = report_fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(report_fd, out, sizeof(*out)) != (ssize_t)sizeof(*out))
			return false;
		if (out->port == port)
			return true;
	}
	return false;
}

static int setup_net(void)
{
	int up[2], down[2], rep[2];
	char c, cmd[256];

	if (unshare(CLONE_NEWNET) != 0 || pipe(up) != 0 || pipe(down) != 0 || pipe(rep) != 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0)
		server_main(up[1], down[0], rep[1]);
	report_fd = rep[0];
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
static uint16_t alert_ports[64]; /* flow.src ports of the alerts */
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
	if (n_alerts < (int)G_N_ELEMENTS(alert_ports))
		alert_ports[n_alerts] = e->flow_src.port;
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

/* ---- sidecar ---------------------------------------------------------- */

/* The gateway side attached to a Suricata it does not run: this test
 * plays the container runtime and starts it from sidecar.args. */
static void sidecar_checks(const char *bin, const char *const *rules)
{
	g_autofree char *wd = g_build_filename(work_dir, "sidecar", NULL);
	g_autofree char *args_path = g_build_filename(wd, "sidecar.args", NULL);
	g_autofree char *copy = g_build_filename(wd, "rules-ids", "00-peerpipe.rules", NULL);
	g_autofree char *args = NULL;
	struct pp_suricata_config cfg = {
		.mode = PP_SURICATA_IDS, .interface = "veth-a", .work_dir = wd,
		.rule_files = rules, .binary = bin, .sidecar = true,
	};
	struct pp_suricata_callbacks cb = {.on_state = on_state, .on_alert = on_alert};
	struct pp_suricata *s = NULL;
	const char *why = NULL;
	GPid pid = 0;
	int from = n_states;

	ok(pp_suricata_new(ctx, &cfg, &cb, NULL, &s, &why) == 0 && pp_suricata_start(s) == 0,
	   "sidecar: started (%s)", why ? why : "ok");
	ok(pp_suricata_state(s) == PP_SURICATA_STARTING && pp_suricata_pid(s) == 0,
	   "sidecar: STARTING, no child of ours");
	if (g_file_get_contents(args_path, &args, NULL, NULL))
		g_strstrip(args);
	ok(args && strstr(args, "--af-packet=veth-a") && g_file_test(copy, G_FILE_TEST_IS_REGULAR),
	   "sidecar: sidecar.args (%s) and the rule copy written", args ? args : "none");
	g_auto(GStrv) words = g_strsplit(args ? args : "", " ", -1);
	GStrvBuilder *b = g_strv_builder_new();
	g_strv_builder_add(b, bin);
	g_strv_builder_addv(b, (const char **)words);
	g_auto(GStrv) argv = g_strv_builder_end(b);
	g_strv_builder_unref(b);
	bool spawned = args && g_spawn_async(wd, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
	                                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
	                                     NULL, NULL, &pid, NULL);
	gint64 t = g_get_monotonic_time();
	struct want_state w = {PP_SURICATA_READY, from};
	iterate_until(cond_state, &w, 60000);
	ok(spawned && saw(PP_SURICATA_READY, from), "sidecar: READY at its first record (after %.0f ms)",
	   (g_get_monotonic_time() - t) / 1000.0);
	attack("sidecar");
	from = n_states;
	if (pid > 0)
		kill(pid, SIGKILL);
	w = (struct want_state){PP_SURICATA_DOWN, from};
	iterate_until(cond_state, &w, 15000);
	ok(saw(PP_SURICATA_DOWN, from), "sidecar: DOWN when it dies");
	if (pid > 0)
		waitpid(pid, NULL, 0);
	closed = false;
	pp_suricata_close(s, on_closed, NULL);
	iterate_until(cond_closed, NULL, 10000);
}

/* ---- ips mode ---------------------------------------------------------- */

/* A connection to the server with SO_MARK mark (0: none); its local port. */
static int connect_srv(uint32_t mark, uint16_t *port)
{
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(SRV_PORT)};
	struct sockaddr_in me;
	socklen_t mel = sizeof(me);
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, SRV_IP, &srv.sin_addr);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* a bound, not a timing */
	if ((mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) ||
	    connect(fd, (struct sockaddr *)&srv, sizeof(srv)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &mel) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(me.sin_port);
	return fd;
}

/* The number a shell command prints (-1 when it printed none). */
static int shell_count(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

/* How many copies of our rules are installed (nft: tables; iptables: the
 * OUTPUT jumps of iptables and ip6tables, each must be 1). */
static int rules_copies(enum pp_nfq_backend b)
{
	if (b == PP_NFQ_NFT)
		return shell_count("nft list tables | grep -c 'table inet peerpipe_gw_3599$'");
	int v4 = shell_count("iptables-save -t filter | grep -c '^-A OUTPUT -j PEERPIPE_GW_3599_OUT$'");
	int v6 = shell_count("ip6tables-save -t filter | grep -c '^-A OUTPUT -j PEERPIPE_GW_3599_OUT$'");
	return v4 == v6 ? v4 : -1;
}

/* fail-open: a live connection goes on while Suricata is down (bypass);
 * the restarted Suricata never saw its start, lets it pass (exception-
 * policy ignore) and still blocks on it with a packet-level rule (the
 * string rule is one; app-layer rules would not see it). */
static void ips_fail_open(const char *bin, const char *const *rules,
                          struct pp_nfq_rules_config *nc)
{
	enum pp_nfq_backend used = PP_NFQ_NONE;
	char err[768];
	g_autofree char *wd = g_build_filename(work_dir, "ips-open", NULL);
	struct pp_suricata_config cfg = {
		.mode = PP_SURICATA_IPS, .work_dir = wd, .rule_files = rules, .binary = bin,
		.nfq_queue = IPS_QUEUE, .nfq_fail_open = true,
	};
	struct pp_suricata_callbacks cb = {.on_state = on_state, .on_alert = on_alert};
	struct pp_suricata *s = NULL;
	struct srv_report r = {0};
	const char *why = NULL;
	uint16_t port = 0;
	int from = n_states, fd = -1;

	nc->fail_open = true;
	int rc = pp_nfq_rules_install(nc, &used, err, sizeof(err));
	closed = false;
	if (rc == 0)
		rc = pp_suricata_new(ctx, &cfg, &cb, NULL, &s, &why);
	if (rc == 0)
		rc = pp_suricata_start(s);
	struct want_state w = {PP_SURICATA_READY, from};
	if (rc == 0)
		iterate_until(cond_state, &w, 60000);
	if (rc == 0 && saw(PP_SURICATA_READY, from))
		fd = connect_srv(IPS_MARK, &port);
	bool sent = fd >= 0 && send(fd, "hello\n", 6, 0) == 6;
	pid_t pid = s ? pp_suricata_pid(s) : 0;
	from = n_states;
	ok(sent && pid > 0 && kill(pid, SIGKILL) == 0, "ips fail-open: rules with bypass, READY, "
	   "a marked connection, Suricata killed (%s)", rc ? (why ? why : err) : "ok");
	w = (struct want_state){PP_SURICATA_DOWN, from};
	iterate_until(cond_state, &w, 10000);
	/* nobody reads the queue now: bypass lets it through */
	sent = sent && saw(PP_SURICATA_DOWN, from) && send(fd, "during\n", 7, 0) == 7;
	w = (struct want_state){PP_SURICATA_READY, from};
	iterate_until(cond_state, &w, 60000);
	ok(sent && saw(PP_SURICATA_READY, from), "ips fail-open: data sent while Suricata was down; "
	   "READY again");
	int want = n_alerts + 1;
	sent = sent && send(fd, ATTACK, strlen(ATTACK), 0) == (ssize_t)strlen(ATTACK);
	iterate_until(cond_alerts, &want, 10000);
	ok(sent && n_alerts >= want && last_alert.flow_src.port == port &&
	       last_alert.alert.action == PP_EVE_ACTION_BLOCKED,
	   "ips fail-open: the restarted Suricata lets the live flow pass and blocks the string "
	   "(a packet-level rule)");
	if (fd >= 0)
		close(fd);
	bool reported = port && wait_report(port, &r, 10000);
	ok(reported && !r.saw_attack && r.bytes == 13,
	   "ips fail-open: the server got what was sent while Suricata was down, not the string "
	   "(%" G_GUINT64_FORMAT " bytes)", r.bytes);
	if (s) {
		pp_suricata_close(s, on_closed, NULL);
		iterate_until(cond_closed, NULL, 10000);
	}
}

static int ips_checks(const char *bin, const char *const *rules)
{
	struct pp_nfq_rules_config nc = {.queue = IPS_QUEUE, .mark = IPS_MARK};
	enum pp_nfq_backend used = PP_NFQ_NONE, used2 = PP_NFQ_NONE;
	char err[768];
	int rc = pp_nfq_rules_install(&nc, &used, err, sizeof(err));

	ok(rc == 0, "ips: netfilter rules installed (%s%s%s)", pp_nfq_backend_name(used),
	   rc ? ": " : "", rc ? err : "");
	if (rc != 0)
		return -1;
	rc = pp_nfq_rules_install(&nc, &used2, err, sizeof(err));
	ok(rc == 0 && used2 == used && rules_copies(used) == 1,
	   "ips: installed again: the stale rules replaced, one copy (%d)", rules_copies(used));

	g_autofree char *wd = g_build_filename(work_dir, "ips", NULL);
	struct pp_suricata_config cfg = {
		.mode = PP_SURICATA_IPS, .work_dir = wd, .rule_files = rules, .binary = bin,
		.nfq_queue = IPS_QUEUE,
	};
	struct pp_suricata_callbacks cb = {.on_state = on_state, .on_alert = on_alert};
	struct pp_suricata *s = NULL;
	const char *why = NULL;
	int from = n_states;
	closed = false;
	rc = pp_suricata_new(ctx, &cfg, &cb, NULL, &s, &why);
	ok(rc == 0 && pp_suricata_start(s) == 0, "ips: pp_suricata_new/start (%s)", why ? why : "ok");
	if (rc != 0)
		return -1;
	struct want_state w = {PP_SURICATA_READY, from};
	iterate_until(cond_state, &w, 60000);
	ok(saw(PP_SURICATA_READY, from), "ips: READY on NFQUEUE %d", IPS_QUEUE);

	/* not marked: not queued, not inspected */
	struct srv_report r = {0};
	uint16_t plain_port = 0, port = 0;
	int fd = connect_srv(0, &plain_port);
	bool sent = fd >= 0 && send(fd, ATTACK, strlen(ATTACK), 0) == (ssize_t)strlen(ATTACK);
	if (fd >= 0)
		close(fd);
	bool reported_plain = sent && wait_report(plain_port, &r, 10000);
	ok(reported_plain && r.saw_attack,
	   "ips: an unmarked socket is not queued: the server got the string");

	/* marked: blocked before the server, both ends reset */
	int want = n_alerts + 1;
	fd = connect_srv(IPS_MARK, &port);
	sent = fd >= 0 && send(fd, "hello\n", 6, 0) == 6 &&
	       send(fd, ATTACK, strlen(ATTACK), 0) == (ssize_t)strlen(ATTACK);
	iterate_until(cond_alerts, &want, 10000);
	ok(sent && n_alerts >= want && last_alert.alert.signature_id == 2100498 &&
	       last_alert.alert.action == PP_EVE_ACTION_BLOCKED && last_alert.flow_src.port == port,
	   "ips: marked socket: alert 2100498 blocked on its flow (%u, %s, port %u)",
	   last_alert.alert.signature_id, pp_eve_action_name(last_alert.alert.action),
	   last_alert.flow_src.port);
	char buf[64];
	errno = 0;
	ssize_t n = fd >= 0 ? recv(fd, buf, sizeof(buf), 0) : -1;
	ok(n < 0 && errno == ECONNRESET, "ips: the client's socket was reset (recv %zd: %s)", n,
	   strerror(errno));
	if (fd >= 0)
		close(fd);
	bool reported = wait_report(port, &r, 10000);
	ok(reported && !r.saw_attack && r.bytes <= 6,
	   "ips: the server never got the string (%" G_GUINT64_FORMAT " bytes)", r.bytes);
	bool plain_alerted = false;
	for (int i = 0; i < n_alerts && i < (int)G_N_ELEMENTS(alert_ports); i++)
		plain_alerted |= alert_ports[i] == plain_port;
	ok(!plain_alerted, "ips: no alert on the unmarked flow");

	pid_t pid = pp_suricata_pid(s);
	pp_suricata_close(s, on_closed, NULL);
	iterate_until(cond_closed, NULL, 10000);
	ok(closed && kill(pid, 0) != 0 && errno == ESRCH, "ips: close: child %d stopped", (int)pid);
	ips_fail_open(bin, rules, &nc);
	rc = pp_nfq_rules_remove(&nc, used, err, sizeof(err));
	ok(rc == 0 && shell_count("(nft list ruleset; iptables-save; ip6tables-save) 2>/dev/null | "
	                          "grep -ci peerpipe_gw_3599") == 0,
	   "ips: rules removed, nothing of them left%s%s", rc ? ": " : "", rc ? err : "");
	return 0;
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
	printf("1..41\n");

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

	if (ips_checks(bin, rules) != 0)
		while (tap_n < 32)
			ok(false, "ips: not reached");
	sidecar_checks(bin, rules);
	g_main_context_unref(ctx);
	return tap_failed ? 1 : 0;
}
