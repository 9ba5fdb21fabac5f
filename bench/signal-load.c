/* SPDX-License-Identifier: Apache-2.0 */
/* signal-load: load benchmark of peerpipe-signal.
 *
 * Holds N WebSocket peers (rooms of one gateway + one desktop) against the
 * server on loopback and prints: connections held, the server's resident
 * memory per idle connection, relay latency at an open-loop rate, relayed
 * messages per second closed-loop, and a loopback TCP round trip measured
 * in the same run as the reference. Plain ws by default (the server's
 * --insecure mode); --tls measures wss, the production configuration.
 * Exit 1 on setup failures. */
#include "load.h"
#include "relaymsg.h"
#include "srvproc.h"
#include "stats.h"
#include "tcpref.h"
#include "tlsc.h"

#include "peerpipe/error.h"
#include "peerpipe/secret.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define PP_MAX_SETS 16
#define PP_TARGET_RSS_KIB 16.0
#define PP_TARGET_P99_MS 5.0

struct pp_opts {
	const char *server, *secret_file, *url;
	pid_t server_pid;
	const char *sargs[2 * PP_MAX_SETS];  /* extra server arguments */
	size_t nsargs;
	uint32_t conns, batch, per_src, window;
	double rate, duration, max_duration, drain, settle, idle_wait;
	double setup_timeout;
	double peer_limit;
	uint32_t ref_rounds;
	int skip_max;
	int tls;
};

static void pp_usage(FILE *f)
{
	fprintf(f,
	"usage: signal-load --secret-file F (--server PATH | --server-pid PID --url URL)\n"
	"                   [options]\n"
	"  --server PATH         start this peerpipe-signal on 127.0.0.1:0 (plain ws,\n"
	"                        --insecure; with --tls: wss)\n"
	"  --tls                 measure wss, the production configuration: make a\n"
	"                        throwaway ECDSA P-256 certificate, start the server\n"
	"                        with it (--tls-cert/--tls-key) and verify it in every\n"
	"                        client's TLS handshake (needs --server)\n"
	"  --server-set K=V      pass --set K=V to the started server (repeatable)\n"
	"  --server-arg ARG      pass ARG to the started server (repeatable)\n"
	"  --server-pid PID      measure an already running server ...\n"
	"  --url URL             ... reachable at ws://127.0.0.1:PORT/v1/ws\n"
	"  --secret-file F       HS256 secret the server uses (tokens are minted here)\n"
	"  -n, --connections N   peers to hold, even (default 20000)\n"
	"  --rate R              open-loop relay rate, msg/s in total (default 10000)\n"
	"  --duration S          open-loop phase length, seconds (default 10)\n"
	"  --max-duration S      closed-loop phase length, seconds (default 5; 0 skips)\n"
	"  --window W            closed loop: messages in flight per pair (default 1)\n"
	"  --drain S             wait for stragglers after a phase (default 2)\n"
	"  --settle S            then, before the closed loop, wait up to S more\n"
	"                        for a backlogged server to deliver (default 30)\n"
	"  --peer-limit R        per-peer rate the open loop must stay under (default 50)\n"
	"  --batch B             connections in handshake at once: TCP, TLS, upgrade\n"
	"                        and JOIN_ROOM (default 256)\n"
	"  --per-src K           connections per source address 127.0.0.x (default 1000)\n"
	"  --idle-wait S         idle time before measuring memory (default 2)\n"
	"  --setup-timeout S     give up joining after this (default 180)\n"
	"  --ref-rounds K        reference TCP round trips (default 20000)\n");
}

static int pp_num(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int pp_parse(int argc, char **argv, struct pp_opts *o)
{
	static const struct option lo[] = {
		{ "server", 1, 0, 's' }, { "server-set", 1, 0, 'S' },
		{ "server-arg", 1, 0, 'A' },
		{ "server-pid", 1, 0, 'P' }, { "url", 1, 0, 'u' },
		{ "secret-file", 1, 0, 'k' }, { "connections", 1, 0, 'n' },
		{ "rate", 1, 0, 'r' }, { "duration", 1, 0, 'd' },
		{ "max-duration", 1, 0, 'm' }, { "window", 1, 0, 'w' },
		{ "drain", 1, 0, 'D' }, { "settle", 1, 0, 'T' },
		{ "peer-limit", 1, 0, 'L' },
		{ "batch", 1, 0, 'b' }, { "per-src", 1, 0, 'p' },
		{ "idle-wait", 1, 0, 'i' }, { "setup-timeout", 1, 0, 't' },
		{ "ref-rounds", 1, 0, 'R' }, { "tls", 0, 0, 'X' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int c;
	double v;

	*o = (struct pp_opts){ .conns = 20000, .batch = 256, .per_src = 1000,
	                       .window = 1, .rate = 10000, .duration = 10,
	                       .max_duration = 5, .drain = 2, .settle = 30,
	                       .idle_wait = 2, .setup_timeout = 180,
	                       .peer_limit = 50,
	                       .ref_rounds = 20000 };
	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 's': o->server = optarg; break;
		case 'u': o->url = optarg; break;
		case 'k': o->secret_file = optarg; break;
		case 'S':
			if (o->nsargs + 2 > 2 * PP_MAX_SETS || !strchr(optarg, '=')) {
				bad = 1;
				break;
			}
			o->sargs[o->nsargs++] = "--set";
			o->sargs[o->nsargs++] = optarg;
			break;
		case 'A':
			if (o->nsargs + 1 > 2 * PP_MAX_SETS)
				bad = 1;
			else
				o->sargs[o->nsargs++] = optarg;
			break;
		case 'P': bad = pp_num(optarg, 1, 1 << 30, &v); o->server_pid = (pid_t)v; break;
		case 'n': bad = pp_num(optarg, 2, 1000000, &v); o->conns = (uint32_t)v; break;
		case 'r': bad = pp_num(optarg, 1, 10000000, &o->rate); break;
		case 'd': bad = pp_num(optarg, 0.1, 3600, &o->duration); break;
		case 'm': bad = pp_num(optarg, 0, 3600, &o->max_duration); break;
		case 'w': bad = pp_num(optarg, 1, 1000, &v); o->window = (uint32_t)v; break;
		case 'D': bad = pp_num(optarg, 0, 600, &o->drain); break;
		case 'T': bad = pp_num(optarg, 0, 600, &o->settle); break;
		case 'L': bad = pp_num(optarg, 0.001, 1e9, &o->peer_limit); break;
		case 'b': bad = pp_num(optarg, 1, 100000, &v); o->batch = (uint32_t)v; break;
		case 'p': bad = pp_num(optarg, 1, 60000, &v); o->per_src = (uint32_t)v; break;
		case 'i': bad = pp_num(optarg, 0, 600, &o->idle_wait); break;
		case 't': bad = pp_num(optarg, 1, 3600, &o->setup_timeout); break;
		case 'R': bad = pp_num(optarg, 1, 10000000, &v); o->ref_rounds = (uint32_t)v; break;
		case 'X': o->tls = 1; break;
		case 'h': pp_usage(stdout); exit(0);
		default: bad = 1;
		}
		if (bad) {
			fprintf(stderr, "signal-load: bad value for option %s\n",
			        argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc || !o->secret_file ||
	    (!o->server == !o->server_pid) || (o->server_pid && !o->url)) {
		pp_usage(stderr);
		return -1;
	}
	if (o->tls && !o->server) {
		fprintf(stderr, "signal-load: --tls needs --server (the throwaway "
		        "certificate is made for the server started here)\n");
		return -1;
	}
	if (o->conns % 2) {
		fprintf(stderr, "signal-load: --connections must be even "
		        "(rooms of a gateway and a desktop)\n");
		return -1;
	}
	if ((uint64_t)o->per_src * 253 < o->conns) {
		fprintf(stderr, "signal-load: --per-src %u is too small: sources "
		        "stop at 127.0.0.254\n", o->per_src);
		return -1;
	}
	return 0;
}

/* Our limit must hold N sockets; a server we start inherits it. */
static int pp_raise_nofile(uint32_t conns)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		fprintf(stderr, "signal-load: the open-file limit is %llu (hard "
		        "%llu); %u connections need at least %llu in this process "
		        "and in the server (raise it: ulimit -n)\n",
		        (unsigned long long)rl.rlim_cur,
		        (unsigned long long)rl.rlim_max, conns,
		        (unsigned long long)need);
		return -1;
	}
	return 0;
}

/* ws://HOST:PORT/PATH (wss:// when tls) with a dotted IPv4 host. */
static int pp_parse_url(const char *url, int tls, char *host, size_t hcap,
                        uint16_t *port, char *path, size_t pcap)
{
	const char *scheme = tls ? "wss://" : "ws://";
	unsigned p;
	int n = 0;

	if (strncmp(url, scheme, strlen(scheme)) != 0) {
		fprintf(stderr, "signal-load: need a %s URL, got %s%s\n", scheme, url,
		        tls ? "" : " (--tls measures a wss server started here)");
		return -1;
	}
	url += strlen(scheme);
	size_t hl = strcspn(url, ":/");
	if (hl == 0 || hl >= hcap || url[hl] != ':' ||
	    sscanf(url + hl + 1, "%5u%n", &p, &n) != 1 || p == 0 || p > 65535) {
		fprintf(stderr, "signal-load: cannot parse the URL's host:port\n");
		return -1;
	}
	memcpy(host, url, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	snprintf(path, pcap, "%s", url[hl + 1 + n] == '/' ? url + hl + 1 + n : "/v1/ws");
	return 0;
}

static double pp_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static const char *pp_met(int ok)
{
	return ok ? "met" : "NOT met";
}

static int pp_server_ok(struct pp_srvproc *sp, pid_t pid)
{
	if (sp->pid > 0 || sp->out_fd >= 0)
		return pp_srvproc_alive(sp);
	return kill(pid, 0) == 0 || errno == EPERM;
}

static void pp_report_errors(const struct pp_load *l)
{
	if (l->n.err_rate_limited || l->n.err_other || l->n.closed_by_server ||
	    l->n.send_overflow)
		printf("server said: %llu rate_limited, %llu other errors, "
		       "%llu connections closed by the server (last: %s)\n",
		       (unsigned long long)l->n.err_rate_limited,
		       (unsigned long long)l->n.err_other,
		       (unsigned long long)l->n.closed_by_server,
		       l->n.last_error[0] ? l->n.last_error : "-");
}

static void pp_phase_open(struct pp_load *l, const struct pp_opts *o)
{
	uint32_t pairs = l->n.ready_pairs;
	double per_peer = o->rate / pairs;
	struct pp_stats *s = &l->lat;

	pp_load_open_loop(l, o->rate, (int)(o->duration * 1000),
	                  (int)(o->drain * 1000));
	pp_stats_sort(s);
	double p99 = pp_ms(pp_stats_pct(s, 99));
	printf("relay latency p50 %.3f ms p99 %.3f ms max %.3f ms at %.0f msg/s "
	       "(target p99 <= %.0f ms: %s)\n", pp_ms(pp_stats_pct(s, 50)), p99,
	       pp_ms(s->max), o->rate, PP_TARGET_P99_MS,
	       pp_met(s->n > 0 && p99 <= PP_TARGET_P99_MS));
	uint64_t lost = l->n.sent > l->n.recv ? l->n.sent - l->n.recv : 0;
	printf("relayed: %.0f msg/s over %.2f s (sent %llu, received %llu, lost "
	       "%llu = not received by the end of a %.1f s drain; SEND_SDP %zu-byte / SEND_ICE alternating "
	       "over %u pairs, %.2f msg/s per gateway)\n",
	       l->phase_ns ? (double)l->n.recv * 1e9 / (double)l->phase_ns : 0.0,
	       (double)l->phase_ns / 1e9, (unsigned long long)l->n.sent,
	       (unsigned long long)l->n.recv, (unsigned long long)lost, o->drain,
	       pp_relaymsg_sdp_msg_len(), pairs, per_peer);
	if (l->n.recv_nots)
		printf("warning: %llu relayed messages had no readable timestamp\n",
		       (unsigned long long)l->n.recv_nots);
	if (lost && o->max_duration > 0) {
		/* Let a backlogged server finish before the next phase. */
		uint64_t recv0 = l->n.recv;
		uint64_t took = pp_load_settle(l, (int)(o->settle * 1000));
		printf("late: %llu of the lost messages arrived in the next %.1f s; "
		       "%llu never did\n", (unsigned long long)(l->n.recv - recv0),
		       (double)took / 1e9,
		       (unsigned long long)(l->n.sent - l->n.recv));
	}
}

static void pp_phase_max(struct pp_load *l, const struct pp_opts *o)
{
	uint64_t rl = l->n.err_rate_limited, late = l->n.late;
	uint64_t got = pp_load_closed_loop(l, o->window,
	                                   (int)(o->max_duration * 1000),
	                                   (int)(o->drain * 1000));
	struct pp_stats *s = &l->lat;

	pp_stats_sort(s);
	printf("max throughput: relayed %.0f msg/s closed-loop over %.2f s "
	       "(%u pairs, %u in flight each; latency p50 %.3f ms p99 %.3f ms)\n",
	       l->phase_ns ? (double)got * 1e9 / (double)l->phase_ns : 0.0,
	       (double)l->phase_ns / 1e9, l->nready, o->window,
	       pp_ms(pp_stats_pct(s, 50)), pp_ms(pp_stats_pct(s, 99)));
	if (l->n.late > late)
		printf("note: %llu messages of the previous phase arrived during "
		       "this one (not counted)\n",
		       (unsigned long long)(l->n.late - late));
	if (l->n.err_rate_limited > rl)
		printf("note: %llu messages refused as rate_limited: start the "
		       "server with limits.rate/limits.burst raised\n",
		       (unsigned long long)(l->n.err_rate_limited - rl));
}

static void pp_print_transport(const struct pp_load *l)
{
	if (!l->cfg.tls) {
		printf("transport: ws (plain TCP: the server's --insecure mode, not "
		       "the production configuration; --tls measures wss)\n");
		return;
	}
	if (!l->n.tls_desc[0]) {
		printf("transport: wss (no TLS handshake completed)\n");
		return;
	}
	printf("transport: wss (%s; server certificate verified for %s, a full "
	       "handshake per connection, no resumption, %u handshakes)\n",
	       l->n.tls_desc, l->cfg.host, l->n.tls_handshakes);
	if (l->n.tls_mixed)
		printf("warning: not every connection negotiated the parameters "
		       "above\n");
}

static int pp_run(const struct pp_opts *o, struct pp_srvproc *sp,
                  const struct pp_secret *secret, SSL_CTX **tls_ctx,
                  X509 *tls_trust)
{
	struct pp_load_cfg cfg = { .conns = o->conns, .batch = o->batch,
	                           .per_src = o->per_src, .secret = secret->data,
	                           .secret_len = secret->len,
	                           .watch_fd = sp->out_fd };
	struct pp_load l;
	struct pp_stats ref;
	char host[64], path[128];
	pid_t pid = sp->pid > 0 ? sp->pid : o->server_pid;
	int rc = 1;

	memset(&l, 0, sizeof(l));
	l.ep = l.tfd = -1;
	if (pp_parse_url(sp->pid > 0 ? sp->url : o->url, o->tls, host,
	                 sizeof(host), &cfg.port, path, sizeof(path)) < 0)
		return 1;
	cfg.host = host;
	cfg.path = path;
	if (o->tls && !(cfg.tls = *tls_ctx = pp_tls_client_ctx(tls_trust, host)))
		return 1;
	printf("signal-load: %u connections to %s://%s:%u%s (server pid %d%s)\n",
	       o->conns, o->tls ? "wss" : "ws", host, cfg.port, path, (int)pid,
	       sp->pid > 0 ? ", started here" : "");
	double load[1] = { -1 };
	getloadavg(load, 1);
	printf("machine: %d CPUs, load average %.2f at start (the server, this "
	       "client and anything else running share them)\n", get_nprocs(),
	       load[0]);
	fflush(stdout);

	/* Reference first, while the machine is quiet. */
	pp_relaymsg_init();
	size_t ref_size = pp_relaymsg_sdp_msg_len() + 8; /* + frame header */
	if (pp_stats_init(&ref, o->ref_rounds) < 0)
		return 1;
	if (pp_tcpref_run(ref_size, o->ref_rounds, &ref) < 0)
		goto out_ref;
	pp_stats_sort(&ref);

	long rss0 = pp_proc_rss_kib(pid);
	long self0 = pp_proc_rss_kib(getpid());
	if (rss0 < 0) {
		fprintf(stderr, "signal-load: cannot read /proc/%d/status\n", (int)pid);
		goto out_ref;
	}
	if (pp_load_init(&l, &cfg, (size_t)(o->rate * (o->duration + o->drain)) +
	                 (size_t)o->conns * o->window * 2 + 1000) < 0)
		goto out;
	uint64_t t0 = pp_now_ns();
	uint32_t pairs = pp_load_setup(&l, (int)(o->setup_timeout * 1000));
	double setup_s = (double)(pp_now_ns() - t0) / 1e9;
	printf("connections held: %u/%u (%u of %u rooms complete; joined in "
	       "%.1f s, %.0f conn/s)\n", pp_load_held(&l), o->conns, pairs,
	       o->conns / 2, setup_s, pp_load_held(&l) / setup_s);
	pp_print_transport(&l);
	fflush(stdout);
	if (pp_load_held(&l) < o->conns || pairs == 0) {
		fprintf(stderr, "signal-load: setup failed: %u connections failed "
		        "before joining, %u were dropped after joining, %u still "
		        "pending at the end; last problem: %s%s\n", l.n.failed,
		        l.n.dropped, pp_load_pending(&l),
		        l.n.last_error[0] ? l.n.last_error : "none reported",
		        pp_server_ok(sp, pid) ? "" : " (the server is gone)");
		goto out;
	}
	if (pairs < o->conns / 2)
		printf("warning: %u rooms never saw their pair complete (a NEW_PEER "
		       "or JOINED.peers entry missing); the relay phases use the "
		       "%u complete ones\n", o->conns / 2 - pairs, pairs);

	pp_load_idle(&l, (int)(o->idle_wait * 1000));
	long rss1 = pp_proc_rss_kib(pid);
	uint32_t held = pp_load_held(&l);
	if (rss1 < 0 || held == 0) {
		fprintf(stderr, "signal-load: the server is gone after setup\n");
		goto out;
	}
	double per = (double)(rss1 - rss0) / held;
	printf("server RSS: %.1f MiB before, %.1f MiB with %u idle connections\n",
	       rss0 / 1024.0, rss1 / 1024.0, held);
	printf("server RSS per idle connection: %.1f KiB (target <= %.0f KiB: %s)\n",
	       per, PP_TARGET_RSS_KIB, pp_met(per <= PP_TARGET_RSS_KIB));
	long self1 = pp_proc_rss_kib(getpid());
	if (self0 >= 0 && self1 >= 0)
		printf("client (signal-load) RSS: %.1f MiB before, %.1f MiB with %u "
		       "connections (%.1f KiB per connection)\n",
		       self0 / 1024.0, self1 / 1024.0, held,
		       (double)(self1 - self0) / held);
	fflush(stdout);

	if (o->rate / pairs > o->peer_limit) {
		fprintf(stderr, "signal-load: --rate %.0f over %u pairs is %.1f msg/s "
		        "per gateway, above --peer-limit %.0f; lower --rate or raise "
		        "--connections\n", o->rate, pairs, o->rate / pairs, o->peer_limit);
		goto out;
	}
	pp_phase_open(&l, o);
	fflush(stdout);
	if (!pp_server_ok(sp, pid)) {
		fprintf(stderr, "signal-load: the server died during the relay phase\n");
		goto out;
	}
	if (o->max_duration > 0)
		pp_phase_max(&l, o);
	printf("reference: loopback TCP round trip p50 %.3f ms p99 %.3f ms "
	       "(%zu-byte message to an echo thread, %u round trips, same run)\n",
	       pp_ms(pp_stats_pct(&ref, 50)), pp_ms(pp_stats_pct(&ref, 99)),
	       ref_size, o->ref_rounds);
	printf("connections still held at the end: %u/%u (%llu server pings "
	       "answered)\n", pp_load_held(&l), o->conns,
	       (unsigned long long)l.n.pings);
	pp_report_errors(&l);
	fflush(stdout);
	rc = pp_server_ok(sp, pid) ? 0 : 1;
	if (rc)
		fprintf(stderr, "signal-load: the server died during the run\n");
out:
	pp_load_free(&l);
out_ref:
	pp_stats_free(&ref);
	return rc;
}

int main(int argc, char **argv)
{
	struct pp_opts o;
	struct pp_srvproc sp = { .pid = -1, .out_fd = -1 };
	struct pp_secret secret = { 0 };
	struct pp_tls_cert tc = { .cert = NULL };
	SSL_CTX *tls_ctx = NULL;
	int rc;

	if (pp_parse(argc, argv, &o) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (pp_raise_nofile(o.conns) < 0)
		return 1;
	rc = pp_secret_read_file(o.secret_file, 32, &secret, NULL);
	if (rc < 0) {
		fprintf(stderr, "signal-load: cannot use the secret %s: %s "
		        "(32 bytes at least)\n", o.secret_file, pp_strerror(rc));
		return 1;
	}
	if (o.tls && pp_tls_cert_make(&tc) < 0) {
		pp_secret_free(&secret);
		return 1;
	}
	if (o.server && pp_srvproc_start(&sp, o.server, o.secret_file,
	                                 o.tls ? tc.cert_path : NULL,
	                                 o.tls ? tc.key_path : NULL, o.sargs,
	                                 o.nsargs, 10000) < 0) {
		pp_tls_cert_free(&tc);
		pp_secret_free(&secret);
		return 1;
	}
	pp_tls_cert_unlink(&tc); /* the server has loaded them */
	rc = pp_run(&o, &sp, &secret, &tls_ctx, tc.cert);
	if (o.server) {
		int died = !pp_srvproc_alive(&sp);
		int st = pp_srvproc_stop(&sp, 10000, rc != 0);
		if (rc != 0) {
			if (!died)
				;
			else if (st != -1 && WIFSIGNALED(st))
				fprintf(stderr, "signal-load: the server was killed by "
				        "signal %d\n", WTERMSIG(st));
			else if (st != -1 && WIFEXITED(st))
				fprintf(stderr, "signal-load: the server exited with "
				        "status %d\n", WEXITSTATUS(st));
			pp_srvproc_show_log(&sp);
		} else if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("note: the server did not exit cleanly on SIGTERM "
			       "(status %d)\n", st);
		}
	}
	SSL_CTX_free(tls_ctx);
	pp_tls_cert_free(&tc);
	pp_secret_free(&secret);
	return rc;
}
