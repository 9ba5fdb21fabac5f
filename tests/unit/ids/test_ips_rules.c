/* SPDX-License-Identifier: Apache-2.0 */
/* ips mode's rule copies (pp_suricata_rules_ips: alert -> rejectboth) and
 * the ips parts of the generated suricata.yaml. */
#include "peerpipe/error.h"
#include "peerpipe/ids/suricata.h"

#include <glib.h>
#include <string.h>

/* The rewrite of in, as a string (NULL when refused). */
static char *ips(const char *in, size_t *n, int *rc)
{
	GString *out = g_string_new(NULL);
	const char *why = NULL;
	int r = pp_suricata_rules_ips(in, strlen(in), out, n, &why);

	if (rc)
		*rc = r;
	if (r != 0) {
		g_assert_nonnull(why);
		g_string_free(out, TRUE);
		return NULL;
	}
	g_assert_null(why);
	return g_string_free(out, FALSE);
}

static void check(const char *in, const char *want, size_t want_n)
{
	size_t n = 99;
	int rc = 1;
	g_autofree char *got = ips(in, &n, &rc);

	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpstr(got, ==, want);
	g_assert_cmpuint(n, ==, want_n);
}

static void test_actions(void)
{
	check("alert http any any -> any any (msg:\"x\"; sid:1;)\n",
	      "rejectboth http any any -> any any (msg:\"x\"; sid:1;)\n", 1);
	/* other actions are the operator's choice: kept */
	check("pass tcp any any -> any 22 (sid:2;)\n"
	      "drop tcp any any -> any any (sid:3;)\n"
	      "reject tcp any any -> any any (sid:4;)\n"
	      "rejectsrc tcp any any -> any any (sid:5;)\n"
	      "rejectboth tcp any any -> any any (sid:6;)\n",
	      "pass tcp any any -> any 22 (sid:2;)\n"
	      "drop tcp any any -> any any (sid:3;)\n"
	      "reject tcp any any -> any any (sid:4;)\n"
	      "rejectsrc tcp any any -> any any (sid:5;)\n"
	      "rejectboth tcp any any -> any any (sid:6;)\n", 0);
	/* Suricata reads the action in any case */
	check("ALERT ip any any -> any any (sid:7;)\n", "rejectboth ip any any -> any any (sid:7;)\n", 1);
	check("Alert\tip any any -> any any (sid:8;)\n", "rejectboth\tip any any -> any any (sid:8;)\n", 1);
	/* a first token that only starts with alert is not the action */
	check("alerts tcp (sid:9;)\nalert\n", "alerts tcp (sid:9;)\nalert\n", 0);
}

static void test_layout_kept(void)
{
	/* comments (also disabled rules), blank lines, leading whitespace,
	 * CRLF, a last line without a line end */
	check("# PeerPipe rules\n"
	      "#alert tcp any any -> any any (sid:10;)\n"
	      "   # alert in an indented comment\n"
	      "\n"
	      "  \talert tcp any any -> any any (sid:11;)\r\n"
	      "\r\n"
	      "alert tcp any any -> any any (sid:12;)",
	      "# PeerPipe rules\n"
	      "#alert tcp any any -> any any (sid:10;)\n"
	      "   # alert in an indented comment\n"
	      "\n"
	      "  \trejectboth tcp any any -> any any (sid:11;)\r\n"
	      "\r\n"
	      "rejectboth tcp any any -> any any (sid:12;)", 2);
	check("", "", 0);
	check("\n\n", "\n\n", 0);
}

static void test_continuation(void)
{
	/* Suricata joins a line ending in a backslash with the next: the
	 * next line is no rule of its own, even if it starts with alert */
	check("alert tcp any any -> any any (msg:\"a\"; \\\n"
	      "alert ip; sid:13;)\n"
	      "alert tcp any any -> any any (sid:14;)\n",
	      "rejectboth tcp any any -> any any (msg:\"a\"; \\\n"
	      "alert ip; sid:13;)\n"
	      "rejectboth tcp any any -> any any (sid:14;)\n", 2);
	check("alert tcp any any -> any any (msg:\"a\"; \\\r\n"
	      "  alert ip; sid:15;)\r\n",
	      "rejectboth tcp any any -> any any (msg:\"a\"; \\\r\n"
	      "  alert ip; sid:15;)\r\n", 1);
}

static void test_noalert(void)
{
	/* flowbits setters never alert: blocking on them would cut benign flows */
	check("alert http any any -> any any (flow:to_server; flowbits:set,x; flowbits:noalert; sid:16;)\n"
	      "alert http any any -> any any (flowbits: noalert ; sid:17;)\n"
	      "alert http any any -> any any (noalert; sid:18;)\n",
	      "alert http any any -> any any (flow:to_server; flowbits:set,x; flowbits:noalert; sid:16;)\n"
	      "alert http any any -> any any (flowbits: noalert ; sid:17;)\n"
	      "alert http any any -> any any (noalert; sid:18;)\n", 0);
	/* the word in a quoted string or as part of another word does not count */
	check("alert http any any -> any any (msg:\"noalert; here\"; content:\"a\\\"noalert\"; sid:19;)\n"
	      "alert http any any -> any any (flowbits:set,noalerted; sid:20;)\n",
	      "rejectboth http any any -> any any (msg:\"noalert; here\"; content:\"a\\\"noalert\"; sid:19;)\n"
	      "rejectboth http any any -> any any (flowbits:set,noalerted; sid:20;)\n", 2);
}

static void test_bundled(void)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GString) out = g_string_new(NULL);
	size_t n = 0;
	const char *why = NULL;
	unsigned alerts = 0, comments = 0;

	g_assert_true(g_file_get_contents(PP_SOURCE_ROOT "/deploy/suricata/peerpipe.rules", &text,
	                                  &len, NULL));
	g_assert_cmpint(pp_suricata_rules_ips(text, len, out, &n, &why), ==, 0);
	g_auto(GStrv) in_lines = g_strsplit(text, "\n", -1);
	g_auto(GStrv) out_lines = g_strsplit(out->str, "\n", -1);
	g_assert_cmpuint(g_strv_length(in_lines), ==, g_strv_length(out_lines));
	for (size_t i = 0; in_lines[i]; i++) {
		if (g_str_has_prefix(in_lines[i], "alert ")) {
			alerts++;
			g_assert_true(g_str_has_prefix(out_lines[i], "rejectboth "));
			g_assert_cmpstr(in_lines[i] + 6, ==, out_lines[i] + 11);
		} else {
			comments += in_lines[i][0] == '#';
			g_assert_cmpstr(in_lines[i], ==, out_lines[i]);
		}
	}
	g_assert_cmpuint(alerts, ==, 23); /* docs/ids.md: 23 rules */
	g_assert_cmpuint(n, ==, alerts);
	g_assert_cmpuint(comments, >, 0);
}

static void test_limits(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	const char *why = NULL;
	char nul[] = "alert tcp any any -> any any (sid:1;)\n\0alert";

	g_assert_cmpint(pp_suricata_rules_ips(nul, sizeof(nul) - 1, out, NULL, &why), ==,
	                PP_ERR_INVALID);
	g_assert_nonnull(strstr(why, "NUL"));
	/* the size is checked before anything is read */
	why = NULL;
	g_assert_cmpint(pp_suricata_rules_ips("x", (size_t)PP_SURICATA_RULES_FILE_MAX + 1, out, NULL,
	                                      &why), ==, PP_ERR_TOO_BIG);
	g_assert_nonnull(strstr(why, "64 MiB"));
	g_assert_cmpuint(out->len, ==, 0);
}

static void test_paths(void)
{
	g_autofree char *p0 = pp_suricata_rules_ips_path("/var/lib/x/ids", 0,
	                                                 "/usr/share/peerpipe/suricata/peerpipe.rules");
	g_autofree char *p1 = pp_suricata_rules_ips_path("/w", 1, "/etc/op/peerpipe.rules");

	g_assert_cmpstr(p0, ==, "/var/lib/x/ids/rules-ips/00-peerpipe.rules");
	/* the same name twice stays two files */
	g_assert_cmpstr(p1, ==, "/w/rules-ips/01-peerpipe.rules");
}

static void test_yaml_ips(void)
{
	const char *rules[] = {"/r/peerpipe.rules", "/etc/op.rules", NULL};
	struct pp_suricata_config c = {
		.mode = PP_SURICATA_IPS, .work_dir = "/w", .rule_files = rules, .nfq_queue = 3500,
	};
	const char *why = NULL;
	g_autofree char *closed = pp_suricata_config_yaml(&c, "/w/eve.sock", &why);

	/* no interface in ips mode */
	g_assert_nonnull(closed);
	g_assert_cmpint(pp_suricata_config_check(&c, &why), ==, 0);
	g_assert_nonnull(strstr(closed, "rule-files:\n  - \"/w/rules-ips/00-peerpipe.rules\"\n"
	                                "  - \"/w/rules-ips/01-op.rules\"\n"));
	g_assert_nonnull(strstr(closed, "nfq:\n  mode: accept\n  fail-open: no\n"));
	g_assert_nonnull(strstr(closed, "stream:\n  inline: yes\n"));
	g_assert_null(strstr(closed, "af-packet"));
	g_assert_null(strstr(closed, "midstream"));
	g_assert_null(strstr(closed, "exception-policy"));
	g_assert_null(strstr(closed, "/r/peerpipe.rules"));

	c.nfq_fail_open = true;
	g_autofree char *open = pp_suricata_config_yaml(&c, "/w/eve.sock", &why);
	g_assert_nonnull(strstr(open, "  fail-open: yes\n"));
	g_assert_null(strstr(open, "midstream")); /* measured: it loses packet-level rules */
	g_assert_nonnull(strstr(open, "exception-policy: ignore\n"));

	/* ids mode still needs its interface */
	c.mode = PP_SURICATA_IDS;
	g_assert_cmpint(pp_suricata_config_check(&c, &why), ==, PP_ERR_INVALID);
	g_assert_nonnull(strstr(why, "interface"));
	c.interface = "veth-a";
	g_autofree char *ids = pp_suricata_config_yaml(&c, "/w/eve.sock", &why);
	g_assert_nonnull(strstr(ids, "  - interface: \"veth-a\"\n"));
	g_assert_nonnull(strstr(ids, "  - \"/r/peerpipe.rules\"\n"));
	g_assert_null(strstr(ids, "nfq:"));
	c.mode = 7;
	g_assert_cmpint(pp_suricata_config_check(&c, &why), ==, PP_ERR_INVALID);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ids/ips_rules/actions", test_actions);
	g_test_add_func("/ids/ips_rules/layout_kept", test_layout_kept);
	g_test_add_func("/ids/ips_rules/continuation", test_continuation);
	g_test_add_func("/ids/ips_rules/noalert", test_noalert);
	g_test_add_func("/ids/ips_rules/bundled", test_bundled);
	g_test_add_func("/ids/ips_rules/limits", test_limits);
	g_test_add_func("/ids/ips_rules/paths", test_paths);
	g_test_add_func("/ids/ips_rules/yaml_ips", test_yaml_ips);
	return g_test_run();
}
