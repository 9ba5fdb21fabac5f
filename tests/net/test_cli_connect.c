/* SPDX-License-Identifier: Apache-2.0 */
/* `peerpipe connect` (docs/client.md), the real CLI as a child process,
 * against peerpipe-signal and a gateway node in this process (node.c with
 * an echo service), inside a private network namespace (the test unshares
 * one first: root only) with a veth pair: libnice offers no loopback
 * candidates, and the CLI takes every interface.
 *
 *  - closing-tunnel-holds: a connection accepted while the session is
 *    closing (READY, but in its close grace) waits for the next tunnel
 *    instead of being closed cleanly (an application would take that FIN
 *    for a complete, empty exchange).
 *  - signaling-fatal-exits: the token expires and signaling refuses it
 *    while the tunnel is up: the tunnel keeps working; when it ends, the
 *    client exits 1 saying what to do, and the connection it held is
 *    reset, not left hanging.
 *  - alert-unknown-action: an ALERT action this client does not know is
 *    named (sanitized), never reported as "stream closed".
 *  - accept-out-of-fds: the soft open-file limit is raised to the hard one
 *    at start; at EMFILE the listener rests instead of spinning (CPU stays
 *    low, one log line), and serves the waiting connections once fds are
 *    available again.
 *
 * The close grace is made a window the test controls: the gateway sends a
 * control message the client cannot parse, so the client closes the
 * session itself, and an iptables rule, set before that message goes,
 * drops every datagram from the client's ports until the test lifts it:
 * the client's orderly close cannot finish and its grace (2 s) runs out,
 * whatever the timing (a rule that dropped both ways, set after the
 * message, raced the client's close). */
#include "netns_private.h"
#include "sigserver.h"
#include "tmptree.h"

#include "peerpipe/fdwatch.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOM "office"
#define GW "gw1"
#define SVC "echo"
#define GW_ADDR "10.77.0.1"
#define WAIT_MS 30000

static GMainContext *ctx;
static const char *const gw_addrs[] = { GW_ADDR };

/* --- the gateway: a node in this process, its service echoes ------------- */

struct echo {
	int fd;
	struct pp_fdwatch *w;
};

struct gw {
	SigServer *srv;
	struct pp_identity *id;
	struct pp_fingerprint client_fp;
	struct pp_tnode *n;
	char *token;
	char url[64];
	struct pp_tlink *link;     /* the latest ready one */
	unsigned ready;
	GPtrArray *echoes;         /* struct echo *, ended ones included */
};

static void echo_end(struct echo *e)
{
	pp_fdwatch_free(e->w);
	e->w = NULL;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}

static void echo_io(void *data, GIOCondition got)
{
	struct echo *e = data;
	char buf[4096];
	ssize_t n = read(e->fd, buf, sizeof(buf));

	(void)got;
	if (n > 0) {
		g_assert_cmpint(send(e->fd, buf, (size_t)n, MSG_NOSIGNAL), ==, n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	echo_end(e);
}

static bool gw_want_peer(void *user, const struct pp_sigclient_peer *peer,
                         const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct gw *g = user;

	if (peer->role != PP_ROLE_DESKTOP)
		return false;
	*pins = &g->client_fp;
	*n_pins = 1;
	return true;
}

static void gw_on_ready(void *user, struct pp_tlink *l)
{
	struct gw *g = user;

	g->link = l;
	g->ready++;
	g_test_message("gateway: session ready (%u)", g->ready);
}

static void gw_on_stream_request(void *user, struct pp_tlink *l, struct pp_sctp_channel *ch)
{
	struct gw *g = user;
	struct pp_tstream *st = pp_tsession_accept_stream(pp_tlink_session(l), ch);
	struct echo *e = g_new0(struct echo, 1);
	int sv[2];

	g_assert_nonnull(st);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_cmpint(pp_tstream_attach(st, sv[0]), ==, 0);
	char *j = pp_ctrl_build_connected();
	g_assert_cmpint(pp_tstream_send_text(st, j), ==, 0);
	free(j);
	e->fd = sv[1];
	e->w = pp_fdwatch_new(ctx, e->fd, G_IO_IN, echo_io, e);
	g_assert_nonnull(e->w);
	g_ptr_array_add(g->echoes, e);
}

static void gw_on_link_closed(void *user, struct pp_tlink *l, const char *reason)
{
	struct gw *g = user;

	g_test_message("gateway: link closed: %s", reason ? reason : "");
	if (l == g->link)
		g->link = NULL;
}

static const struct pp_tnode_callbacks gw_cb = {
	.want_peer = gw_want_peer,
	.on_ready = gw_on_ready,
	.on_stream_request = gw_on_stream_request,
	.on_link_closed = gw_on_link_closed,
};

static void gw_start(struct gw *g)
{
	g->token = sig_token(g->srv, GW, ROOM, "gateway");
	g_snprintf(g->url, sizeof(g->url), "ws://127.0.0.1:%u/v1/ws", sig_server_port(g->srv));
	struct pp_tnode_config nc = {
		.sig = {
			.url = g->url,
			.token = g->token,
			.room = ROOM,
			.fingerprint = pp_identity_fingerprint_str(g->id),
			.allow_insecure_ws = true,
		},
		.session = {
			.peer = {
				.identity = g->id,
				.local_addresses = gw_addrs,
				.n_local_addresses = 1,
			},
			.is_gateway = true,
			.agent = "peerpipe/test-gateway",
		},
	};
	g->n = pp_tnode_new(ctx, &nc, &gw_cb, g);
	g_assert_nonnull(g->n);
}

/* --- the loop ------------------------------------------------------------- */

static gboolean tick(gpointer data)
{
	return G_SOURCE_CONTINUE; /* wakes the loop: predicates read files */
}

static bool run_until(bool (*pred)(void *), void *data, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	GSource *t = g_timeout_source_new(10);
	bool ok;

	g_source_set_callback(t, tick, NULL, NULL);
	g_source_attach(t, ctx);
	while (!(ok = pred(data)) && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	g_source_destroy(t);
	g_source_unref(t);
	return ok;
}

static bool never(void *data)
{
	return false;
}

static void run_for(unsigned ms)
{
	run_until(never, NULL, ms);
}

static void sh(const char *cmd)
{
	g_assert_cmpint(system(cmd), ==, 0);
}

/* The local ports of process pid's UDP sockets (its ICE candidates), from
 * /proc: its fds' socket inodes looked up in its namespace's UDP tables.
 * Comma-separated, for iptables' multiport (at most 15). */
static char *udp_ports_of(GPid pid)
{
	GHashTable *inodes = g_hash_table_new(g_direct_hash, g_direct_equal);
	char *dir = g_strdup_printf("/proc/%d/fd", (int)pid);
	GString *ports = g_string_new(NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned n = 0;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d))) {
		char *fd = g_build_filename(dir, name, NULL), *target = g_file_read_link(fd, NULL);
		unsigned long ino;
		if (target && sscanf(target, "socket:[%lu]", &ino) == 1)
			g_hash_table_add(inodes, GSIZE_TO_POINTER(ino));
		g_free(target);
		g_free(fd);
	}
	g_dir_close(d);
	for (int v6 = 0; v6 < 2; v6++) {
		char *table = g_strdup_printf("/proc/%d/net/udp%s", (int)pid, v6 ? "6" : "");
		FILE *f = fopen(table, "r");
		char line[512];
		unsigned port;
		unsigned long ino;

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %*s %*s %lu", &port,
			           &ino) == 2 &&
			    g_hash_table_contains(inodes, GSIZE_TO_POINTER(ino))) {
				g_string_append_printf(ports, "%s%u", ports->len ? "," : "", port);
				n++;
			}
		if (f)
			fclose(f);
		g_free(table);
	}
	g_assert_cmpuint(n, >, 0);
	g_assert_cmpuint(n, <=, 15);
	g_hash_table_destroy(inodes);
	g_free(dir);
	return g_string_free(ports, FALSE);
}

/* No datagram from the client passes (the gateway's to it do, and the
 * signaling's TCP): what the client sends to close its session never
 * arrives, so its close lasts its whole grace. */
static char *drop_rule;

static void drop_from_client(GPid pid, bool drop)
{
	char *cmd;

	if (drop) {
		char *ports = udp_ports_of(pid);
		drop_rule = g_strdup_printf("INPUT -p udp -m multiport --sports %s -j DROP", ports);
		g_free(ports);
	}
	g_assert_nonnull(drop_rule);
	cmd = g_strdup_printf("iptables %s %s", drop ? "-I" : "-D", drop_rule);
	sh(cmd);
	g_free(cmd);
	if (!drop)
		g_clear_pointer(&drop_rule, g_free);
}

/* --- the client: the real CLI ------------------------------------------- */

struct cli {
	char *dir;
	char *out, *err;          /* its stdout and stderr */
	GPid pid;
	bool reaped;
	int status;
	guint16 port;             /* -L 127.0.0.1:port:echo */
};

static char *slurp(const char *path)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

static unsigned count_in(const char *path, const char *needle)
{
	char *text = slurp(path);
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	g_free(text);
	return n;
}

struct grep {
	const char *path, *needle;
};

static bool pred_grep(void *data)
{
	struct grep *g = data;
	return count_in(g->path, g->needle) > 0;
}

static bool wait_grep(const char *path, const char *needle, unsigned ms)
{
	struct grep g = { path, needle };
	bool ok = run_until(pred_grep, &g, ms);

	if (!ok)
		g_test_message("not found in %s within %u ms: %s", path, ms, needle);
	return ok;
}

static void cli_dump(struct cli *c)
{
	char *out = slurp(c->out), *err = slurp(c->err);
	g_test_message("client stdout:\n%s\nclient stderr:\n%s", out, err);
	g_free(out);
	g_free(err);
}

static void cli_prepare(struct cli *c, struct gw *g, guint16 port)
{
	GError *e = NULL;
	struct pp_identity *id = NULL;
	char *iddir;

	memset(c, 0, sizeof(*c));
	c->dir = g_dir_make_tmp("pp-clitest-XXXXXX", &e);
	g_assert_no_error(e);
	c->out = g_build_filename(c->dir, "out", NULL);
	c->err = g_build_filename(c->dir, "err", NULL);
	c->port = port;
	/* the identity the CLI will load: the gateway pins it */
	iddir = g_build_filename(c->dir, "identity", NULL);
	g_assert_cmpint(pp_identity_load_or_create(iddir, &id), ==, 0);
	g->client_fp = *pp_identity_fingerprint(id);
	pp_identity_free(id);
	g_free(iddir);
}

/* Starts `peerpipe connect` with this token; nofile_soft > 0: the child's
 * soft RLIMIT_NOFILE (the hard one unchanged). */
static void cli_start(struct cli *c, struct gw *g, const char *token, rlim_t nofile_soft)
{
	const char *bin = g_getenv("PP_CLI_BIN");
	char *tok_path = g_build_filename(c->dir, "token", NULL);
	char *url = g_strdup_printf("ws://127.0.0.1:%u/v1/ws", sig_server_port(g->srv));
	char *fwd = g_strdup_printf("127.0.0.1:%u:" SVC, c->port);
	const char *argv[] = { bin, "--config-dir", c->dir, "connect", "--signal", url, "--insecure-ws",
		               "--token-file", tok_path, "--gateway", GW, "--pin",
		               pp_identity_fingerprint_str(g->id), "--log-level", "info", "-L", fwd,
		               NULL };
	pid_t parent = getpid();
	int out, err;

	g_assert_nonnull(bin);
	g_assert_true(g_file_set_contents(tok_path, token, -1, NULL));
	g_assert_cmpint(g_chmod(tok_path, 0600), ==, 0);
	out = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = open(c->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert_cmpint(out, >=, 0);
	g_assert_cmpint(err, >=, 0);
	c->pid = fork();
	g_assert_cmpint(c->pid, >=, 0);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (nofile_soft) {
			struct rlimit rl;
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = nofile_soft;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(126);
		}
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execv(bin, (char **)argv);
		_exit(127);
	}
	close(out);
	close(err);
	g_test_message("client pid %d: %s ... -L %s", (int)c->pid, bin, fwd);
	g_free(tok_path);
	g_free(url);
	g_free(fwd);
}

static bool pred_cli_exited(void *data)
{
	struct cli *c = data;

	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

/* SIGTERM unless it already exited (then it must exit 0: an orderly
 * close); no sanitizer report either way. */
static void cli_stop(struct cli *c)
{
	if (!pred_cli_exited(c)) {
		kill(c->pid, SIGTERM);
		if (!run_until(pred_cli_exited, c, 10000)) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &c->status, 0);
			cli_dump(c);
			g_error("the client did not exit on SIGTERM");
		}
		if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
			cli_dump(c);
		g_assert_true(WIFEXITED(c->status));
		g_assert_cmpint(WEXITSTATUS(c->status), ==, 0);
	}
	if (g_test_verbose())
		cli_dump(c);
	g_assert_cmpuint(count_in(c->err, "Sanitizer"), ==, 0);
	g_assert_cmpuint(count_in(c->err, "runtime error"), ==, 0);
}

static void cli_free(struct cli *c)
{
	tmptree_remove(c->dir);
	g_free(c->dir);
	g_free(c->out);
	g_free(c->err);
}

/* --- an application's connections to the forward ------------------------- */

static int app_connect(guint16 port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
	return fd;
}

struct app_read {
	int fd;
	GString *got;
	size_t want;
	int end;     /* 1: still open; 0: EOF; -errno: error */
};

static bool pred_app_read(void *data)
{
	struct app_read *r = data;
	char buf[256];
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		g_string_append_len(r->got, buf, n);
	if (n == 0)
		r->end = 0;
	else if (errno != EAGAIN)
		r->end = -errno;
	return r->end != 1 || (r->want && r->got->len >= r->want);
}

/* Sends text and expects it back through the tunnel. */
static bool app_echo(int fd, const char *text, unsigned ms)
{
	struct app_read r = { fd, g_string_new(NULL), strlen(text), 1 };
	bool ok;

	g_assert_cmpint(send(fd, text, strlen(text), MSG_NOSIGNAL), ==, (ssize_t)strlen(text));
	ok = run_until(pred_app_read, &r, ms) && r.end == 1 && strcmp(r.got->str, text) == 0;
	if (!ok)
		g_test_message("echo of '%s': got '%s', %s", text, r.got->str,
		               r.end == 1 ? "still open" : r.end == 0 ? "EOF" : g_strerror(-r.end));
	g_string_free(r.got, TRUE);
	return ok;
}

/* How the connection ended: 0 EOF, -errno (ECONNRESET for a reset), 1 if
 * it is still open after ms. */
static int app_end(int fd, unsigned ms)
{
	struct app_read r = { fd, g_string_new(NULL), 0, 1 };

	run_until(pred_app_read, &r, ms);
	g_string_free(r.got, TRUE);
	return r.end;
}

/* --- set-up ------------------------------------------------------------------ */

static bool pred_gw_joined(void *data)
{
	struct gw *g = data;
	return pp_sigclient_get_state(pp_tnode_sigclient(g->n)) == PP_SIGCLIENT_JOINED;
}

static void env_up(struct gw *g, SigServer *srv)
{
	memset(g, 0, sizeof(*g));
	g->srv = srv ? srv : sig_server_start(NULL);
	g->echoes = g_ptr_array_new();
	g_assert_cmpint(pp_identity_new_ephemeral(&g->id), ==, 0);
}

/* The gateway joins first (it offers when the client comes), then the
 * client starts; returns once the tunnel is up on both sides. */
static void tunnel_up(struct gw *g, struct cli *c, const char *token, rlim_t nofile_soft)
{
	gw_start(g);
	g_assert_true(run_until(pred_gw_joined, g, 10000));
	cli_start(c, g, token, nofile_soft);
	if (!wait_grep(c->out, "connected to gateway " GW, WAIT_MS)) {
		cli_dump(c);
		g_assert_not_reached();
	}
}

static void env_down(struct gw *g)
{
	pp_tnode_free(g->n);
	for (guint i = 0; i < g->echoes->len; i++) {
		echo_end(g->echoes->pdata[i]);
		g_free(g->echoes->pdata[i]);
	}
	g_ptr_array_free(g->echoes, TRUE);
	while (g_main_context_iteration(ctx, FALSE))
		;
	sig_server_stop_clean(g->srv);
	pp_identity_free(g->id);
	g_free(g->token);
}

/* The client closes its session itself (a control message it cannot
 * parse) and no datagram passes: its close cannot finish before its grace
 * runs out. Returns with the client in that window. */
static void client_closing(struct gw *g, struct cli *c)
{
	g_assert_nonnull(g->link);
	drop_from_client(c->pid, true);
	g_assert_cmpint(pp_tsession_send_control(pp_tlink_session(g->link), "{not json"), ==, 0);
	g_assert_true(wait_grep(c->err, "bad control message", 5000));
}

/* --- tests --------------------------------------------------------------- */

static bool pred_gw_ready_2(void *data)
{
	return ((struct gw *)data)->ready >= 2;
}

static void test_closing_tunnel_holds(void)
{
	struct gw g;
	struct cli c;
	int fd;

	env_up(&g, NULL);
	cli_prepare(&c, &g, 16001);
	char *token = sig_token(g.srv, "alice", ROOM, "desktop");
	tunnel_up(&g, &c, token, 0);
	fd = app_connect(c.port);
	g_assert_true(app_echo(fd, "before\n", 10000));
	close(fd);

	client_closing(&g, &c);
	fd = app_connect(c.port);
	/* not a stream, not a FIN: held for the next tunnel */
	bool held = wait_grep(c.err, SVC ": the tunnel is closing: the connection waits", 5000);
	int end = app_end(fd, 0);
	drop_from_client(c.pid, false);
	if (!held)
		cli_dump(&c);
	g_assert_cmpint(end, ==, 1); /* still open (0: a FIN, -ECONNRESET: a reset) */
	g_assert_true(held);
	g_assert_cmpuint(count_in(c.out, "cannot open a stream"), ==, 0);
	g_assert_true(wait_grep(c.out, "tunnel to " GW " down", 10000));
	g_assert_true(run_until(pred_gw_ready_2, &g, WAIT_MS));
	g_assert_true(app_echo(fd, "held, then carried\n", 10000));
	close(fd);

	cli_stop(&c);
	cli_free(&c);
	g_free(token);
	env_down(&g);
}

static bool pred_past(void *data)
{
	return g_get_real_time() / G_USEC_PER_SEC > *(gint64 *)data;
}

static void test_signaling_fatal_exits(void)
{
	SigServer *srv = sig_server_new();
	struct gw g;
	struct cli c;
	int live, held;

	/* no leeway: the token is refused as soon as it has expired */
	sig_server_add_args(srv, "--set", "auth.clock_skew=0s", NULL);
	sig_server_run(srv);
	env_up(&g, srv);
	cli_prepare(&c, &g, 16002);
	gint64 exp = g_get_real_time() / G_USEC_PER_SEC + 5;
	char *token = sig_token_times(g.srv, "alice", ROOM, "desktop", exp, 0, exp - 5);
	tunnel_up(&g, &c, token, 0);
	live = app_connect(c.port);
	g_assert_true(app_echo(live, "up\n", 10000));

	/* The token expires; the signaling server restarts (same port and
	 * secret): the client's JOIN is refused, the tunnel is not touched. */
	gint64 after = exp + 1;
	g_assert_true(run_until(pred_past, &after, 10000));
	SigServer *again = sig_server_new();
	char *listen = g_strdup_printf("127.0.0.1:%u", sig_server_port(srv));
	sig_server_share_secret(again, srv);
	sig_server_add_args(again, "--listen", listen, "--set", "auth.clock_skew=0s", NULL);
	sig_server_stop_clean(srv);
	sig_server_run(again);
	g.srv = again;
	g_assert_true(wait_grep(c.out, "signaling refused us (unauthorized", WAIT_MS));
	g_assert_true(wait_grep(c.out, "the tunnel to " GW " stays up; peerpipe exits when it ends",
	                        1000));
	g_assert_false(pred_cli_exited(&c));
	g_assert_true(app_echo(live, "still up\n", 10000));

	/* The tunnel ends, with a connection held for a next one that cannot
	 * come: exit 1, saying what to do; the held connection is reset. */
	client_closing(&g, &c);
	held = app_connect(c.port);
	g_assert_true(wait_grep(c.err, SVC ": the tunnel is closing: the connection waits", 5000));
	bool exited = run_until(pred_cli_exited, &c, 15000);
	drop_from_client(c.pid, false);
	if (!exited)
		cli_dump(&c);
	g_assert_true(exited);
	g_assert_true(WIFEXITED(c.status));
	g_assert_cmpint(WEXITSTATUS(c.status), ==, 1);
	g_assert_cmpuint(count_in(c.out, "no tunnel without signaling: exiting. The token was refused"),
	                 ==, 1);
	g_assert_cmpint(app_end(held, 5000), ==, -ECONNRESET);
	g_assert_cmpint(app_end(live, 5000), !=, 1);
	close(held);
	close(live);

	cli_stop(&c);
	cli_free(&c);
	g_free(token);
	g_free(listen);
	env_down(&g);
}

static void test_alert_unknown_action(void)
{
	struct gw g;
	struct cli c;

	env_up(&g, NULL);
	cli_prepare(&c, &g, 16003);
	char *token = sig_token(g.srv, "alice", ROOM, "desktop");
	tunnel_up(&g, &c, token, 0);
	g_assert_cmpint(pp_tsession_send_control(pp_tlink_session(g.link),
	                "{\"type\":\"ALERT\",\"stream\":\"echo#1\",\"signature_id\":7,"
	                "\"signature\":\"odd\\u001b[2J sig\",\"action\":\"quar\\u001b]0;x\\u0007antine\"}"),
	                ==, 0);
	g_assert_true(wait_grep(c.out, "ALERT on echo#1: ", 10000));
	g_assert_cmpuint(count_in(c.out, "stream closed"), ==, 0); /* nothing was */
	g_assert_cmpuint(count_in(c.out, "ALERT on echo#1: odd?[2J sig (signature 7), action "
	                          "\"quar?]0;x?antine\" (not known to this client)"), ==, 1);

	cli_stop(&c);
	cli_free(&c);
	g_free(token);
	env_down(&g);
}

/* --- the open-file limit --------------------------------------------------- */

/* "Max open files" of /proc/PID/limits: soft and hard (0: unlimited). */
static void proc_nofile(GPid pid, guint64 *soft, guint64 *hard)
{
	char *path = g_strdup_printf("/proc/%d/limits", (int)pid);
	char *text = slurp(path), *line = strstr(text, "Max open files");
	char s[32], h[32];

	g_assert_nonnull(line);
	g_assert_cmpint(sscanf(line + strlen("Max open files"), "%31s %31s", s, h), ==, 2);
	*soft = strcmp(s, "unlimited") == 0 ? 0 : g_ascii_strtoull(s, NULL, 10);
	*hard = strcmp(h, "unlimited") == 0 ? 0 : g_ascii_strtoull(h, NULL, 10);
	g_free(text);
	g_free(path);
}

static unsigned proc_fds(GPid pid)
{
	char *path = g_strdup_printf("/proc/%d/fd", (int)pid);
	GDir *d = g_dir_open(path, 0, NULL);
	unsigned n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	g_free(path);
	return n;
}

/* user + system CPU time, in seconds */
static double proc_cpu(GPid pid)
{
	char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	char *text = slurp(path), *p = strrchr(text, ')');
	unsigned long ut = 0, st = 0;

	g_assert_nonnull(p);
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	g_assert_cmpint(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
	                ==, 2);
	g_free(text);
	g_free(path);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

#define FDS_CONNS 24

static void test_accept_out_of_fds(void)
{
	struct gw g;
	struct cli c;
	struct rlimit ours, low, back;
	guint64 soft, hard;
	int fds[FDS_CONNS];

	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &ours), ==, 0);
	if (ours.rlim_max != RLIM_INFINITY && ours.rlim_max <= 512) {
		g_test_skip("hard RLIMIT_NOFILE too low to see it raised");
		return;
	}
	env_up(&g, NULL);
	cli_prepare(&c, &g, 16004);
	char *token = sig_token(g.srv, "alice", ROOM, "desktop");
	/* started with a soft limit of 256: it takes the hard one */
	tunnel_up(&g, &c, token, 256);
	proc_nofile(c.pid, &soft, &hard);
	g_assert_cmpuint(soft, ==, hard);
	fds[0] = app_connect(c.port);
	g_assert_true(app_echo(fds[0], "warm\n", 10000));

	/* a few fds left: the connections beyond them wait in the backlog */
	unsigned used = proc_fds(c.pid);
	g_assert_cmpint(prlimit(c.pid, RLIMIT_NOFILE, NULL, &back), ==, 0);
	low.rlim_cur = used + 4;
	low.rlim_max = back.rlim_max; /* lowering it could not be undone without CAP_SYS_RESOURCE */
	g_assert_cmpint(prlimit(c.pid, RLIMIT_NOFILE, &low, NULL), ==, 0);
	for (int i = 1; i < FDS_CONNS; i++)
		fds[i] = app_connect(c.port);
	if (!wait_grep(c.err, "Too many open files", 10000)) {
		cli_dump(&c);
		g_assert_not_reached();
	}
	/* no spinning: the loop stays free (the gateway's side is ours) */
	double cpu0 = proc_cpu(c.pid);
	run_for(1500);
	double cpu = proc_cpu(c.pid) - cpu0;
	g_test_message("client CPU over 1.5 s at EMFILE: %.2f s", cpu);
	g_assert_cmpfloat(cpu, <, 0.4);
	g_assert_cmpuint(count_in(c.err, "Too many open files"), ==, 1);
	g_assert_cmpuint(count_in(c.err, "out of file descriptors"), ==, 1);

	/* fds again: every waiting connection is served */
	g_assert_cmpint(prlimit(c.pid, RLIMIT_NOFILE, &back, NULL), ==, 0);
	for (int i = 0; i < FDS_CONNS; i++) {
		char msg[32];
		g_snprintf(msg, sizeof(msg), "conn %d\n", i);
		g_assert_true(app_echo(fds[i], msg, 10000));
	}
	g_assert_true(wait_grep(c.err, "taking connections again", 1000));
	g_assert_cmpuint(count_in(c.err, "Too many open files"), ==, 1);
	for (int i = 0; i < FDS_CONNS; i++)
		close(fds[i]);

	cli_stop(&c);
	cli_free(&c);
	g_free(token);
	env_down(&g);
}

int main(int argc, char **argv)
{
	/* a veth pair, carrier up before libnice looks for interfaces */
	if (!netns_private_init(&argc, &argv, "test_cli_connect",
	                        "ip link add ppc0 type veth peer name ppc1 && "
	                        "ip addr add " GW_ADDR "/24 dev ppc0 && "
	                        "ip addr add 10.77.0.2/24 dev ppc1 && "
	                        "ip link set ppc0 up && ip link set ppc1 up && "
	                        "for i in $(seq 200); do "
	                        "ip link show ppc0 | grep -q 'state UP' && exit 0; sleep 0.01; "
	                        "done; exit 1"))
		return 0;
	if (!g_getenv("PP_CLI_BIN") || !g_getenv("PP_SIGNAL_BIN")) {
		printf("1..0 # SKIP PP_CLI_BIN and PP_SIGNAL_BIN: run it through meson\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	ctx = g_main_context_default();
	g_test_add_func("/cli-connect/closing-tunnel-holds", test_closing_tunnel_holds);
	g_test_add_func("/cli-connect/signaling-fatal-exits", test_signaling_fatal_exits);
	g_test_add_func("/cli-connect/alert-unknown-action", test_alert_unknown_action);
	g_test_add_func("/cli-connect/accept-out-of-fds", test_accept_out_of_fds);
	return g_test_run();
}
