/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the gateway configuration loader. */
#include "gw_test.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

static void test_good_file(void)
{
	char *text = g_strdup_printf(
		"# sample\n"
		"[gateway]\n"
		"signal_url = wss://signal.example.org/v1/ws\n"
		"room = office-1\n"
		"token_file = /run/token\n"
		"max_peers = 100\n"
		"stream_buffer = 1MiB\n"
		"peer_buffer = 1MiB\n"
		"connect_timeout = 2500ms\n"
		"pending_limit = 64KiB\n"
		"compression = zstd\n"
		"log_level = debug\n"
		"log_json = yes\n"
		"\n"
		"[identity alice]\n"
		"fingerprint = %s\n"
		"groups = dev, ops\n"
		"[identity bob]\n"
		"fingerprint = sha-256   %s\n" /* extra blanks are tolerated */
		"[service db]\n"
		"address = 10.0.0.5:5432\n"
		"description = Legacy SQL\n"
		"allow = @dev\n"
		"[service v6]\n"
		"address = [2001:db8::7]:8080\n"
		"allow = bob\n"
		"[service web]\n"
		"address = web.internal.:443\n",
		gwt_fp(1), gwt_fp(2) + 8);
	struct gw_config *cfg = gwt_load_ok(text);
	const struct gw_settings *g = &cfg->gw;

	g_assert_cmpstr(g->signal_url, ==, "wss://signal.example.org/v1/ws");
	g_assert_cmpstr(g->room, ==, "office-1");
	g_assert_cmpint(g->max_peers, ==, 100);
	g_assert_cmpint(g->max_streams_per_peer, ==, 256);
	g_assert_cmpint(g->stream_buffer, ==, 1 << 20);
	g_assert_cmpint(g->peer_buffer, ==, 1 << 20);
	g_assert_cmpint(g->connect_timeout_ms, ==, 2500);
	g_assert_cmpint(g->pending_limit, ==, 64 << 10);
	g_assert_cmpint(cfg->compression, ==, GW_COMPRESSION_ZSTD);
	g_assert_cmpint(cfg->log_level, ==, PP_LOG_DEBUG);
	g_assert_true(g->log_json);
	g_assert_cmpstr(g->identity_dir, ==, "/var/lib/peerpipe-gateway/identity");
	g_assert_null(g->audit_log);
	g_assert_null(cfg->token);

	g_assert_cmpuint(cfg->n_services, ==, 3);
	g_assert_cmpstr(cfg->services[0].name, ==, "db");
	g_assert_cmpstr(cfg->services[0].host, ==, "10.0.0.5");
	g_assert_cmpuint(cfg->services[0].port, ==, 5432);
	g_assert_cmpint(cfg->services[0].kind, ==, GW_ADDR_IPV4);
	g_assert_cmpstr(cfg->services[0].description, ==, "Legacy SQL");
	g_assert_cmpstr(cfg->services[1].host, ==, "2001:db8::7");
	g_assert_cmpint(cfg->services[1].kind, ==, GW_ADDR_IPV6);
	g_assert_cmpuint(cfg->services[1].port, ==, 8080);
	g_assert_cmpint(cfg->services[2].kind, ==, GW_ADDR_NAME);
	g_assert_cmpstr(cfg->services[2].description, ==, "");
	g_assert_cmpuint(cfg->services[2].n_allow, ==, 0);

	const struct gw_identity *bob = gw_config_identity_by_name(cfg, "bob");
	g_assert_nonnull(bob);
	g_assert_cmpstr(bob->fp_text, ==, gwt_fp(2));
	g_assert_cmpuint(cfg->identities[0].n_groups, ==, 2);
	g_assert_cmpstr(cfg->identities[0].groups[1], ==, "ops");

	struct pp_fingerprint fp;
	g_assert_cmpint(pp_fingerprint_parse(gwt_fp(2), strlen(gwt_fp(2)), &fp), ==, 0);
	g_assert_true(gw_config_identity_by_fp(cfg, &fp) == bob);
	g_assert_cmpint(pp_fingerprint_parse(gwt_fp(3), strlen(gwt_fp(3)), &fp), ==, 0);
	g_assert_null(gw_config_identity_by_fp(cfg, &fp));
	g_assert_true(gw_config_service_by_name(cfg, "v6") == &cfg->services[1]);
	g_assert_null(gw_config_service_by_name(cfg, "nope"));

	size_t n;
	const struct pp_fingerprint *pins = gw_config_pins(cfg, &n);
	g_assert_cmpuint(n, ==, 2);
	g_assert_true(pp_fingerprint_equal(&pins[1], &bob->fp));

	g_assert_true(gw_config_ref(cfg) == cfg);
	gw_config_free(cfg); /* one reference left */
	g_assert_cmpstr(cfg->services[0].name, ==, "db");
	gw_config_free(cfg);
	g_free(text);
}

static void test_defaults_and_empty_room(void)
{
	struct gw_config *cfg = gwt_load_ok(GWT_HEAD "room =\n");
	g_assert_null(cfg->gw.room);
	g_assert_false(cfg->gw.insecure_ws);
	g_assert_cmpint(cfg->gw.max_peers, ==, 64);
	g_assert_cmpint(cfg->gw.stream_buffer, ==, 256 << 10);
	g_assert_cmpint(cfg->gw.peer_buffer, ==, 4 << 20);
	g_assert_cmpint(cfg->gw.connect_timeout_ms, ==, 5000);
	g_assert_cmpint(cfg->gw.pending_limit, ==, 256 << 10);
	g_assert_cmpint(cfg->gw.max_datagram, ==, 16384);
	g_assert_cmpint(cfg->compression, ==, GW_COMPRESSION_AUTO);
	g_assert_cmpint(cfg->log_level, ==, PP_LOG_INFO);
	g_assert_cmpuint(cfg->n_services, ==, 0);
	gw_config_free(cfg);
	cfg = gwt_load_ok("[gateway]\nsignal_url = ws://127.0.0.1:1/v1/ws\ninsecure_ws = true\ntoken_file = t\n");
	g_assert_true(cfg->gw.insecure_ws);
	gw_config_free(cfg);
}

static void expect_error(const char *text, const char *needle)
{
	struct gw_config *cfg = (struct gw_config *)1;
	char err[PP_CFG_ERR_MAX] = "";
	g_assert_cmpint(gwt_load(text, &cfg, err), ==, PP_ERR_CONFIG);
	g_assert_null(cfg);
	if (!strstr(err, needle))
		g_error("error \"%s\" lacks \"%s\"\n---\n%s", err, needle, text);
}

static void test_structure_errors(void)
{
	expect_error("key = 1\n", "t.ini:1: key outside any section");
	expect_error(GWT_HEAD "not a line\n", "t.ini:4: expected \"key = value\"");
	expect_error(GWT_HEAD "[service x\n", "t.ini:4: section header without ']'");
	expect_error(GWT_HEAD "colour = red\n", "t.ini:4: unknown key \"colour\" in [gateway]");
	expect_error(GWT_HEAD "[server]\n", "t.ini:4: unknown section [server]");
	expect_error(GWT_HEAD "[service]\naddress = a:1\n", "t.ini:4: [service] needs a name");
	expect_error(GWT_HEAD "[service a b]\naddress = a:1\n", "t.ini:4: [service a b]: \"a b\" is not a valid name");
	expect_error(GWT_HEAD "[identity x/y]\n", "is not a valid name");
	expect_error(GWT_HEAD "[service db]\naddress = a:1\n[service db]\naddress = b:1\n",
	             "t.ini:6: duplicate section [service db] (first at line 4)");
	expect_error(GWT_HEAD "max_peers = 3\nmax_peers = 4\n",
	             "t.ini:5: duplicate key \"max_peers\" in [gateway] (first at line 4)");
	expect_error(GWT_HEAD "[gateway]\n", "t.ini:4: duplicate section [gateway]");
	expect_error(GWT_HEAD "[service db]\naddress = a:1\nport = 5\n",
	             "t.ini:6: unknown key \"port\" in [service db]");
	expect_error(GWT_HEAD "[identity a]\nfingerprint = x\n", "t.ini:5: [identity a] fingerprint");
	expect_error(GWT_HEAD "[identity a]\nfingerprints = x\n", "t.ini:5: unknown key \"fingerprints\" in [identity a]");
}

static void test_gateway_errors(void)
{
	expect_error("[gateway]\ntoken_file = t\n", "t.ini: [gateway] signal_url is required");
	expect_error("[gateway]\nsignal_url = wss://x\n", "t.ini: [gateway] token_file is required");
	expect_error("", "signal_url is required");
	expect_error("[gateway]\nsignal_url = ws://x\ntoken_file = t\n",
	             "t.ini:2: [gateway] signal_url: plain ws:// needs insecure_ws = true");
	expect_error("[gateway]\nsignal_url = https://x\ntoken_file = t\n", "t.ini:2: [gateway] signal_url: expected wss://");
	expect_error(GWT_HEAD "max_peers = 0\n", "t.ini:4: [gateway] max_peers: 0 is out of range (1..4096)");
	expect_error(GWT_HEAD "max_datagram = 1199\n",
	             "t.ini:4: [gateway] max_datagram: 1199 is out of range (1200..16384)");
	expect_error(GWT_HEAD "max_datagram = 16385\n",
	             "t.ini:4: [gateway] max_datagram: 16385 is out of range (1200..16384)");
	expect_error(GWT_HEAD "max_streams_per_peer = 1025\n", "t.ini:4: [gateway] max_streams_per_peer");
	expect_error(GWT_HEAD "stream_buffer = 32MiB\n", "t.ini:4: [gateway] stream_buffer");
	expect_error(GWT_HEAD "peer_buffer = 128KiB\n", "t.ini:4: [gateway] peer_buffer");
	expect_error(GWT_HEAD "peer_buffer = 65MiB\n", "t.ini:4: [gateway] peer_buffer");
	expect_error(GWT_HEAD "pending_limit = 257KiB\n", "t.ini:4: [gateway] pending_limit");
	expect_error(GWT_HEAD "connect_timeout = soon\n", "t.ini:4: [gateway] connect_timeout: cannot parse");
	expect_error(GWT_HEAD "insecure_ws = maybe\n", "t.ini:4: [gateway] insecure_ws");
	expect_error(GWT_HEAD "compression = gzip\n", "t.ini:4: [gateway] compression: expected auto, off, lz4 or zstd");
	expect_error(GWT_HEAD "log_level = loud\n", "t.ini:4: [gateway] log_level");
	expect_error(GWT_HEAD "room = a b\n", "t.ini:4: [gateway] room");
}

static void expect_address_error(const char *addr, const char *needle)
{
	char *text = g_strdup_printf(GWT_HEAD "[service s]\naddress = %s\n", addr);
	expect_error(text, "t.ini:5: [service s] address: ");
	expect_error(text, needle);
	g_free(text);
}

static void expect_address(const char *addr, const char *host, unsigned port,
                           enum gw_addr_kind kind)
{
	char *text = g_strdup_printf(GWT_HEAD "[service s]\naddress = %s\n", addr);
	struct gw_config *cfg = gwt_load_ok(text);
	g_assert_cmpstr(cfg->services[0].host, ==, host);
	g_assert_cmpuint(cfg->services[0].port, ==, port);
	g_assert_cmpint(cfg->services[0].kind, ==, kind);
	g_assert_cmpstr(cfg->services[0].address, ==, addr);
	gw_config_free(cfg);
	g_free(text);
}

static void test_addresses(void)
{
	expect_address("127.0.0.1:1", "127.0.0.1", 1, GW_ADDR_IPV4);
	expect_address("[::1]:65535", "::1", 65535, GW_ADDR_IPV6);
	expect_address("[fe80::1%eth0]:22", "fe80::1%eth0", 22, GW_ADDR_IPV6);
	expect_address("my_db-1.svc.cluster.local:5432", "my_db-1.svc.cluster.local", 5432, GW_ADDR_NAME);
	expect_address("localhost:80", "localhost", 80, GW_ADDR_NAME);
	expect_address_error("db:0", "port must be 1..65535");
	expect_address_error("db:65536", "port must be 1..65535");
	expect_address_error("db:http", "port must be 1..65535");
	expect_address_error("db:", "port must be 1..65535");
	expect_address_error("db", "expected host:port");
	expect_address_error(":80", "expected host:port");
	expect_address_error("::1:80", "needs brackets");
	expect_address_error("[::1]80", "expected [IPv6 address]:port");
	expect_address_error("[::g]:80", "not a valid IPv6");
	expect_address_error("[1.2.3.4]:80", "not a valid IPv6");
	expect_address_error("999.1.1.1:80", "neither an IPv4 address nor a DNS name");
	expect_address_error("1.2.3:80", "neither an IPv4");
	expect_address_error("-bad.example:80", "neither an IPv4");
	expect_address_error("a..b:80", "neither an IPv4");
	expect_error(GWT_HEAD "[service s]\ndescription = x\n", "t.ini:4: [service s] needs an address");
}

static void test_section_errors(void)
{
	char *t;
	t = g_strdup_printf(GWT_HEAD "[identity a]\nfingerprint = sha-1 %s\n",
	                    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33");
	expect_error(t, "only sha-256 is accepted");
	g_free(t);
	expect_error(GWT_HEAD "[identity a]\ngroups = x\n", "t.ini:4: [identity a] needs a fingerprint");
	t = g_strdup_printf(GWT_HEAD "[identity a]\nfingerprint = %s\ngroups = ops,,dev\n", gwt_fp(1));
	expect_error(t, "t.ini:6: [identity a] groups: a comma-separated list");
	g_free(t);
	t = g_strdup_printf(GWT_HEAD "[identity a]\nfingerprint = %s\ngroups = @ops\n", gwt_fp(1));
	expect_error(t, "t.ini:6: [identity a] groups: \"@ops\" is not a valid name");
	g_free(t);
	t = g_strdup_printf(GWT_HEAD "[identity a]\nfingerprint = %s\n[identity b]\nfingerprint = %s\n",
	                    gwt_fp(7), gwt_fp(7));
	expect_error(t, "t.ini:7: [identity b] fingerprint: the same as identity \"a\"'s");
	g_free(t);
	t = g_strdup_printf(GWT_HEAD "[service s]\naddress = a:1\ndescription = %0257d\n", 0);
	expect_error(t, "t.ini:6: [service s] description: at most 256 bytes");
	g_free(t);
	expect_error(GWT_HEAD "[service s]\naddress = a:1\ndescription = tab\\there\n", "[service s] description");
}

static char *allow_text(const char *entry)
{
	return g_strdup_printf(GWT_HEAD "[identity alice]\nfingerprint = %s\ngroups = dev\n"
	                       "[service s]\naddress = a:1\nallow = alice, %s\n", gwt_fp(1), entry);
}

static void test_allow_errors(void)
{
	static const struct {
		const char *entry, *needle;
	} bad[] = {
		{ "bob", "t.ini:9: [service s] allow: unknown identity \"bob\"" },
		{ "@ops", "t.ini:9: [service s] allow: no identity is in group \"ops\"" },
		{ "@", "t.ini:9: [service s] allow: \"@\" is neither an identity name nor @group" },
		{ "", "t.ini:9: [service s] allow: a comma-separated list" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *t = allow_text(bad[i].entry);
		expect_error(t, bad[i].needle);
		g_free(t);
	}
	char *t = allow_text("@dev");
	gw_config_free(gwt_load_ok(t));
	g_free(t);
}

static void test_limits(void)
{
	GString *s = g_string_new(GWT_HEAD);
	for (int i = 0; i <= GW_SERVICES_MAX; i++)
		g_string_append_printf(s, "[service s%d]\naddress = h:%d\n", i, i + 1);
	/* The 1025th service header stands at line 4 + 2 * 1024. */
	char needle[64];
	snprintf(needle, sizeof(needle), "t.ini:%d: more than 1024 service sections",
	         4 + 2 * GW_SERVICES_MAX);
	expect_error(s->str, needle);
	g_string_free(s, TRUE);

	s = g_string_new(GWT_HEAD);
	for (int i = 0; i < GW_IDENTITIES_MAX; i++)
		g_string_append_printf(s, "[identity i%d]\nfingerprint = sha-256 %02X:%02X%s\n", i,
		                       i >> 8, i & 0xff, strchr(gwt_fp(0) + 8, ':') + 3);
	g_string_append(s, "[service all]\naddress = h:1\nallow = i1023, i0\n");
	struct gw_config *cfg = gwt_load_ok(s->str);
	g_assert_cmpuint(cfg->n_identities, ==, 1024);
	g_assert_cmpuint(cfg->bitset_words, ==, 16);
	gw_config_free(cfg);
	g_string_free(s, TRUE);
}

static char *tmp_dir(void)
{
	GError *err = NULL;
	char *d = g_dir_make_tmp("pp-gconfig-XXXXXX", &err);
	g_assert_no_error(err);
	return d;
}

static void test_token_and_file(void)
{
	char *dir = tmp_dir();
	char *tok = g_build_filename(dir, "token", NULL);
	char *ini = g_build_filename(dir, "gw.ini", NULL);
	char *text = g_strdup_printf("[gateway]\nsignal_url = wss://s\ntoken_file = %s\n", tok);
	struct gw_config *cfg = NULL;
	char err[PP_CFG_ERR_MAX] = "";

	g_assert_true(g_file_set_contents(ini, text, -1, NULL));
	g_assert_cmpint(gw_config_load(ini, &cfg, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_nonnull(strstr(err, ":3: [gateway] token_file: "));
	g_assert_true(g_str_has_prefix(err, ini));

	g_assert_true(g_file_set_contents(tok, "secret-not-a-jwt\n", -1, NULL));
	g_assert_cmpint(gw_config_load(ini, &cfg, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_nonnull(strstr(err, "does not hold a JWT"));
	g_assert_null(strstr(err, "secret-not")); /* never in a message */

	g_assert_true(g_file_set_contents(tok, "aGVhZA.Ym9keQ.c2ln\n", -1, NULL));
	g_assert_cmpint(g_chmod(tok, 0600), ==, 0);
	g_assert_cmpint(gw_config_load(ini, &cfg, err, sizeof(err)), ==, 0);
	g_assert_cmpstr(cfg->token, ==, "aGVhZA.Ym9keQ.c2ln");
	g_assert_false(cfg->token_world_readable);
	g_assert_cmpstr(cfg->path, ==, ini);
	gw_config_free(cfg);

	g_assert_true(g_file_set_contents(ini, "[gateway]\nbogus = 1\n", -1, NULL));
	g_assert_cmpint(gw_config_load(ini, &cfg, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_true(g_str_has_prefix(err, ini));
	g_assert_nonnull(strstr(err, ":2: unknown key \"bogus\""));
	g_assert_cmpint(gw_config_load("/nonexistent/gw.ini", &cfg, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_nonnull(strstr(err, "/nonexistent/gw.ini: "));
	g_assert_cmpint(gw_config_load(dir, &cfg, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_nonnull(strstr(err, "not a regular file"));

	g_unlink(tok);
	g_unlink(ini);
	g_rmdir(dir);
	g_free(text);
	g_free(ini);
	g_free(tok);
	g_free(dir);
}

/* deploy/conf/gateway.ini must stay loadable. */
static void test_sample(void)
{
	const char *path = g_getenv("GW_SAMPLE_INI");
	char *text = NULL, err[PP_CFG_ERR_MAX] = "";
	gsize len = 0;
	struct gw_config *cfg = NULL;

	if (!path) {
		g_test_skip("GW_SAMPLE_INI not set");
		return;
	}
	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	if (gw_config_load_data(path, text, len, GW_CONFIG_SKIP_TOKEN, &cfg, err, sizeof(err)) != 0)
		g_error("%s", err);
	g_assert_cmpuint(cfg->n_services, ==, 3);
	g_assert_cmpuint(cfg->n_identities, ==, 2);
	gw_config_free(cfg);
	g_free(text);
}

/* ice_addresses: IP literals only, kept in order; anything else refused. */
static void test_ice_addresses(void)
{
	struct gw_config *cfg = gwt_load_ok(GWT_HEAD "ice_addresses = 198.51.100.7, 2001:db8::7\n");

	g_assert_cmpuint(cfg->n_ice_addresses, ==, 2);
	g_assert_cmpstr(cfg->ice_addresses[0], ==, "198.51.100.7");
	g_assert_cmpstr(cfg->ice_addresses[1], ==, "2001:db8::7");
	g_assert_null(cfg->ice_addresses[2]);
	gw_config_free(cfg);
	cfg = gwt_load_ok(GWT_HEAD);
	g_assert_cmpuint(cfg->n_ice_addresses, ==, 0);
	gw_config_free(cfg);
	expect_error(GWT_HEAD "ice_addresses = gw.example.org\n", "t.ini:4: [gateway] ice_addresses");
	expect_error(GWT_HEAD "ice_addresses = 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,"
	             "10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9,10.0.0.10,10.0.0.11,10.0.0.12,10.0.0.13,"
	             "10.0.0.14,10.0.0.15,10.0.0.16,10.0.0.17\n", "up to 16 IP addresses");
}

/* A reload compares the [gateway] settings that apply only at start and
 * names each one that changed (gw_reload warns about them); the ones a
 * reload applies (ACL, limits, log level, Sentinel) are not named. */
static void test_restart_changes(void)
{
	char *t1 = g_strdup_printf(GWT_HEAD "[identity alice]\nfingerprint = %s\n", gwt_fp(1));
	char *t2 = g_strdup_printf(
		GWT_HEAD "log_level = debug\nmax_streams_per_peer = 10\nconnect_timeout = 1s\n"
		"sentinel_denied = 3\naudit_log = /tmp/a.log\n"
		"[identity alice]\nfingerprint = %s\n[identity bob]\nfingerprint = %s\n",
		gwt_fp(1), gwt_fp(2));
	char *t3 = g_strdup_printf(
		GWT_HEAD "ids = ids\nids_interface = eth1\nids_rules = /r/a.rules\n"
		"ids_policy = fail-open\nids_engine = sidecar\nstream_buffer = 1MiB\npeer_buffer = 1MiB\n"
		"pending_limit = 64KiB\nmax_peers = 10\ncompression = lz4\nmax_datagram = 1200\n"
		"log_json = true\n[identity alice]\nfingerprint = %s\n", gwt_fp(1));
	struct gw_config *a = gwt_load_ok(t1), *b = gwt_load_ok(t2), *c = gwt_load_ok(t3);
	const char *want[] = { "max_peers", "stream_buffer", "peer_buffer", "pending_limit", "compression",
		               "max_datagram", "log_json", "ids", "ids_engine", "ids_interface",
		               "ids_rules", "ids_policy" };
	const char *names[GW_RESTART_KEYS_MAX];
	size_t n;

	g_assert_cmpuint(gw_config_restart_changes(a, b, names, G_N_ELEMENTS(names)), ==, 0);
	n = gw_config_restart_changes(a, c, names, G_N_ELEMENTS(names));
	g_assert_cmpuint(n, ==, G_N_ELEMENTS(want));
	for (size_t i = 0; i < n; i++)
		g_assert_cmpstr(names[i], ==, want[i]);
	/* and back: the same set */
	g_assert_cmpuint(gw_config_restart_changes(c, a, names, G_N_ELEMENTS(names)), ==, n);
	/* a short array still gets the count */
	g_assert_cmpuint(gw_config_restart_changes(a, c, names, 2), ==, n);
	g_assert_cmpstr(names[1], ==, "stream_buffer");
	/* the signaling token: another file, or new contents in the same one */
	char *t4 = g_strdup_printf("[gateway]\nsignal_url = wss://signal.example.org/v1/ws\n"
	                           "token_file = /other/token\n[identity alice]\nfingerprint = %s\n",
	                           gwt_fp(1));
	struct gw_config *d = gwt_load_ok(t4);
	g_assert_cmpuint(gw_config_restart_changes(a, d, names, G_N_ELEMENTS(names)), ==, 1);
	g_assert_cmpstr(names[0], ==, "token_file");
	g_free(b->token);
	b->token = g_strdup("eyJhbGciOiJIUzI1NiJ9.e30.x"); /* as if token_file were read again */
	g_assert_cmpuint(gw_config_restart_changes(a, b, names, G_N_ELEMENTS(names)), ==, 1);
	g_assert_cmpstr(names[0], ==, "token_file");
	gw_config_free(a);
	gw_config_free(b);
	gw_config_free(c);
	gw_config_free(d);
	g_free(t1);
	g_free(t2);
	g_free(t3);
	g_free(t4);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gconfig/good", test_good_file);
	g_test_add_func("/gconfig/defaults", test_defaults_and_empty_room);
	g_test_add_func("/gconfig/structure-errors", test_structure_errors);
	g_test_add_func("/gconfig/ice_addresses", test_ice_addresses);
	g_test_add_func("/gconfig/gateway-errors", test_gateway_errors);
	g_test_add_func("/gconfig/addresses", test_addresses);
	g_test_add_func("/gconfig/section-errors", test_section_errors);
	g_test_add_func("/gconfig/allow-errors", test_allow_errors);
	g_test_add_func("/gconfig/limits", test_limits);
	g_test_add_func("/gconfig/restart-changes", test_restart_changes);
	g_test_add_func("/gconfig/token-and-file", test_token_and_file);
	g_test_add_func("/gconfig/sample", test_sample);
	return g_test_run();
}
