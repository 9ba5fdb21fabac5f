/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's alert mapping (src/gateway/gw_alert.c, compiled in here)
 * with the tunnel, the audit log and Sentinel replaced by recorders:
 * an alert on a live stream (ALERT, abort, audit; the drop record that
 * follows is not reported again), and the ips race where Suricata's reset
 * closed the stream before its alert was read (the ring of recently ended
 * flows: ALERT with the stream's label to the peer if it is still
 * connected, audit with peer and service, nothing twice), the ring's
 * bound, a flow that was never ours, and two live service sockets that
 * share a local port (the key is the 4-tuple, flow_key.h). */
#include "gateway.h"
#include "audit.h"

#include "peerpipe/error.h"

#include <arpa/inet.h>
#include <glib.h>
#include <jansson.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the recorders (what gw_alert.c calls) ------------------------------- */

struct pp_tstream {
	char name[32];
	const char *aborted; /* reason */
};
struct pp_tsession {
	GPtrArray *sent; /* control messages */
};
struct pp_tlink {
	struct pp_tsession s;
	void *data;
};
struct pp_tnode {
	struct pp_tlink *links[4];
};

static json_t *audits; /* array of the records */
static unsigned sentinel_alerts;

const char *pp_tstream_name(const struct pp_tstream *st)
{
	return st->name;
}

void pp_tstream_abort(struct pp_tstream *st, const char *reason)
{
	st->aborted = reason;
}

struct pp_tsession *pp_tlink_session(struct pp_tlink *l)
{
	return &l->s;
}

void *pp_tlink_get_data(const struct pp_tlink *l)
{
	return l->data;
}

int pp_tsession_send_control(struct pp_tsession *s, const char *json)
{
	g_ptr_array_add(s->sent, g_strdup(json));
	return 0;
}

void pp_tnode_foreach_link(struct pp_tnode *n, void (*fn)(struct pp_tlink *l, void *data),
                           void *data)
{
	for (size_t i = 0; i < G_N_ELEMENTS(n->links); i++)
		if (n->links[i])
			fn(n->links[i], data);
}

void gw_audit(const char *event, json_t *obj)
{
	json_object_set_new(obj, "event", json_string(event));
	json_array_append_new(audits, obj);
}

void gw_sentinel_note(struct gw_peer *p, enum sentinel_event ev, const char *service)
{
	(void)p;
	(void)service;
	if (ev == SENTINEL_EV_ALERT)
		sentinel_alerts++;
}

/* ---- the scene ------------------------------------------------------------- */

static struct gw gw;
static struct pp_tnode node;
static struct pp_tlink link_a;
static struct gw_identity alice = { .name = "alice", .fp_text = "sha-256 AA:BB" };
static struct gw_peer peer;

static void setup(void)
{
	memset(&gw, 0, sizeof(gw));
	memset(&node, 0, sizeof(node));
	gw.flows = g_hash_table_new(g_str_hash, g_str_equal);
	gw.node = &node;
	gw.recent = gw_alert_recent_new();
	link_a = (struct pp_tlink){ .s.sent = g_ptr_array_new_with_free_func(g_free), .data = &peer };
	peer = (struct gw_peer){ .gw = &gw, .link = &link_a, .identity = &alice, .since_us = 12345 };
	node.links[0] = &link_a;
	audits = json_array();
	sentinel_alerts = 0;
}

static void teardown(void)
{
	g_hash_table_destroy(gw.flows);
	gw_alert_recent_free(gw.recent);
	g_ptr_array_free(link_a.s.sent, TRUE);
	json_decref(audits);
}

/* A connected stream whose service socket is 10.0.0.1:port -> 10.0.1.10:9004. */
static struct gw_stream *stream(struct pp_tstream *st, unsigned id, uint16_t port)
{
	struct gw_stream *gs = g_new0(struct gw_stream, 1);

	g_snprintf(st->name, sizeof(st->name), "rec#%u", id);
	st->aborted = NULL;
	gs->peer = &peer;
	gs->st = st;
	gs->connected = true;
	g_strlcpy(gs->service, "rec", sizeof(gs->service));
	g_snprintf(gs->flow_key, sizeof(gs->flow_key), "10.0.0.1 %u 10.0.1.10 9004", port);
	g_hash_table_replace(gw.flows, gs->flow_key, gs);
	return gs;
}

/* An EVE record on the flow from 10.0.0.1:port (blocked, sid 9100001);
 * drop records have no flow object, as Suricata writes them. */
static struct pp_eve eve(const char *type, uint16_t port)
{
	char line[1024], flow[160] = "";
	struct pp_eve e;
	const char *why = NULL;

	if (strcmp(type, "alert") == 0)
		g_snprintf(flow, sizeof(flow), ",\"flow\":{\"src_ip\":\"10.0.0.1\",\"src_port\":%u,"
		           "\"dest_ip\":\"10.0.1.10\",\"dest_port\":9004}", port);
	g_snprintf(line, sizeof(line),
	           "{\"timestamp\":\"2026-11-22T05:45:42.196000+0000\",\"event_type\":\"%s\","
	           "\"src_ip\":\"10.0.0.1\",\"src_port\":%u,"
	           "\"dest_ip\":\"10.0.1.10\",\"dest_port\":9004,\"proto\":\"TCP\","
	           "\"direction\":\"to_server\",\"alert\":{\"action\":\"blocked\",\"gid\":1,"
	           "\"signature_id\":9100001,\"rev\":1,\"signature\":\"PEERPIPE SQLi\","
	           "\"category\":\"x\",\"severity\":1}%s}",
	           type, port, flow);
	int rc = pp_eve_parse(line, strlen(line), &e, &why);
	if (rc != 0)
		g_error("eve: %s: %s", why, line);
	return e;
}

static json_t *audit_at(size_t i)
{
	g_assert_cmpuint(json_array_size(audits), >, i);
	return json_array_get(audits, i);
}

static const char *audit_str(size_t i, const char *key)
{
	return json_string_value(json_object_get(audit_at(i), key));
}

/* ---- tests ----------------------------------------------------------------- */

static void test_live(void)
{
	struct pp_tstream st;
	struct gw_stream *gs;
	struct pp_eve e;

	setup();
	gs = stream(&st, 3, 40001);
	e = eve("alert", 40001);
	gw_alert(&gw, &e);
	g_assert_cmpstr(st.aborted, ==, "IDS alert");
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "\"stream\":\"rec#3\""));
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "9100001"));
	g_assert_cmpuint(json_array_size(audits), ==, 1);
	g_assert_cmpstr(audit_str(0, "action"), ==, "stream_closed");
	g_assert_cmpstr(audit_str(0, "ids_action"), ==, "blocked");
	g_assert_cmpstr(audit_str(0, "peer"), ==, "alice");
	g_assert_cmpstr(audit_str(0, "service"), ==, "rec");
	g_assert_cmpstr(audit_str(0, "stream"), ==, "rec#3");
	g_assert_cmpuint(sentinel_alerts, ==, 1);
	g_assert_null(g_hash_table_lookup(gw.flows, "10.0.0.1 40001 10.0.1.10 9004"));
	/* the stream's close comes later: nothing new */
	gw_alert_untrack(&gw, gs);
	/* the drop record of the same packet: not a second incident */
	e = eve("drop", 40001);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_cmpuint(json_array_size(audits), ==, 1);
	g_assert_cmpuint(sentinel_alerts, ==, 1);
	g_free(gs);
	teardown();
}

static void test_reset_first(void)
{
	struct pp_tstream st;
	struct gw_stream *gs;
	struct pp_eve e;

	setup();
	gs = stream(&st, 5, 40002);
	/* Suricata's reset closed the stream (gw_stream_closed untracks it) */
	gw_alert_untrack(&gw, gs);
	g_free(gs);
	e = eve("alert", 40002);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "\"stream\":\"rec#5\""));
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "stream_closed"));
	g_assert_cmpuint(json_array_size(audits), ==, 1);
	g_assert_cmpstr(audit_str(0, "peer"), ==, "alice");
	g_assert_cmpstr(audit_str(0, "fingerprint"), ==, "sha-256 AA:BB");
	g_assert_cmpstr(audit_str(0, "service"), ==, "rec");
	g_assert_cmpstr(audit_str(0, "stream"), ==, "rec#5");
	g_assert_cmpstr(audit_str(0, "action"), ==, "stream_closed");
	g_assert_cmpuint(sentinel_alerts, ==, 1);
	/* its drop record and a second rule on it: nothing more */
	e = eve("drop", 40002);
	gw_alert(&gw, &e);
	e = eve("alert", 40002);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_cmpuint(json_array_size(audits), ==, 1);
	teardown();
}

static void test_peer_gone(void)
{
	struct pp_tstream st;
	struct gw_stream *gs;
	struct pp_eve e;

	setup();
	gs = stream(&st, 7, 40003);
	gw_alert_untrack(&gw, gs);
	g_free(gs);
	/* the peer left, and a new one sits at the same address: not it */
	peer.since_us = 99999;
	e = eve("alert", 40003);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 0);
	g_assert_cmpuint(sentinel_alerts, ==, 0);
	g_assert_cmpuint(json_array_size(audits), ==, 1);
	g_assert_cmpstr(audit_str(0, "peer"), ==, "alice");
	g_assert_cmpstr(audit_str(0, "service"), ==, "rec");
	/* no node (shutting down): the same */
	peer.since_us = 12345;
	gw.node = NULL;
	gs = stream(&st, 8, 40004);
	gw_alert_untrack(&gw, gs);
	g_free(gs);
	e = eve("alert", 40004);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 0);
	g_assert_cmpuint(json_array_size(audits), ==, 2);
	teardown();
}

static void test_bounded_and_foreign(void)
{
	struct pp_tstream st;
	struct pp_eve e;

	setup();
	/* 257 ended flows: the ring keeps the last 256 */
	for (unsigned i = 0; i <= 256; i++) {
		struct gw_stream *gs = stream(&st, i, (uint16_t)(41000 + i));
		gw_alert_untrack(&gw, gs);
		g_free(gs);
	}
	e = eve("alert", 41000);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 0);
	g_assert_cmpstr(audit_str(0, "action"), ==, "none");
	g_assert_null(json_object_get(audit_at(0), "peer"));
	e = eve("alert", 41001);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "\"stream\":\"rec#1\""));
	/* never ours */
	e = eve("alert", 50000);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_cmpstr(audit_str(2, "action"), ==, "none");
	/* ids off: no ring, untrack only forgets */
	gw_alert_recent_free(gw.recent);
	gw.recent = NULL;
	struct gw_stream *gs = stream(&st, 9, 42000);
	gw_alert_untrack(&gw, gs);
	g_free(gs);
	e = eve("alert", 42000);
	gw_alert(&gw, &e);
	g_assert_cmpuint(link_a.s.sent->len, ==, 1);
	g_assert_cmpstr(audit_str(3, "action"), ==, "none");
	teardown();
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A client socket bound to 127.0.0.1:local (0: any) and connected to
 * 127.0.0.1:to; *bound gets its local port. */
static int client(uint16_t local, uint16_t to, uint16_t *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		                 .sin_port = htons(local) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)), ==, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
	*bound = ntohs(a.sin_port);
	a.sin_port = htons(to);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	return fd;
}

/* An alert on 127.0.0.1:from -> 127.0.0.1:to. */
static struct pp_eve eve_loopback(uint16_t from, uint16_t to)
{
	char line[1024];
	struct pp_eve e;
	const char *why = NULL;

	g_snprintf(line, sizeof(line),
	           "{\"timestamp\":\"2026-11-22T05:45:42.196000+0000\",\"event_type\":\"alert\","
	           "\"src_ip\":\"127.0.0.1\",\"src_port\":%u,"
	           "\"dest_ip\":\"127.0.0.1\",\"dest_port\":%u,\"proto\":\"TCP\","
	           "\"direction\":\"to_server\",\"alert\":{\"action\":\"allowed\","
	           "\"signature_id\":9100001,\"signature\":\"PEERPIPE SQLi\"},"
	           "\"flow\":{\"src_ip\":\"127.0.0.1\",\"src_port\":%u,\"dest_ip\":\"127.0.0.1\","
	           "\"dest_port\":%u}}", from, to, from, to);
	if (pp_eve_parse(line, strlen(line), &e, &why) != 0)
		g_error("eve: %s: %s", why, line);
	return e;
}

/* Linux gives one local port to connections towards different services:
 * both sockets are tracked, and an alert resets the stream of its own
 * flow, not whichever was tracked last under the shared local address. */
static void test_shared_local_port(void)
{
	struct pp_tstream st1, st2;
	struct gw_stream *gs1, *gs2;
	uint16_t p1, p2, local, local2;
	int l1 = listener(&p1), l2 = listener(&p2);
	int c1 = client(0, p1, &local), c2 = client(local, p2, &local2);
	struct pp_eve e;

	setup();
	g_assert_cmpuint(local, ==, local2);
	gw.ids = (struct pp_suricata *)&gw; /* on; never dereferenced by gw_alert.c */
	gs1 = stream(&st1, 1, 1);
	gs2 = stream(&st2, 2, 2);
	g_hash_table_remove_all(gw.flows); /* tracked by their sockets instead */
	gw_alert_track(&gw, gs1, c1);
	gw_alert_track(&gw, gs2, c2);
	g_assert_cmpuint(g_hash_table_size(gw.flows), ==, 2);
	e = eve_loopback(local, p1);
	gw_alert(&gw, &e);
	g_assert_cmpstr(st1.aborted, ==, "IDS alert");
	g_assert_null(st2.aborted);
	g_assert_nonnull(strstr(g_ptr_array_index(link_a.s.sent, 0), "\"stream\":\"rec#1\""));
	g_assert_true(g_hash_table_lookup(gw.flows, gs2->flow_key) == gs2);
	e = eve_loopback(local, p2);
	gw_alert(&gw, &e);
	g_assert_cmpstr(st2.aborted, ==, "IDS alert");
	gw_alert_untrack(&gw, gs1);
	gw_alert_untrack(&gw, gs2);
	g_free(gs1);
	g_free(gs2);
	close(c1);
	close(c2);
	close(l1);
	close(l2);
	teardown();
}

/* A 4-tuple still held by a stream whose socket closed is taken over by
 * the new stream: one entry, the new stream's, and the old one's end and
 * free leave it alone (the table's key was the old stream's buffer). */
static void test_takeover(void)
{
	struct pp_tstream st1, st2;
	struct gw_stream *gs1, *gs2;
	uint16_t p1, local;
	int l1 = listener(&p1), c1 = client(0, p1, &local);
	struct pp_eve e;

	setup();
	gw.ids = (struct pp_suricata *)&gw;
	gs1 = stream(&st1, 1, 1);
	gs2 = stream(&st2, 2, 2);
	g_hash_table_remove_all(gw.flows);
	gw_alert_track(&gw, gs1, c1);
	gw_alert_track(&gw, gs2, c1); /* the same addresses again */
	g_assert_cmpuint(g_hash_table_size(gw.flows), ==, 1);
	g_assert_true(g_hash_table_lookup(gw.flows, gs2->flow_key) == gs2);
	gw_alert_untrack(&gw, gs1);
	g_free(gs1);
	g_assert_cmpuint(g_hash_table_size(gw.flows), ==, 1);
	e = eve_loopback(local, p1);
	gw_alert(&gw, &e);
	g_assert_cmpstr(st2.aborted, ==, "IDS alert");
	g_assert_null(st1.aborted);
	gw_alert_untrack(&gw, gs2);
	g_assert_cmpuint(g_hash_table_size(gw.flows), ==, 0);
	g_free(gs2);
	close(c1);
	close(l1);
	teardown();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ids/gw_alert/live", test_live);
	g_test_add_func("/ids/gw_alert/reset_first", test_reset_first);
	g_test_add_func("/ids/gw_alert/peer_gone", test_peer_gone);
	g_test_add_func("/ids/gw_alert/bounded_and_foreign", test_bounded_and_foreign);
	g_test_add_func("/ids/gw_alert/shared_local_port", test_shared_local_port);
	g_test_add_func("/ids/gw_alert/takeover", test_takeover);
	return g_test_run();
}
