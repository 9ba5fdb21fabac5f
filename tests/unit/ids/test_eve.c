/* SPDX-License-Identifier: Apache-2.0 */
/* EVE records and the EVE line splitter.
 *
 * The fixtures are real: data/eve-suricata.jsonl and the lines below were
 * written by Suricata 7.0.10 (tests/ids/make_eve_fixture.py runs it over
 * tests/ids/make_pcap.py's flows with deploy/suricata/peerpipe.rules, as
 * IDS and as simulated IPS). Client 10.0.0.2 / fd00::2, ports 40001..;
 * service 10.0.1.10 / fd00:1::10. */
#include "peerpipe/error.h"
#include "peerpipe/ids/eve.h"

#include <arpa/inet.h>
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* sid 2100498 on the service's answer "uid=0(root)": the top level is the
 * packet (service -> client), "flow" is the connection (client first). */
static const char eve_alert_v4[] =
	"{\"timestamp\":\"2025-01-01T00:00:00.008000+0000\",\"flow_id\":3455902720,\"pcap_cnt\""
	":9,\"event_type\":\"alert\",\"src_ip\":\"10.0.1.10\",\"src_port\":7000,\"dest_ip\":\"1"
	"0.0.0.2\",\"dest_port\":40001,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"alert\":{"
	"\"action\":\"allowed\",\"gid\":1,\"signature_id\":2100498,\"rev\":7,\"signature\":\"GP"
	"L ATTACK_RESPONSE id check returned root\",\"category\":\"Potentially Bad Traffic\",\""
	"severity\":2},\"direction\":\"to_client\",\"flow\":{\"pkts_toserver\":5,\"pkts_toclien"
	"t\":4,\"bytes_toserver\":273,\"bytes_toclient\":255,\"start\":\"2025-01-01T00:00:00.00"
	"0000+0000\",\"src_ip\":\"10.0.0.2\",\"dest_ip\":\"10.0.1.10\",\"src_port\":40001,\"des"
	"t_port\":7000}}";

/* The same over IPv6: Suricata writes the addresses uncompressed. */
static const char eve_alert_v6[] =
	"{\"timestamp\":\"2025-01-01T00:00:01.008000+0000\",\"flow_id\":281479212038126,\"pcap_"
	"cnt\":19,\"event_type\":\"alert\",\"src_ip\":\"fd00:0001:0000:0000:0000:0000:0000:0010"
	"\",\"src_port\":7000,\"dest_ip\":\"fd00:0000:0000:0000:0000:0000:0000:0002\",\"dest_po"
	"rt\":40002,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"alert\":{\"action\":\"allowed"
	"\",\"gid\":1,\"signature_id\":2100498,\"rev\":7,\"signature\":\"GPL ATTACK_RESPONSE id"
	" check returned root\",\"category\":\"Potentially Bad Traffic\",\"severity\":2},\"dire"
	"ction\":\"to_client\",\"flow\":{\"pkts_toserver\":5,\"pkts_toclient\":4,\"bytes_toserv"
	"er\":373,\"bytes_toclient\":335,\"start\":\"2025-01-01T00:00:01.000000+0000\",\"src_ip"
	"\":\"fd00:0000:0000:0000:0000:0000:0000:0002\",\"dest_ip\":\"fd00:0001:0000:0000:0000:"
	"0000:0000:0010\",\"src_port\":40002,\"dest_port\":7000}}";

/* A bundled rule on an HTTP request: metadata and the http object nest. */
static const char eve_alert_http[] =
	"{\"timestamp\":\"2025-01-01T00:00:02.006000+0000\",\"flow_id\":562953476615643,\"pcap_"
	"cnt\":27,\"event_type\":\"alert\",\"src_ip\":\"10.0.0.2\",\"src_port\":40003,\"dest_ip"
	"\":\"10.0.1.10\",\"dest_port\":80,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"tx_id"
	"\":0,\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":9100001,\"rev\":1,\""
	"signature\":\"PEERPIPE SQLi UNION SELECT in URI\",\"category\":\"Web Application Attac"
	"k\",\"severity\":1,\"metadata\":{\"mitre_tactic_id\":[\"TA0001\"],\"mitre_technique_id"
	"\":[\"T1190\"],\"peerpipe_group\":[\"sqli\"]}},\"http\":{\"hostname\":\"app.internal\""
	",\"url\":\"/items?id=1%20UNION%20SELECT%20username,password%20FROM%20users--\",\"http_"
	"user_agent\":\"curl/7.88.1\",\"http_content_type\":\"text/html\",\"http_method\":\"GET"
	"\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":13},\"app_proto\":\"http\",\"di"
	"rection\":\"to_server\",\"flow\":{\"pkts_toserver\":4,\"pkts_toclient\":3,\"bytes_tose"
	"rver\":356,\"bytes_toclient\":239,\"start\":\"2025-01-01T00:00:02.000000+0000\",\"src_"
	"ip\":\"10.0.0.2\",\"dest_ip\":\"10.0.1.10\",\"src_port\":40003,\"dest_port\":80}}";

/* IPS (--simulate-ips, the rule as "drop"): the alert says blocked... */
static const char eve_alert_blocked[] =
	"{\"timestamp\":\"2025-01-01T00:00:00.005000+0000\",\"flow_id\":2524882747,\"pcap_cnt\""
	":6,\"event_type\":\"alert\",\"src_ip\":\"10.0.1.10\",\"src_port\":7000,\"dest_ip\":\"1"
	"0.0.0.2\",\"dest_port\":40001,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"alert\":{"
	"\"action\":\"blocked\",\"gid\":1,\"signature_id\":2100498,\"rev\":7,\"signature\":\"GP"
	"L ATTACK_RESPONSE id check returned root\",\"category\":\"Potentially Bad Traffic\",\""
	"severity\":2},\"direction\":\"to_client\",\"flow\":{\"pkts_toserver\":3,\"pkts_toclien"
	"t\":3,\"bytes_toserver\":165,\"bytes_toclient\":201,\"start\":\"2025-01-01T00:00:00.00"
	"0000+0000\",\"src_ip\":\"10.0.0.2\",\"dest_ip\":\"10.0.1.10\",\"src_port\":40001,\"des"
	"t_port\":7000}}";

/* ...and the drop record has no addresses in a "flow", only a direction. */
static const char eve_drop_rule[] =
	"{\"timestamp\":\"2025-01-01T00:00:00.005000+0000\",\"flow_id\":2524882747,\"pcap_cnt\""
	":6,\"event_type\":\"drop\",\"src_ip\":\"10.0.1.10\",\"src_port\":7000,\"dest_ip\":\"10"
	".0.0.2\",\"dest_port\":40001,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"direction\""
	":\"to_client\",\"drop\":{\"len\":79,\"tos\":0,\"ttl\":64,\"ipid\":40006,\"tcpseq\":200"
	"0001,\"tcpack\":1000004,\"tcpwin\":65535,\"syn\":false,\"ack\":true,\"psh\":true,\"rst"
	"\":false,\"urg\":false,\"fin\":false,\"tcpres\":0,\"tcpurgp\":0,\"reason\":\"rules\"},"
	"\"alert\":{\"action\":\"blocked\",\"gid\":1,\"signature_id\":2100498,\"rev\":7,\"signa"
	"ture\":\"GPL ATTACK_RESPONSE id check returned root\",\"category\":\"Potentially Bad T"
	"raffic\",\"severity\":2}}";

/* The rest of that flow is dropped too, without an alert object. */
static const char eve_drop_flow[] =
	"{\"timestamp\":\"2025-01-01T00:00:00.006000+0000\",\"flow_id\":2524882747,\"pcap_cnt\""
	":7,\"event_type\":\"drop\",\"src_ip\":\"10.0.0.2\",\"src_port\":40001,\"dest_ip\":\"10"
	".0.1.10\",\"dest_port\":7000,\"proto\":\"TCP\",\"pkt_src\":\"wire/pcap\",\"direction\""
	":\"to_server\",\"drop\":{\"len\":40,\"tos\":0,\"ttl\":64,\"ipid\":40007,\"tcpseq\":100"
	"0004,\"tcpack\":2000040,\"tcpwin\":65535,\"syn\":false,\"ack\":true,\"psh\":false,\"rs"
	"t\":false,\"urg\":false,\"fin\":false,\"tcpres\":0,\"tcpurgp\":0,\"reason\":\"flow dro"
	"p\"}}";

/* A flow record: the initiator at the top level, no direction. */
static const char eve_flow[] =
	"{\"timestamp\":\"2025-01-01T00:00:31.009000+0000\",\"flow_id\":1125903869149988,\"even"
	"t_type\":\"flow\",\"src_ip\":\"10.0.0.2\",\"src_port\":40029,\"dest_ip\":\"10.0.1.10\""
	",\"dest_port\":5432,\"proto\":\"TCP\",\"app_proto\":\"ssh\",\"flow\":{\"pkts_toserver"
	"\":5,\"pkts_toclient\":3,\"bytes_toserver\":293,\"bytes_toclient\":162,\"start\":\"202"
	"5-01-01T00:00:28.000000+0000\",\"end\":\"2025-01-01T00:00:28.007000+0000\",\"age\":0,"
	"\"state\":\"closed\",\"reason\":\"shutdown\",\"alerted\":true},\"tcp\":{\"tcp_flags\":"
	"\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"13\",\"syn\":true,\"fin\":true,\"psh"
	"\":true,\"ack\":true,\"state\":\"closed\",\"ts_max_regions\":1,\"tc_max_regions\":1}}";

static void parse_ok(const char *text, size_t len, struct pp_eve *e, enum pp_eve_type want)
{
	const char *why = "";
	int rc = pp_eve_parse(text, len, e, &why);
	if (rc)
		g_error("%.120s: %s", text, why);
	g_assert_cmpint(e->type, ==, want);
}

#define PARSE_OK(text, e, want) parse_ok(text, strlen(text), e, want)

/* Must fail with rc and a reason containing `reason`; *out zeroed. */
static void parse_bad(const char *text, size_t len, int rc, const char *reason)
{
	static const struct pp_eve zero;
	struct pp_eve e;
	const char *why = NULL;

	memset(&e, 0xa5, sizeof(e));
	g_assert_cmpint(pp_eve_parse(text, len, &e, &why), ==, rc);
	g_assert_nonnull(why);
	if (!strstr(why, reason))
		g_error("%.100s: reason \"%s\", wanted \"%s\"", text, why, reason);
	g_assert_true(memcmp(&e, &zero, sizeof(e)) == 0);
	g_assert_cmpint(pp_eve_parse(text, len, &e, NULL), ==, rc); /* why optional */
}

#define BAD(text, reason) parse_bad(text, strlen(text), PP_ERR_INVALID, reason)

static void check_ep(const struct pp_eve_endpoint *ep, int family, const char *ip, int port)
{
	unsigned char bin[16];

	g_assert_true(ep->has_ip);
	g_assert_cmpint(ep->family, ==, family);
	g_assert_cmpstr(ep->ip, ==, ip);
	g_assert_cmpint(inet_pton(family, ip, bin), ==, 1);
	g_assert_true(memcmp(bin, &ep->addr, family == AF_INET ? 4 : 16) == 0);
	g_assert_true(ep->has_port);
	g_assert_cmpint(ep->port, ==, port);
}

static void test_alert_v4(void)
{
	const struct pp_eve_endpoint *c, *s;
	struct pp_eve e;

	PARSE_OK(eve_alert_v4, &e, PP_EVE_ALERT);
	g_assert_cmpstr(e.event_type, ==, "alert");
	g_assert_cmpstr(e.timestamp, ==, "2025-01-01T00:00:00.008000+0000");
	g_assert_true(e.has_flow_id);
	g_assert_cmpuint(e.flow_id, ==, 3455902720u);
	g_assert_cmpstr(e.proto, ==, "TCP");
	g_assert_cmpstr(e.app_proto, ==, "");
	g_assert_cmpint(e.direction, ==, PP_EVE_DIR_TO_CLIENT);
	/* The packet that matched came from the service... */
	check_ep(&e.src, AF_INET, "10.0.1.10", 7000);
	check_ep(&e.dest, AF_INET, "10.0.0.2", 40001);
	/* ...the connection was opened by the client. */
	check_ep(&e.flow_src, AF_INET, "10.0.0.2", 40001);
	check_ep(&e.flow_dest, AF_INET, "10.0.1.10", 7000);
	g_assert_true(pp_eve_initiator(&e, &c, &s));
	g_assert_true(c == &e.flow_src && s == &e.flow_dest);
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_ALLOWED);
	g_assert_cmpstr(pp_eve_action_name(e.alert.action), ==, "allowed");
	g_assert_cmpuint(e.alert.gid, ==, 1);
	g_assert_cmpuint(e.alert.signature_id, ==, 2100498);
	g_assert_cmpuint(e.alert.rev, ==, 7);
	g_assert_cmpuint(e.alert.severity, ==, 2);
	g_assert_cmpstr(e.alert.signature, ==, "GPL ATTACK_RESPONSE id check returned root");
	g_assert_cmpstr(e.alert.category, ==, "Potentially Bad Traffic");
}

static void test_alert_v6(void)
{
	const struct pp_eve_endpoint *c, *s;
	struct pp_eve e;

	PARSE_OK(eve_alert_v6, &e, PP_EVE_ALERT);
	check_ep(&e.src, AF_INET6, "fd00:1::10", 7000);
	check_ep(&e.flow_src, AF_INET6, "fd00::2", 40002);
	check_ep(&e.flow_dest, AF_INET6, "fd00:1::10", 7000);
	g_assert_true(pp_eve_initiator(&e, &c, &s));
	g_assert_cmpstr(c->ip, ==, "fd00::2");
	g_assert_cmpuint(e.flow_id, ==, 281479212038126u);
}

static void test_alert_http(void)
{
	struct pp_eve e;

	PARSE_OK(eve_alert_http, &e, PP_EVE_ALERT);
	g_assert_cmpstr(e.app_proto, ==, "http");
	g_assert_cmpint(e.direction, ==, PP_EVE_DIR_TO_SERVER);
	check_ep(&e.src, AF_INET, "10.0.0.2", 40003);
	check_ep(&e.flow_src, AF_INET, "10.0.0.2", 40003);
	check_ep(&e.flow_dest, AF_INET, "10.0.1.10", 80);
	g_assert_cmpuint(e.alert.signature_id, ==, 9100001);
	g_assert_cmpuint(e.alert.severity, ==, 1);
	g_assert_cmpstr(e.alert.signature, ==, "PEERPIPE SQLi UNION SELECT in URI");
	g_assert_cmpstr(e.alert.category, ==, "Web Application Attack");
}

static void test_ips_records(void)
{
	const struct pp_eve_endpoint *c, *s;
	struct pp_eve e;

	PARSE_OK(eve_alert_blocked, &e, PP_EVE_ALERT);
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_BLOCKED);
	g_assert_cmpstr(pp_eve_action_name(e.alert.action), ==, "blocked");

	PARSE_OK(eve_drop_rule, &e, PP_EVE_DROP);
	g_assert_cmpstr(pp_eve_type_name(e.type), ==, "drop");
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_BLOCKED);
	g_assert_cmpuint(e.alert.signature_id, ==, 2100498);
	g_assert_false(e.flow_src.has_ip);
	g_assert_true(pp_eve_initiator(&e, &c, &s)); /* from "direction": to_client */
	g_assert_true(c == &e.dest && s == &e.src);
	g_assert_cmpstr(c->ip, ==, "10.0.0.2");
	g_assert_cmpint(c->port, ==, 40001);

	PARSE_OK(eve_drop_flow, &e, PP_EVE_DROP);
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_NONE);
	g_assert_true(pp_eve_initiator(&e, &c, &s)); /* to_server */
	g_assert_true(c == &e.src && s == &e.dest);
	g_assert_cmpint(c->port, ==, 40001);
	g_assert_cmpint(s->port, ==, 7000);
}

static void test_flow_record(void)
{
	const struct pp_eve_endpoint *c, *s;
	struct pp_eve e;

	PARSE_OK(eve_flow, &e, PP_EVE_FLOW);
	g_assert_cmpstr(e.app_proto, ==, "ssh");
	g_assert_cmpint(e.direction, ==, PP_EVE_DIR_NONE);
	g_assert_false(e.flow_src.has_ip); /* a flow record's "flow" has no addresses */
	g_assert_true(pp_eve_initiator(&e, &c, &s));
	g_assert_true(c == &e.src);
	g_assert_cmpint(c->port, ==, 40029);
	g_assert_cmpint(s->port, ==, 5432);
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_NONE);
}

static char *read_fixture(size_t *len)
{
	gchar *text = NULL;
	GError *err = NULL;
	gsize n = 0;

	if (!g_file_get_contents(PP_EVE_FIXTURE, &text, &n, &err))
		g_error("%s", err->message);
	*len = n;
	return text;
}

struct collect {
	GPtrArray *lines; /* of GString */
	int too_big, truncated;
	size_t max_len;
};

static void collect_line(void *user, const char *line, size_t len, int err)
{
	struct collect *c = user;

	if (err == PP_ERR_TOO_BIG) {
		g_assert_null(line);
		c->too_big++;
		return;
	}
	if (err == PP_ERR_TRUNCATED) {
		c->truncated++;
		return;
	}
	g_assert_cmpint(err, ==, 0);
	g_assert_nonnull(line);
	g_assert_cmpuint(len, >, 0);
	g_assert_null(memchr(line, '\n', len));
	if (len > c->max_len)
		c->max_len = len;
	g_ptr_array_add(c->lines, g_string_new_len(line, (gssize)len));
}

static void collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	c->lines = g_ptr_array_new();
}

static void collect_clear(struct collect *c)
{
	for (guint i = 0; i < c->lines->len; i++)
		g_string_free(g_ptr_array_index(c->lines, i), TRUE);
	g_ptr_array_free(c->lines, TRUE);
}

static const char *line_at(struct collect *c, guint i)
{
	g_assert_cmpuint(i, <, c->lines->len);
	return ((GString *)g_ptr_array_index(c->lines, i))->str;
}

/* Every record Suricata wrote parses, is classified, and maps to its
 * connection; fed in random chunks the splitter returns the same lines. */
static void test_real_records(void)
{
	size_t len;
	char *text = read_fixture(&len);
	int count[PP_EVE_STATS + 1] = { 0 };
	int blocked = 0, ids_alerts = 0;
	struct collect whole, pieces;
	struct pp_eve_reader *r = pp_eve_reader_new(0);
	GRand *rnd = g_rand_new_with_seed(5);

	collect_init(&whole);
	collect_init(&pieces);
	pp_eve_reader_feed(r, text, len, collect_line, &whole);
	g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &whole), ==, 0);
	for (size_t off = 0; off < len;) {
		size_t n = (size_t)g_rand_int_range(rnd, 1, 700);
		n = MIN(n, len - off);
		pp_eve_reader_feed(r, text + off, n, collect_line, &pieces);
		g_assert_cmpuint(pp_eve_reader_pending(r), <=, PP_EVE_LINE_MAX);
		off += n;
	}
	g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &pieces), ==, 0);
	g_assert_cmpuint(whole.lines->len, >=, 30);
	g_assert_cmpuint(pieces.lines->len, ==, whole.lines->len);
	g_assert_cmpint(whole.too_big + whole.truncated + pieces.too_big + pieces.truncated, ==, 0);

	for (guint i = 0; i < whole.lines->len; i++) {
		const char *line = line_at(&whole, i);
		const struct pp_eve_endpoint *c, *s;
		struct pp_eve e;

		g_assert_cmpstr(line, ==, line_at(&pieces, i));
		const char *why = "";
		if (pp_eve_parse(line, strlen(line), &e, &why) != 0)
			g_error("record %u: %s", i + 1, why);
		count[e.type]++;
		if (e.type != PP_EVE_ALERT && e.type != PP_EVE_DROP)
			continue;
		if (e.type == PP_EVE_ALERT) {
			g_assert_cmpuint(e.alert.signature_id, >, 0);
			g_assert_cmpstr(e.alert.signature, !=, "");
			g_assert_true(e.flow_src.has_ip && e.flow_src.has_port);
			if (e.alert.action == PP_EVE_ACTION_BLOCKED)
				blocked++;
			else
				ids_alerts++;
		}
		/* Every alert and drop maps to the client's connection. */
		g_assert_true(pp_eve_initiator(&e, &c, &s));
		g_assert_true(strcmp(c->ip, "10.0.0.2") == 0 || strcmp(c->ip, "fd00::2") == 0);
		g_assert_cmpint(c->port, >=, 40001);
		g_assert_cmpint(c->port, <=, 40100);
		g_assert_true(strcmp(s->ip, "10.0.1.10") == 0 || strcmp(s->ip, "fd00:1::10") == 0);
	}
	g_assert_cmpint(ids_alerts, >=, 23); /* one per bundled sid, + IPv6 */
	g_assert_cmpint(blocked, >=, 1);
	g_assert_cmpint(count[PP_EVE_DROP], >=, 2);
	g_assert_cmpint(count[PP_EVE_FLOW], >=, 1);
	g_assert_cmpint(count[PP_EVE_STATS], ==, 1);
	g_assert_cmpint(count[PP_EVE_OTHER], >=, 3); /* http, fileinfo, ssh, anomaly */

	collect_clear(&whole);
	collect_clear(&pieces);
	pp_eve_reader_free(r);
	g_rand_free(rnd);
	g_free(text);
}

/* Replaces member `key` of the object at `path` (NULL: top level; "alert"
 * or "flow") in text with value (NULL: delete it); returns compact JSON. */
static char *mutate(const char *text, const char *path, const char *key, json_t *value)
{
	json_t *root = json_loads(text, 0, NULL);
	json_t *o = path ? json_object_get(root, path) : root;

	g_assert_nonnull(o);
	if (value)
		json_object_set_new(o, key, value);
	else
		json_object_del(o, key);
	char *out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

static void bad_mut(const char *path, const char *key, json_t *value, const char *reason)
{
	char *t = mutate(eve_alert_http, path, key, value);
	BAD(t, reason);
	free(t);
}

static void ok_mut(const char *path, const char *key, json_t *value, struct pp_eve *e)
{
	char *t = mutate(eve_alert_http, path, key, value);
	PARSE_OK(t, e, e->type);
	free(t);
}

static void test_mistyped(void)
{
	static const char *bad_ips[] = {
		"10.0.0.256", "10.0.0", "10.0.0.1 ", " 10.0.0.1", "010.0.0.1", "::g", "",
		"fe80::1%eth0", "10.0.0.1:80", "fd00:0000:0000:0000:0000:0000:0000:0002:1",
		"1111:2222:3333:4444:5555:6666:123.123.123.1234",
	};
	static const char *const ip_keys[][2] = {
		{ NULL, "src_ip" }, { NULL, "dest_ip" }, { "flow", "src_ip" }, { "flow", "dest_ip" },
	};
	static const char *const port_keys[][2] = {
		{ NULL, "src_port" }, { NULL, "dest_port" },
		{ "flow", "src_port" }, { "flow", "dest_port" },
	};

	for (size_t k = 0; k < G_N_ELEMENTS(ip_keys); k++) {
		for (size_t i = 0; i < G_N_ELEMENTS(bad_ips); i++)
			bad_mut(ip_keys[k][0], ip_keys[k][1], json_string(bad_ips[i]),
			        "must be an IPv4 or IPv6 address");
		bad_mut(ip_keys[k][0], ip_keys[k][1], json_integer(167772162), "IPv4 or IPv6");
		bad_mut(ip_keys[k][0], ip_keys[k][1], json_null(), "IPv4 or IPv6");
	}
	for (size_t k = 0; k < G_N_ELEMENTS(port_keys); k++) {
		const char *p = port_keys[k][0], *key = port_keys[k][1];
		bad_mut(p, key, json_integer(65536), "must be an integer 0..65535");
		bad_mut(p, key, json_integer(-1), "0..65535");
		bad_mut(p, key, json_string("80"), "0..65535");
		bad_mut(p, key, json_real(80.0), "0..65535");
		bad_mut(p, key, json_true(), "0..65535");
	}
	bad_mut(NULL, "event_type", json_integer(1), "\"event_type\"");
	bad_mut(NULL, "event_type", json_string(""), "\"event_type\"");
	bad_mut(NULL, "event_type", json_string("al ert"), "\"event_type\"");
	bad_mut(NULL, "event_type", json_string("abcdefghijklmnopqrstuvwxyz0123456"), "1..32");
	bad_mut(NULL, "event_type", NULL, "\"event_type\"");
	bad_mut(NULL, "timestamp", NULL, "\"timestamp\"");
	bad_mut(NULL, "timestamp", json_string("2025-01-01 00:00:00"), "printable");
	bad_mut(NULL, "timestamp", json_integer(1735689600), "\"timestamp\"");
	bad_mut(NULL, "flow_id", json_integer(-1), "\"flow_id\"");
	bad_mut(NULL, "flow_id", json_string("1"), "\"flow_id\"");
	bad_mut(NULL, "flow_id", json_real(1e3), "\"flow_id\"");
	bad_mut(NULL, "proto", json_integer(6), "\"proto\"");
	bad_mut(NULL, "proto", json_string("TCP/IP"), "\"proto\"");
	bad_mut(NULL, "proto", json_string("ABCDEFGHIJKLMNOPQ"), "\"proto\"");
	bad_mut(NULL, "app_proto", json_string(""), "\"app_proto\"");
	bad_mut(NULL, "app_proto", json_false(), "\"app_proto\"");
	bad_mut(NULL, "direction", json_integer(0), "\"direction\"");
	bad_mut(NULL, "flow", json_string("x"), "\"flow\" must be an object");
	bad_mut(NULL, "flow", json_array(), "\"flow\" must be an object");
	bad_mut(NULL, "alert", NULL, "must have an \"alert\" object");
	bad_mut(NULL, "alert", json_string("x"), "\"alert\" must be an object");
	bad_mut("alert", "action", NULL, "\"alert\".\"action\"");
	bad_mut("alert", "action", json_integer(1), "\"alert\".\"action\"");
	bad_mut("alert", "signature_id", NULL, "\"alert\".\"signature_id\"");
	bad_mut("alert", "signature_id", json_integer(4294967296LL), "\"signature_id\"");
	bad_mut("alert", "signature_id", json_integer(-1), "\"signature_id\"");
	bad_mut("alert", "signature_id", json_string("9100001"), "\"signature_id\"");
	bad_mut("alert", "gid", json_string("1"), "\"alert\".\"gid\"");
	bad_mut("alert", "rev", json_real(1.5), "\"alert\".\"rev\"");
	bad_mut("alert", "severity", json_integer(256), "\"alert\".\"severity\"");
	bad_mut("alert", "signature", json_integer(1), "\"alert\".\"signature\"");
	bad_mut("alert", "category", json_array(), "\"alert\".\"category\"");

	/* Limits are inclusive. */
	char sig[PP_EVE_SIGNATURE_MAX + 2], cat[PP_EVE_CATEGORY_MAX + 2];
	struct pp_eve e = { .type = PP_EVE_ALERT };
	memset(sig, 'S', sizeof(sig) - 1);
	sig[sizeof(sig) - 1] = '\0';
	bad_mut("alert", "signature", json_string(sig), "at most 512 bytes");
	sig[PP_EVE_SIGNATURE_MAX] = '\0';
	ok_mut("alert", "signature", json_string(sig), &e);
	g_assert_cmpuint(strlen(e.alert.signature), ==, PP_EVE_SIGNATURE_MAX);
	memset(cat, 'C', sizeof(cat) - 1);
	cat[sizeof(cat) - 1] = '\0';
	bad_mut("alert", "category", json_string(cat), "at most 256 bytes");
	cat[PP_EVE_CATEGORY_MAX] = '\0';
	ok_mut("alert", "category", json_string(cat), &e);
	g_assert_cmpuint(strlen(e.alert.category), ==, PP_EVE_CATEGORY_MAX);
	/* Multi-byte text counts bytes: 171 x 3 bytes = 513. */
	GString *u = g_string_new(NULL);
	for (int i = 0; i < 171; i++)
		g_string_append(u, "\xe2\x82\xac");
	bad_mut("alert", "signature", json_string(u->str), "at most 512 bytes");
	g_string_free(u, TRUE);

	ok_mut(NULL, "src_port", json_integer(0), &e);
	g_assert_true(e.src.has_port);
	g_assert_cmpint(e.src.port, ==, 0);
	ok_mut(NULL, "dest_port", json_integer(65535), &e);
	g_assert_cmpint(e.dest.port, ==, 65535);
	ok_mut("alert", "signature_id", json_integer(4294967295LL), &e);
	g_assert_cmpuint(e.alert.signature_id, ==, 4294967295u);
	ok_mut(NULL, "flow_id", json_integer(INT64_MAX), &e);
	g_assert_cmpuint(e.flow_id, ==, (uint64_t)INT64_MAX);
	ok_mut(NULL, "src_ip", json_string("::ffff:10.0.0.2"), &e);
	g_assert_cmpint(e.src.family, ==, AF_INET6);
	g_assert_cmpstr(e.src.ip, ==, "::ffff:10.0.0.2");
	ok_mut(NULL, "src_ip", json_string("1111:2222:3333:4444:5555:6666:123.123.123.123"), &e);
	g_assert_cmpstr(e.src.ip, ==, "1111:2222:3333:4444:5555:6666:7b7b:7b7b");
}

static void test_optional_and_unknown(void)
{
	struct pp_eve e = { .type = PP_EVE_ALERT };
	const struct pp_eve_endpoint *c, *s;

	/* Unknown values and fields are ignored, absent optional ones empty. */
	ok_mut("alert", "action", json_string("rejected"), &e);
	g_assert_cmpint(e.alert.action, ==, PP_EVE_ACTION_OTHER);
	ok_mut(NULL, "direction", json_string("sideways"), &e);
	g_assert_cmpint(e.direction, ==, PP_EVE_DIR_NONE);
	ok_mut(NULL, "x_future", json_pack("{s:[i,{s:s}]}", "a", 1, "b", "c"), &e);
	ok_mut("alert", "x_future", json_null(), &e);
	ok_mut("alert", "category", NULL, &e);
	g_assert_cmpstr(e.alert.category, ==, "");
	ok_mut("alert", "signature", NULL, &e);
	g_assert_cmpstr(e.alert.signature, ==, "");
	ok_mut("alert", "severity", NULL, &e);
	g_assert_cmpuint(e.alert.severity, ==, 0);
	ok_mut(NULL, "flow_id", NULL, &e);
	g_assert_false(e.has_flow_id);
	ok_mut(NULL, "src_port", NULL, &e);
	g_assert_false(e.src.has_port);
	ok_mut(NULL, "app_proto", NULL, &e);
	g_assert_cmpstr(e.app_proto, ==, "");
	/* Without the flow's addresses, an alert maps through "direction". */
	ok_mut(NULL, "flow", json_object(), &e);
	g_assert_true(pp_eve_initiator(&e, &c, &s));
	g_assert_true(c == &e.src);
	ok_mut(NULL, "flow", NULL, &e);
	g_assert_true(pp_eve_initiator(&e, &c, &s));
	/* ...and not at all without a direction, or with a port missing. */
	char *t = mutate(eve_alert_v4, NULL, "flow", NULL), *t2 = mutate(t, NULL, "direction", NULL);
	PARSE_OK(t2, &e, PP_EVE_ALERT);
	g_assert_false(pp_eve_initiator(&e, &c, &s));
	free(t);
	free(t2);
	t = mutate(eve_alert_v4, "flow", "dest_port", NULL);
	PARSE_OK(t, &e, PP_EVE_ALERT);
	g_assert_true(pp_eve_initiator(&e, &c, &s)); /* falls back to direction */
	g_assert_true(c == &e.dest);
	free(t);

	/* Unknown event types are OTHER; their alert object is not read. */
	PARSE_OK("{\"timestamp\":\"t\",\"event_type\":\"http\",\"alert\":7}", &e, PP_EVE_OTHER);
	g_assert_cmpstr(e.event_type, ==, "http");
	g_assert_cmpstr(pp_eve_type_name(e.type), ==, "other");
	PARSE_OK("{\"timestamp\":\"t\",\"event_type\":\"stats\",\"stats\":{\"uptime\":1}}", &e,
	         PP_EVE_STATS);
	g_assert_false(pp_eve_initiator(&e, &c, &s));
	/* A drop record's alert object is optional but checked when present. */
	BAD("{\"timestamp\":\"t\",\"event_type\":\"drop\",\"alert\":{\"action\":\"blocked\"}}",
	    "\"signature_id\"");
	/* Duplicate keys: the last one counts. */
	PARSE_OK("{\"timestamp\":\"t\",\"event_type\":\"alert\",\"event_type\":\"flow\"}", &e,
	         PP_EVE_FLOW);
	/* Trailing whitespace (a "\r" before "\n") is fine. */
	GString *crlf = g_string_new(eve_alert_v4);
	g_string_append(crlf, "\r \t");
	PARSE_OK(crlf->str, &e, PP_EVE_ALERT);
	g_string_free(crlf, TRUE);
}

static void test_not_json(void)
{
	BAD("", "not valid JSON");
	BAD("   ", "not valid JSON");
	BAD("{", "not valid JSON");
	BAD("{\"event_type\":\"alert\"} {}", "not valid JSON");
	BAD("{\"event_type\":\"alert\"}x", "not valid JSON");
	BAD("[{\"event_type\":\"alert\"}]", "must be a JSON object");
	BAD("\"alert\"", "not valid JSON");
	BAD("{\"timestamp\":\"t\",\"event_type\":\"\xff\"}", "not valid JSON");
	BAD("{\"timestamp\":\"t\",\"event_type\":\"a\\u0000b\"}", "not valid JSON");
	BAD("{\"timestamp\":\"t\",\"event_type\":\"alert\",\"flow_id\":18446744073709551615}",
	    "not valid JSON");
	static const char nul[] = "{\"timestamp\":\"t\",\"event_type\":\"flow\"}\0";
	parse_bad(nul, sizeof(nul) - 1, PP_ERR_INVALID, "not valid JSON");
	struct pp_eve e;
	parse_ok(nul, sizeof(nul) - 2, &e, PP_EVE_FLOW);
}

static char *nested(int depth)
{
	GString *s = g_string_new("{\"timestamp\":\"t\",\"event_type\":\"x\",\"d\":");
	for (int i = 1; i < depth; i++)
		g_string_append(s, i % 2 ? "[" : "{\"k\":");
	g_string_append(s, "0");
	for (int i = depth - 1; i >= 1; i--)
		g_string_append(s, i % 2 ? "]" : "}");
	g_string_append(s, "}");
	return g_string_free(s, FALSE);
}

static void test_limits(void)
{
	struct pp_eve e;
	char *t = nested(PP_EVE_NESTING_MAX);
	PARSE_OK(t, &e, PP_EVE_OTHER);
	g_free(t);
	t = nested(PP_EVE_NESTING_MAX + 1);
	BAD(t, "nested too deeply");
	g_free(t);
	/* Brackets inside strings do not count. */
	PARSE_OK("{\"timestamp\":\"t\",\"event_type\":\"x\",\"s\":\"[[[[[[[[[[[[[[[[[[[[{{{{\"}",
	         &e, PP_EVE_OTHER);

	/* 64 KiB exactly is fine, one byte more is TOO_BIG. */
	GString *s = g_string_new("{\"timestamp\":\"t\",\"event_type\":\"flow\",\"pad\":\"");
	while (s->len < PP_EVE_LINE_MAX - 2)
		g_string_append_c(s, 'a');
	g_string_append(s, "\"}");
	g_assert_cmpuint(s->len, ==, PP_EVE_LINE_MAX);
	parse_ok(s->str, s->len, &e, PP_EVE_FLOW);
	g_string_insert_c(s, s->len - 2, 'a');
	parse_bad(s->str, s->len, PP_ERR_TOO_BIG, "over 64 KiB");
	g_string_free(s, TRUE);
}

/* --- the splitter ---------------------------------------------------------- */

static void feed_str(struct pp_eve_reader *r, const char *s, struct collect *c)
{
	pp_eve_reader_feed(r, s, strlen(s), collect_line, c);
}

static void test_reader_basic(void)
{
	struct pp_eve_reader *r = pp_eve_reader_new(16);
	struct collect c;

	collect_init(&c);
	feed_str(r, "one\ntwo\n\n\nthree", &c);
	g_assert_cmpuint(c.lines->len, ==, 2);
	g_assert_cmpstr(line_at(&c, 0), ==, "one");
	g_assert_cmpstr(line_at(&c, 1), ==, "two");
	g_assert_cmpuint(pp_eve_reader_pending(r), ==, 5);
	feed_str(r, "", &c);
	pp_eve_reader_feed(r, NULL, 0, collect_line, &c);
	feed_str(r, "-3", &c);
	feed_str(r, "\n", &c);
	g_assert_cmpstr(line_at(&c, 2), ==, "three-3");
	g_assert_cmpuint(pp_eve_reader_pending(r), ==, 0);

	/* Exactly max bytes, split anywhere, is delivered. */
	feed_str(r, "0123456789", &c);
	feed_str(r, "abcdef\nx", &c);
	g_assert_cmpstr(line_at(&c, 3), ==, "0123456789abcdef");
	/* A partial line at the end of the stream is reported once. */
	g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &c), ==, 1);
	g_assert_cmpint(c.truncated, ==, 1);
	g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &c), ==, 0);
	g_assert_cmpint(c.truncated, ==, 1);
	/* Bytes with no meaning to the splitter pass through (\r, NUL). */
	pp_eve_reader_feed(r, "a\0b\r\n", 5, collect_line, &c);
	g_assert_cmpuint(((GString *)g_ptr_array_index(c.lines, 4))->len, ==, 4);
	g_assert_cmpuint(c.lines->len, ==, 5);
	g_assert_cmpint(c.too_big, ==, 0);

	collect_clear(&c);
	pp_eve_reader_free(r);
	pp_eve_reader_free(NULL);
	g_assert_null(pp_eve_reader_new(PP_EVE_LINE_MAX + 1));
	r = pp_eve_reader_new(PP_EVE_LINE_MAX);
	g_assert_nonnull(r);
	pp_eve_reader_free(r);
}

static void test_reader_too_long(void)
{
	struct pp_eve_reader *r = pp_eve_reader_new(16);
	struct collect c;

	collect_init(&c);
	/* In one chunk: one error, the next line survives. */
	feed_str(r, "ok\n0123456789abcdefg\nnext\n", &c);
	g_assert_cmpint(c.too_big, ==, 1);
	g_assert_cmpuint(c.lines->len, ==, 2);
	g_assert_cmpstr(line_at(&c, 1), ==, "next");

	/* Over many chunks: reported as soon as it passes the limit, once,
	 * memory never above the limit, and discarded up to its "\n". */
	feed_str(r, "0123456789", &c);
	g_assert_cmpint(c.too_big, ==, 1);
	feed_str(r, "0123456", &c);
	g_assert_cmpint(c.too_big, ==, 2);
	for (int i = 0; i < 100000; i++) {
		feed_str(r, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &c);
		g_assert_cmpuint(pp_eve_reader_pending(r), ==, 0);
	}
	g_assert_cmpint(c.too_big, ==, 2);
	feed_str(r, "tail of the long one\nafter\n", &c);
	g_assert_cmpint(c.too_big, ==, 2);
	g_assert_cmpuint(c.lines->len, ==, 3);
	g_assert_cmpstr(line_at(&c, 2), ==, "after");

	/* Ending inside a discarded line: no second error. */
	feed_str(r, "0123456789abcdefXYZ", &c);
	g_assert_cmpint(c.too_big, ==, 3);
	g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &c), ==, 0);
	g_assert_cmpint(c.truncated, ==, 0);
	/* finish resets: a new stream starts clean. */
	feed_str(r, "fresh\n", &c);
	g_assert_cmpstr(line_at(&c, 3), ==, "fresh");

	/* One over the limit by exactly one byte, at a chunk boundary. */
	feed_str(r, "0123456789abcdef", &c);
	g_assert_cmpint(c.too_big, ==, 3);
	feed_str(r, "!", &c);
	g_assert_cmpint(c.too_big, ==, 4);
	feed_str(r, "\nz\n", &c);
	g_assert_cmpstr(line_at(&c, 4), ==, "z");
	g_assert_cmpuint(c.lines->len, ==, 5);

	collect_clear(&c);
	pp_eve_reader_free(r);
}

/* Any chunking gives what a plain split on "\n" gives. */
static void test_reader_random(void)
{
	GRand *rnd = g_rand_new_with_seed(42);
	const size_t max = 24;

	for (int round = 0; round < 300; round++) {
		GString *in = g_string_new(NULL);
		int n = g_rand_int_range(rnd, 0, 30);
		for (int i = 0; i < n; i++) {
			int l = g_rand_int_range(rnd, 0, 2) ? g_rand_int_range(rnd, 0, 30)
			                                    : g_rand_int_range(rnd, 0, 4);
			for (int j = 0; j < l; j++)
				g_string_append_c(in, (char)('a' + g_rand_int_range(rnd, 0, 26)));
			if (i < n - 1 || g_rand_boolean(rnd))
				g_string_append_c(in, '\n');
		}
		/* Reference: split, skip empty, count long lines. */
		GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
		int want_big = 0;
		gchar **parts = g_strsplit(in->str, "\n", -1);
		guint np = g_strv_length(parts);
		for (guint i = 0; i + 1 < np; i++) {
			if (strlen(parts[i]) > max)
				want_big++;
			else if (parts[i][0])
				g_ptr_array_add(want, g_strdup(parts[i]));
		}
		const char *last = np ? parts[np - 1] : ""; /* "" splits to no parts */
		bool tail_big = strlen(last) > max;
		size_t tail = tail_big ? 0 : strlen(last);
		want_big += tail_big;

		struct pp_eve_reader *r = pp_eve_reader_new(max);
		struct collect c;
		collect_init(&c);
		for (size_t off = 0; off < in->len;) {
			size_t k = (size_t)g_rand_int_range(rnd, 1, 40); /* MIN() evaluates twice */
			k = MIN(k, in->len - off);
			pp_eve_reader_feed(r, in->str + off, k, collect_line, &c);
			g_assert_cmpuint(pp_eve_reader_pending(r), <=, max);
			off += k;
		}
		g_assert_cmpuint(pp_eve_reader_finish(r, collect_line, &c), ==, tail);
		g_assert_cmpint(c.too_big, ==, want_big);
		g_assert_cmpint(c.truncated, ==, tail ? 1 : 0);
		g_assert_cmpuint(c.lines->len, ==, want->len);
		for (guint i = 0; i < want->len; i++)
			g_assert_cmpstr(line_at(&c, i), ==, g_ptr_array_index(want, i));
		g_assert_cmpuint(c.max_len, <=, max);

		collect_clear(&c);
		pp_eve_reader_free(r);
		g_strfreev(parts);
		g_ptr_array_free(want, TRUE);
		g_string_free(in, TRUE);
	}
	g_rand_free(rnd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ids/eve/alert_v4", test_alert_v4);
	g_test_add_func("/ids/eve/alert_v6", test_alert_v6);
	g_test_add_func("/ids/eve/alert_http", test_alert_http);
	g_test_add_func("/ids/eve/ips_records", test_ips_records);
	g_test_add_func("/ids/eve/flow_record", test_flow_record);
	g_test_add_func("/ids/eve/real_records", test_real_records);
	g_test_add_func("/ids/eve/mistyped", test_mistyped);
	g_test_add_func("/ids/eve/optional_and_unknown", test_optional_and_unknown);
	g_test_add_func("/ids/eve/not_json", test_not_json);
	g_test_add_func("/ids/eve/limits", test_limits);
	g_test_add_func("/ids/eve/reader_basic", test_reader_basic);
	g_test_add_func("/ids/eve/reader_too_long", test_reader_too_long);
	g_test_add_func("/ids/eve/reader_random", test_reader_random);
	return g_test_run();
}
