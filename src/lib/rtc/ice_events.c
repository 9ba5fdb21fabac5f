/* SPDX-License-Identifier: Apache-2.0 */
/* ICE: events for the user and the libnice signals that make them.
 *
 * libnice signals can fire inside libnice calls made from ice.c, so every
 * event is queued and delivered from an idle source on the context, and
 * flushed before each datagram (a state change is seen before the data
 * that follows it). */
#include "ice_priv.h"

#include <sys/socket.h>

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <string.h>

enum pp_ice_ev_kind {
	PP_ICE_EV_CAND,
	PP_ICE_EV_EOC,
	PP_ICE_EV_STATE,
	PP_ICE_EV_PAIR,
};

struct pp_ice_event {
	enum pp_ice_ev_kind kind;
	enum pp_ice_state state;
	char *line;
};

/* ---- events to the user ---- */

static void pp_ice_event_free(gpointer data)
{
	struct pp_ice_event *ev = data;

	g_free(ev->line);
	g_free(ev);
}

/* One event to the user. false: the callback freed ice, which is gone. */
static bool pp_ice_deliver(struct pp_ice *ice, const struct pp_ice_event *ev)
{
	ice->in_callback = true;
	switch (ev->kind) {
	case PP_ICE_EV_CAND:
	case PP_ICE_EV_EOC:
		if (ice->cb.on_local_candidate)
			ice->cb.on_local_candidate(ice->user, ev->line);
		break;
	case PP_ICE_EV_STATE:
		if (ice->cb.on_state)
			ice->cb.on_state(ice->user, ev->state);
		break;
	case PP_ICE_EV_PAIR:
		if (ice->cb.on_selected_pair)
			ice->cb.on_selected_pair(ice->user);
		break;
	}
	return pp_ice_callback_done(ice);
}

/* false: ice was freed by a callback. */
static bool pp_ice_flush(struct pp_ice *ice)
{
	struct pp_ice_event *ev;

	while (!ice->closing && (ev = g_queue_pop_head(&ice->events))) {
		bool alive = pp_ice_deliver(ice, ev);
		pp_ice_event_free(ev);
		if (!alive)
			return false;
	}
	return true;
}

static gboolean pp_ice_dispatch(gpointer data)
{
	struct pp_ice *ice = data;

	g_source_unref(ice->dispatch);
	ice->dispatch = NULL;
	pp_ice_flush(ice);
	return G_SOURCE_REMOVE;
}

static void pp_ice_queue(struct pp_ice *ice, enum pp_ice_ev_kind kind,
                         enum pp_ice_state state, char *line)
{
	struct pp_ice_event *ev = g_new0(struct pp_ice_event, 1);

	ev->kind = kind;
	ev->state = state;
	ev->line = line;
	g_queue_push_tail(&ice->events, ev);
	if (!ice->dispatch) {
		ice->dispatch = g_idle_source_new();
		g_source_set_priority(ice->dispatch, G_PRIORITY_DEFAULT);
		g_source_set_callback(ice->dispatch, pp_ice_dispatch, ice, NULL);
		g_source_attach(ice->dispatch, ice->ctx);
	}
}

void pp_ice_queue_state(struct pp_ice *ice, enum pp_ice_state s)
{
	pp_ice_queue(ice, PP_ICE_EV_STATE, s, NULL);
}

void pp_ice_queue_eoc(struct pp_ice *ice)
{
	pp_ice_queue(ice, PP_ICE_EV_EOC, 0, NULL);
}

void pp_ice_drop_events(struct pp_ice *ice)
{
	g_queue_clear_full(&ice->events, pp_ice_event_free);
	pp_source_clear(&ice->dispatch);
}

void pp_ice_set_state(struct pp_ice *ice, enum pp_ice_state s)
{
	if (s == ice->state)
		return;
	pp_log(PP_LOG_INFO, ice->peer, "ice: %s -> %s", pp_ice_state_name(ice->state),
	       pp_ice_state_name(s));
	ice->state = s;
	pp_ice_queue(ice, PP_ICE_EV_STATE, s, NULL);
}

/* ---- libnice signals and data ---- */

static void pp_ice_on_candidate(NiceAgent *agent, NiceCandidate *nc, gpointer data)
{
	struct pp_ice *ice = data;
	char line[PP_CAND_LINE_MAX + 1];

	if (nc->stream_id != ice->stream || ice->closing)
		return;
	if (pp_ice_cand_format(nc, ice->local_ufrag, line, sizeof(line)) < 0) {
		pp_log(PP_LOG_WARN, ice->peer, "ice: cannot format a local %s candidate",
		       pp_ice_cand_type_name(nc->type));
		return;
	}
	pp_log(PP_LOG_DEBUG, ice->peer, "ice: local %s", line);
	pp_ice_queue(ice, PP_ICE_EV_CAND, 0, g_strdup(line));
}

static void pp_ice_on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct pp_ice *ice = data;

	if (stream != ice->stream || ice->closing)
		return;
	pp_log(PP_LOG_DEBUG, ice->peer, "ice: gathering done");
	pp_ice_queue(ice, PP_ICE_EV_EOC, 0, NULL);
}

static void pp_ice_on_component_state(NiceAgent *agent, guint stream, guint comp,
                                      guint st, gpointer data)
{
	struct pp_ice *ice = data;
	enum pp_ice_state s;

	if (stream != ice->stream || ice->closing)
		return;
	switch (st) {
	case NICE_COMPONENT_STATE_CONNECTING:
		s = PP_ICE_CHECKING;
		break;
	case NICE_COMPONENT_STATE_CONNECTED:
		s = PP_ICE_CONNECTED;
		break;
	case NICE_COMPONENT_STATE_READY:
		s = PP_ICE_COMPLETED;
		break;
	case NICE_COMPONENT_STATE_FAILED:
		s = PP_ICE_FAILED;
		break;
	case NICE_COMPONENT_STATE_DISCONNECTED:
		if (ice->state != PP_ICE_CONNECTED && ice->state != PP_ICE_COMPLETED)
			return;
		s = PP_ICE_DISCONNECTED;
		break;
	default:
		return; /* gathering */
	}
	pp_ice_set_state(ice, s);
}

/* The kernel's default UDP buffers (about 208 KiB) overflow in a burst of
 * SCTP data long before the loop reads them, and every lost datagram costs
 * an SCTP retransmission: ask for PP_ICE_SOCKET_BUFFER (capped by
 * net.core.rmem_max / wmem_max). */
#define PP_ICE_SOCKET_BUFFER (4 << 20)

static void pp_ice_grow_buffers(struct pp_ice *ice, guint stream, guint comp)
{
	GSocket *sock = nice_agent_get_selected_socket(ice->agent, stream, comp);
	if (!sock)
		return;
	int size = PP_ICE_SOCKET_BUFFER;
	int fd = g_socket_get_fd(sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	g_object_unref(sock);
}

static void pp_ice_on_selected(NiceAgent *agent, guint stream, guint comp,
                               NiceCandidate *l, NiceCandidate *r, gpointer data)
{
	struct pp_ice *ice = data;

	if (stream != ice->stream || ice->closing)
		return;
	pp_log(PP_LOG_INFO, ice->peer, "ice: selected pair %s/%s %s",
	       pp_ice_cand_type_name(l->type), pp_ice_cand_type_name(r->type),
	       l->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp");
	if (l->transport == NICE_CANDIDATE_TRANSPORT_UDP)
		pp_ice_grow_buffers(ice, stream, comp);
	pp_ice_batch_select(ice, l, r);
	pp_ice_hot_select(ice);
	pp_ice_queue(ice, PP_ICE_EV_PAIR, 0, NULL);
}

/* GLib "blocks" a source that may not recurse around each dispatch: its
 * fds leave the poll set and come back, two eventfd writes and one more
 * turn of the loop per received datagram (strace: a fifth of the gateway's
 * syscalls on a request/response stream). libnice's socket sources
 * (g_socket_create_source, one per socket) are the source being
 * dispatched when a datagram reaches us: marked can-recurse the first
 * time, through public API. Safe because nothing in a dispatch of ours
 * iterates the context again (the only nested loops run at exit, outside
 * any dispatch). */
static void pp_ice_source_recurse(void)
{
	GSource *src = g_main_current_source();

	if (src && !g_source_get_can_recurse(src))
		g_source_set_can_recurse(src, TRUE);
}

void pp_ice_recv(NiceAgent *agent, guint stream, guint comp, guint len,
                        gchar *buf, gpointer data)
{
	struct pp_ice *ice = data;

	pp_ice_source_recurse();
	if (stream != ice->stream || ice->closing)
		return;
	pp_ice_deliver_data(ice, (const uint8_t *)buf, len);
}

bool pp_ice_deliver_data(struct pp_ice *ice, const uint8_t *buf, size_t len)
{
	if (!pp_ice_flush(ice)) /* state changes before the data after them */
		return false;
	if (ice->closing || !ice->cb.on_data)
		return true;
	ice->in_callback = true;
	ice->cb.on_data(ice->user, buf, len);
	return pp_ice_callback_done(ice);
}

void pp_ice_connect_signals(struct pp_ice *ice)
{
	g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(pp_ice_on_candidate), ice);
	g_signal_connect(ice->agent, "candidate-gathering-done",
	                 G_CALLBACK(pp_ice_on_gathering_done), ice);
	g_signal_connect(ice->agent, "component-state-changed",
	                 G_CALLBACK(pp_ice_on_component_state), ice);
	g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(pp_ice_on_selected),
	                 ice);
}
