/* SPDX-License-Identifier: Apache-2.0 */
#include "deadline.h"

#include "server.h"

#include <stddef.h>

static void sig_deadline_fire(struct ev_loop *loop, ev_timer *w, int revents);

static void sig_deadline_schedule(struct sig_wait_list *l)
{
	ev_timer_stop(l->srv->loop, &l->timer);
	if (!l->head)
		return;
	int64_t left = l->head->deadline_ms - pp_now_ms();
	ev_timer_set(&l->timer, left > 0 ? (double)left / 1000.0 : 0.0, 0.0);
	ev_timer_start(l->srv->loop, &l->timer);
}

void sig_deadline_init(struct sig_server *srv)
{
	const int64_t lengths[SIG_WAIT_COUNT] = {
		[SIG_WAIT_JOIN] = srv->cfg.join_timeout_ms,
		[SIG_WAIT_PING] = srv->cfg.ping_interval_ms,
		[SIG_WAIT_PONG] = srv->cfg.ping_timeout_ms,
	};
	for (int k = 0; k < SIG_WAIT_COUNT; k++) {
		struct sig_wait_list *l = &srv->deadlines.list[k];
		l->srv = srv;
		l->kind = (enum sig_wait)k;
		l->length_ms = lengths[k];
		l->head = l->tail = NULL;
		ev_timer_init(&l->timer, sig_deadline_fire, 0.0, 0.0);
	}
}

void sig_deadline_clear(struct sig_server *srv, struct sig_peer *p)
{
	if (p->wait_kind == SIG_WAIT_NONE)
		return;
	struct sig_wait_list *l = &srv->deadlines.list[p->wait_kind];
	bool was_head = l->head == p;
	if (p->wait_prev)
		p->wait_prev->wait_next = p->wait_next;
	else
		l->head = p->wait_next;
	if (p->wait_next)
		p->wait_next->wait_prev = p->wait_prev;
	else
		l->tail = p->wait_prev;
	p->wait_prev = p->wait_next = NULL;
	p->wait_kind = SIG_WAIT_NONE;
	if (was_head)
		sig_deadline_schedule(l);
}

void sig_deadline_set(struct sig_server *srv, struct sig_peer *p, enum sig_wait kind)
{
	struct sig_wait_list *l = &srv->deadlines.list[kind];
	sig_deadline_clear(srv, p);
	p->wait_kind = kind;
	p->deadline_ms = pp_now_ms() + l->length_ms;
	p->wait_next = NULL;
	p->wait_prev = l->tail;
	if (l->tail)
		l->tail->wait_next = p;
	else
		l->head = p;
	l->tail = p;
	if (l->head == p)
		sig_deadline_schedule(l);
}

static void sig_deadline_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sig_wait_list *l = (struct sig_wait_list *)((char *)w - offsetof(struct sig_wait_list, timer));
	(void)loop, (void)revents;
	int64_t now = pp_now_ms();
	struct sig_peer *p;

	while ((p = l->head) && p->deadline_ms <= now) {
		/* Taken off first: the handler may set a new deadline. */
		l->head = p->wait_next;
		if (l->head)
			l->head->wait_prev = NULL;
		else
			l->tail = NULL;
		p->wait_next = p->wait_prev = NULL;
		p->wait_kind = SIG_WAIT_NONE;
		sig_handle_deadline(l->srv, p, l->kind);
	}
	sig_deadline_schedule(l);
}

void sig_deadline_stop(struct sig_server *srv)
{
	for (int k = 0; k < SIG_WAIT_COUNT; k++)
		ev_timer_stop(srv->loop, &srv->deadlines.list[k].timer);
}
