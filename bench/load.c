/* SPDX-License-Identifier: Apache-2.0 */
/* The benchmark peers' protocol side: JOIN_ROOM with a fresh token, who
 * sees whom, relayed messages and their latency, and the load phases. */
#include "load_int.h"

#include "relaymsg.h"

#include "peerpipe/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PP_FINGERPRINT "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:" \
                       "19:E5:7C:AB:3E:4A:FE:17:9B:4C:1F:2A:D7:90:C3:5E"
#define PP_TOKEN_TTL 3600

void pp_load_note(struct pp_load *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->n.last_error, sizeof(l->n.last_error), fmt, ap);
	va_end(ap);
}

int pp_load_init(struct pp_load *l, const struct pp_load_cfg *cfg,
                 size_t lat_cap)
{
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->tfd = -1;
	l->npairs = cfg->conns / 2;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->c = calloc(cfg->conns, sizeof(*l->c));
	l->p = calloc(l->npairs, sizeof(*l->p));
	l->ready = calloc(l->npairs, sizeof(*l->ready));
	if (l->ep < 0 || l->tfd < 0 || !l->c || !l->p || !l->ready ||
	    pp_stats_init(&l->lat, lat_cap) < 0) {
		fprintf(stderr, "signal-load: out of memory or descriptors: %s\n",
		        strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < cfg->conns; i++)
		l->c[i].fd = -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = PP_LOAD_ID_TIMER };
	epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev);
	if (cfg->watch_fd >= 0) {
		ev.data.u32 = PP_LOAD_ID_WATCH;
		epoll_ctl(l->ep, EPOLL_CTL_ADD, cfg->watch_fd, &ev);
	}
	pp_relaymsg_init();
	return 0;
}

static void pp_load_watch(struct pp_load *l)
{
	char buf[4096];
	ssize_t n = read(l->cfg.watch_fd, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		epoll_ctl(l->ep, EPOLL_CTL_DEL, l->cfg.watch_fd, NULL);
}

/* One round of the loop, waiting at most timeout_ms. */
static void pp_load_poll(struct pp_load *l, int timeout_ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(l->ep, evs, 512, timeout_ms);

	for (int k = 0; k < n; k++) {
		uint32_t id = evs[k].data.u32;
		if (id == PP_LOAD_ID_TIMER) {
			uint64_t exp;
			if (read(l->tfd, &exp, sizeof(exp)) < 0)
				continue;
		} else if (id == PP_LOAD_ID_WATCH) {
			pp_load_watch(l);
		} else if (id < l->cfg.conns) {
			pp_conn_event(l, id, evs[k].events);
		}
	}
}

static int pp_ms_left(uint64_t now, uint64_t deadline, int cap)
{
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms > (uint64_t)cap ? cap : (int)ms;
}

static void pp_pair_update(struct pp_load *l, uint32_t p)
{
	struct pp_load_pair *pr = &l->p[p];
	int ready = pr->gw_sees && pr->desk_sees &&
	            l->c[2 * p].state == PP_CS_JOINED &&
	            l->c[2 * p + 1].state == PP_CS_JOINED;

	if (ready && !pr->ready)
		l->n.ready_pairs++;
	else if (!ready && pr->ready)
		l->n.ready_pairs--;
	pr->ready = (uint8_t)ready;
}

void pp_load_on_upgraded(struct pp_load *l, uint32_t i)
{
	uint32_t p = pp_load_pair_of(i);
	int gw = pp_load_is_gw(i);
	struct pp_jwt_claims cl;
	char *tok = NULL, *msg;
	int rc, n;

	memset(&cl, 0, sizeof(cl));
	snprintf(cl.sub, sizeof(cl.sub), "%s%06u", gw ? "gw" : "desk", p);
	snprintf(cl.room, sizeof(cl.room), "bench-%06u", p);
	cl.role = gw ? PP_ROLE_GATEWAY : PP_ROLE_DESKTOP;
	cl.iat = (int64_t)time(NULL);
	cl.exp = cl.iat + PP_TOKEN_TTL;
	rc = pp_jwt_sign(l->cfg.secret, l->cfg.secret_len, &cl, &tok);
	if (rc < 0) {
		pp_conn_fail(l, i, "pp_jwt_sign failed");
		return;
	}
	n = asprintf(&msg, "{\"type\":\"JOIN_ROOM\",\"room\":\"%s\",\"token\":\"%s\","
	             "\"fingerprint\":\"" PP_FINGERPRINT "\"}", cl.room, tok);
	free(tok);
	if (n < 0) {
		pp_conn_fail(l, i, "out of memory");
		return;
	}
	pp_conn_send(l, i, PP_WSC_TEXT, msg, (size_t)n);
	free(msg);
}

/* A visible peer announced to connection i (JOINED.peers or NEW_PEER). */
static void pp_load_sees(struct pp_load *l, uint32_t i, json_t *peer)
{
	struct pp_load_pair *pr = &l->p[pp_load_pair_of(i)];
	const char *role = json_string_value(json_object_get(peer, "role"));
	const char *id = json_string_value(json_object_get(peer, "peer_id"));

	if (!role || !id || strlen(id) != 32)
		return;
	if (pp_load_is_gw(i) && strcmp(role, "desktop") == 0) {
		memcpy(pr->desk_id, id, 33);
		pr->gw_sees = 1;
	} else if (!pp_load_is_gw(i) && strcmp(role, "gateway") == 0) {
		pr->desk_sees = 1;
	}
	pp_pair_update(l, pp_load_pair_of(i));
}

static void pp_load_error(struct pp_load *l, uint32_t i, json_t *root)
{
	const char *code = json_string_value(json_object_get(root, "code"));
	const char *ref = json_string_value(json_object_get(root, "ref"));
	const char *text = json_string_value(json_object_get(root, "message"));
	char why[160];

	if (code && strcmp(code, "rate_limited") == 0)
		l->n.err_rate_limited++;
	else
		l->n.err_other++;
	/* A refused relay message will never arrive. */
	if (ref && strncmp(ref, "SEND_", 5) == 0 && l->inflight)
		l->inflight--;
	snprintf(why, sizeof(why), "ERROR %s: %s (ref %s)", code ? code : "?",
	         text ? text : "", ref ? ref : "-");
	if (l->c[i].state == PP_CS_JOINING)
		pp_conn_fail(l, i, why);
	else if (!code || strcmp(code, "rate_limited") != 0)
		pp_load_note(l, "connection %u: %s", i, why);
}

static void pp_load_relay_send(struct pp_load *l, uint32_t p)
{
	static char msg[PP_RELAYMSG_MAX];
	struct pp_load_pair *pr = &l->p[p];
	enum pp_relaymsg_kind kind = pr->next_kind ? PP_RELAYMSG_ICE
	                                           : PP_RELAYMSG_SDP;
	size_t len = pp_relaymsg_build(msg, kind, pr->desk_id, pp_now_ns());

	pr->next_kind ^= 1;
	l->n.sent++;
	l->inflight++;
	pp_conn_send(l, 2 * p, PP_WSC_TEXT, msg, len);
}

static void pp_load_relayed(struct pp_load *l, uint32_t i, int stamped,
                            uint64_t ts)
{
	uint64_t now = pp_now_ns();

	if (stamped == 1 && ts < l->phase_t0) {
		l->n.late++; /* from an earlier phase: neither counted nor answered */
		return;
	}
	l->n.recv++;
	if (l->inflight)
		l->inflight--;
	l->t_last_recv = now;
	if (stamped == 1 && ts <= now)
		pp_stats_add(&l->lat, now - ts);
	else
		l->n.recv_nots++;
	if (l->closed_loop && l->sending && !pp_load_is_gw(i))
		pp_load_relay_send(l, pp_load_pair_of(i));
}

void pp_load_on_text(struct pp_load *l, uint32_t i, const char *text,
                     size_t len)
{
	uint64_t ts = 0;
	int r = pp_relaymsg_parse(text, len, &ts);
	json_t *root;
	const char *type;

	if (r != 0) {
		pp_load_relayed(l, i, r, ts);
		return;
	}
	root = json_loadb(text, len, 0, NULL);
	type = json_string_value(json_object_get(root, "type"));
	if (!type) {
		pp_load_note(l, "connection %u: unparsable message", i);
	} else if (strcmp(type, "JOINED") == 0 &&
	           l->c[i].state == PP_CS_JOINING) {
		json_t *peers = json_object_get(root, "peers"), *peer;
		size_t k;
		l->c[i].state = PP_CS_JOINED;
		l->in_setup--;
		l->n.joined++;
		json_array_foreach(peers, k, peer)
			pp_load_sees(l, i, peer);
		pp_pair_update(l, pp_load_pair_of(i));
	} else if (strcmp(type, "NEW_PEER") == 0) {
		pp_load_sees(l, i, json_object_get(root, "peer"));
	} else if (strcmp(type, "PEER_LEFT") == 0) {
		struct pp_load_pair *pr = &l->p[pp_load_pair_of(i)];
		l->n.peer_left++;
		if (pp_load_is_gw(i))
			pr->gw_sees = 0;
		else
			pr->desk_sees = 0;
		pp_pair_update(l, pp_load_pair_of(i));
	} else if (strcmp(type, "ERROR") == 0) {
		pp_load_error(l, i, root);
	}
	json_decref(root);
}

void pp_load_on_closed(struct pp_load *l, uint32_t i, int was_state)
{
	if (was_state == PP_CS_JOINED) {
		l->n.joined--;
		l->n.dropped++;
	} else if (was_state != PP_CS_NEW) {
		l->in_setup--;
		l->n.failed++;
	}
	pp_pair_update(l, pp_load_pair_of(i));
}

uint32_t pp_load_setup(struct pp_load *l, int timeout_ms)
{
	uint64_t deadline = pp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	uint64_t grace = 0;

	while (l->n.ready_pairs < l->npairs) {
		uint64_t now = pp_now_ns();
		while (l->in_setup < l->cfg.batch && l->next_open < l->cfg.conns)
			pp_conn_open(l, l->next_open++);
		if (l->next_open == l->cfg.conns && l->in_setup == 0) {
			/* Everything answered; NEW_PEERs may still be on the way
			 * from a busy server. */
			if (!grace)
				grace = now + 10000000000ull;
			else if (now >= grace)
				break;
		}
		if (now >= deadline)
			break;
		pp_load_poll(l, 10);
	}
	return l->n.ready_pairs;
}

void pp_load_idle(struct pp_load *l, int ms)
{
	uint64_t end = pp_now_ns() + (uint64_t)ms * 1000000ull;
	uint64_t now;

	while ((now = pp_now_ns()) < end)
		pp_load_poll(l, pp_ms_left(now, end, 100));
}

uint32_t pp_load_held(const struct pp_load *l)
{
	return l->n.joined;
}

uint32_t pp_load_pending(const struct pp_load *l)
{
	return l->in_setup + (l->cfg.conns - l->next_open);
}

static void pp_load_phase_start(struct pp_load *l)
{
	l->nready = 0;
	for (uint32_t p = 0; p < l->npairs; p++)
		if (l->p[p].ready)
			l->ready[l->nready++] = p;
	l->rr = 0;
	l->n.sent = l->n.recv = l->n.recv_nots = 0;
	l->inflight = 0;
	l->t_last_recv = 0;
	l->phase_ns = 0;
	l->phase_t0 = pp_now_ns();
	pp_stats_reset(&l->lat);
}

static void pp_load_timer(struct pp_load *l, uint64_t interval_ns)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(interval_ns % 1000000000ull);
	its.it_value = its.it_interval;
	timerfd_settime(l->tfd, 0, &its, NULL);
}

static void pp_load_drain(struct pp_load *l, uint64_t until)
{
	uint64_t now;

	while (l->inflight > 0 && (now = pp_now_ns()) < until)
		pp_load_poll(l, pp_ms_left(now, until, 10));
}

void pp_load_open_loop(struct pp_load *l, double rate, int dur_ms,
                       int drain_ms)
{
	uint64_t t0, end, now, interval = (uint64_t)(1e9 / rate);

	pp_load_phase_start(l);
	if (l->nready == 0)
		return;
	if (interval < 50000)
		interval = 50000;
	pp_load_timer(l, interval);
	t0 = pp_now_ns();
	end = t0 + (uint64_t)dur_ms * 1000000ull;
	while ((now = pp_now_ns()) < end) {
		uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e9) + 1;
		uint32_t tries = 0;
		while (l->n.sent < due && tries++ < l->nready * 2) {
			uint32_t p = l->ready[l->rr++ % l->nready];
			if (l->p[p].ready)
				pp_load_relay_send(l, p);
		}
		pp_load_poll(l, pp_ms_left(now, end, 5));
	}
	pp_load_timer(l, 0);
	pp_load_drain(l, pp_now_ns() + (uint64_t)drain_ms * 1000000ull);
	l->phase_ns = end - t0;
	if (l->t_last_recv > end)
		l->phase_ns = l->t_last_recv - t0;
}

uint64_t pp_load_settle(struct pp_load *l, int ms)
{
	uint64_t t0 = pp_now_ns();

	pp_load_drain(l, t0 + (uint64_t)ms * 1000000ull);
	return pp_now_ns() - t0;
}

uint64_t pp_load_closed_loop(struct pp_load *l, uint32_t window, int dur_ms,
                             int drain_ms)
{
	uint64_t t0, end, now, got;

	pp_load_phase_start(l);
	if (l->nready == 0)
		return 0;
	l->closed_loop = 1;
	l->sending = 1;
	t0 = pp_now_ns();
	end = t0 + (uint64_t)dur_ms * 1000000ull;
	for (uint32_t w = 0; w < window; w++)
		for (uint32_t k = 0; k < l->nready; k++)
			pp_load_relay_send(l, l->ready[k]);
	while ((now = pp_now_ns()) < end)
		pp_load_poll(l, pp_ms_left(now, end, 5));
	got = l->n.recv;
	l->phase_ns = pp_now_ns() - t0;
	l->sending = 0;
	pp_load_drain(l, pp_now_ns() + (uint64_t)drain_ms * 1000000ull);
	l->closed_loop = 0;
	return got;
}

void pp_load_free(struct pp_load *l)
{
	for (uint32_t i = 0; l->c && i < l->cfg.conns; i++)
		pp_conn_free(l, i);
	free(l->c);
	free(l->p);
	free(l->ready);
	pp_stats_free(&l->lat);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->ep >= 0)
		close(l->ep);
	l->c = NULL;
	l->p = NULL;
	l->ready = NULL;
}
