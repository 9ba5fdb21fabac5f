/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: access decisions and the reload helpers. */
#include "acl.h"
#include "gw_test.h"

static struct gw_config *load_acl(const char *services)
{
	char *text = g_strdup_printf(GWT_HEAD
		"[identity alice]\nfingerprint = %s\ngroups = dev, ops\n"
		"[identity bob]\nfingerprint = %s\ngroups = dev\n"
		"[identity carol]\nfingerprint = %s\n"
		"%s", gwt_fp(1), gwt_fp(2), gwt_fp(3), services);
	struct gw_config *cfg = gwt_load_ok(text);
	g_free(text);
	return cfg;
}

#define SVCS_NO_WEB \
	"[service db]\naddress = db:5432\nallow = @dev\n" \
	"[service admin]\naddress = admin:22\nallow = @ops, carol\n" \
	"[service closed]\naddress = closed:1\n" \
	"[service empty]\naddress = empty:1\nallow =\n"
#define SVCS SVCS_NO_WEB "[service web]\naddress = web:80\ndescription = Wiki\nallow = bob, alice\n"

static const struct gw_identity *who(const struct gw_config *c, const char *name)
{
	const struct gw_identity *id = gw_config_identity_by_name(c, name);
	g_assert_nonnull(id);
	return id;
}

static const struct gw_service *svc(const struct gw_config *c, const char *name)
{
	const struct gw_service *s = gw_config_service_by_name(c, name);
	g_assert_nonnull(s);
	return s;
}

static void test_allows(void)
{
	struct gw_config *c = load_acl(SVCS);
	const struct gw_identity *alice = who(c, "alice"), *bob = who(c, "bob"), *carol = who(c, "carol");

	/* Deny by default: no allow key, or an empty one, lets nobody in. */
	for (size_t i = 0; i < c->n_identities; i++) {
		g_assert_false(gw_acl_allows(c, &c->identities[i], svc(c, "closed")));
		g_assert_false(gw_acl_allows(c, &c->identities[i], svc(c, "empty")));
	}
	g_assert_true(gw_acl_allows(c, alice, svc(c, "db")));   /* @dev */
	g_assert_true(gw_acl_allows(c, bob, svc(c, "db")));     /* @dev */
	g_assert_false(gw_acl_allows(c, carol, svc(c, "db")));
	g_assert_true(gw_acl_allows(c, alice, svc(c, "admin"))); /* @ops */
	g_assert_false(gw_acl_allows(c, bob, svc(c, "admin")));
	g_assert_true(gw_acl_allows(c, carol, svc(c, "admin"))); /* by name */
	g_assert_false(gw_acl_allows(c, NULL, svc(c, "db")));
	g_assert_false(gw_acl_allows(c, alice, NULL));
	g_assert_false(gw_acl_allows(NULL, alice, svc(c, "db")));

	/* Pointers from another config object are refused, never misread. */
	struct gw_config *d = load_acl(SVCS);
	g_assert_false(gw_acl_allows(d, alice, svc(d, "db")));
	g_assert_false(gw_acl_allows(c, who(d, "alice"), svc(c, "db")));
	gw_config_free(d);
	gw_config_free(c);
}

static void test_services_for(void)
{
	struct gw_config *c = load_acl(SVCS);
	const struct gw_service *out[8];

	g_assert_cmpuint(gw_acl_services_for(c, who(c, "alice"), out, 8), ==, 3);
	g_assert_cmpstr(out[0]->name, ==, "db"); /* config order */
	g_assert_cmpstr(out[1]->name, ==, "admin");
	g_assert_cmpstr(out[2]->name, ==, "web");
	g_assert_cmpuint(gw_acl_services_for(c, who(c, "bob"), out, 1), ==, 2);
	g_assert_cmpstr(out[0]->name, ==, "db");
	g_assert_cmpuint(gw_acl_services_for(c, who(c, "carol"), NULL, 0), ==, 1);
	g_assert_cmpuint(gw_acl_services_for(c, NULL, out, 8), ==, 0);
	gw_config_free(c);
}

static void test_reload(void)
{
	struct gw_config *old = load_acl(SVCS);
	const struct gw_identity *alice = who(old, "alice"), *bob = who(old, "bob");
	const struct gw_identity *carol = who(old, "carol");

	/* Same file: nothing changes for anyone. */
	struct gw_config *same = load_acl(SVCS);
	for (size_t i = 0; i < old->n_identities; i++) {
		const struct gw_identity *n = gw_acl_identity_in(same, &old->identities[i]);
		g_assert_nonnull(n);
		g_assert_false(gw_acl_services_changed(old, &old->identities[i], same, n));
	}
	gw_config_free(same);

	/* bob loses web, the db description changes (alice and bob see it),
	 * carol is untouched. */
	struct gw_config *nw = load_acl(
		"[service db]\naddress = db:5432\ndescription = SQL\nallow = @dev\n"
		"[service admin]\naddress = admin:2222\nallow = @ops, carol\n"
		"[service web]\naddress = web:80\ndescription = Wiki\nallow = alice\n");
	g_assert_true(gw_acl_services_changed(old, alice, nw, gw_acl_identity_in(nw, alice)));
	g_assert_true(gw_acl_services_changed(old, bob, nw, gw_acl_identity_in(nw, bob)));
	/* An address change is not visible in SERVICES. */
	g_assert_false(gw_acl_services_changed(old, carol, nw, gw_acl_identity_in(nw, carol)));
	gw_config_free(nw);

	/* Order matters: SERVICES lists config order. */
	nw = load_acl("[service web]\naddress = web:80\ndescription = Wiki\nallow = bob, alice\n"
	              SVCS_NO_WEB);
	g_assert_true(gw_acl_services_changed(old, bob, nw, gw_acl_identity_in(nw, bob)));
	g_assert_false(gw_acl_services_changed(old, carol, nw, gw_acl_identity_in(nw, carol)));
	gw_config_free(nw);

	/* carol removed (revoked), alice renamed with the same key. */
	char *text = g_strdup_printf(GWT_HEAD
		"[identity alice2]\nfingerprint = %s\ngroups = dev, ops\n"
		"[identity bob]\nfingerprint = %s\ngroups = dev\n"
		"[identity carol]\nfingerprint = %s\n" SVCS_NO_WEB
		"[service web]\naddress = web:80\ndescription = Wiki\nallow = bob, alice2\n",
		gwt_fp(1), gwt_fp(2), gwt_fp(9)); /* carol's name, new key */
	nw = gwt_load_ok(text);
	g_free(text);
	g_assert_null(gw_acl_identity_in(nw, carol));
	const struct gw_identity *a2 = gw_acl_identity_in(nw, alice);
	g_assert_nonnull(a2);
	g_assert_cmpstr(a2->name, ==, "alice2");
	g_assert_false(gw_acl_services_changed(old, alice, nw, a2));
	g_assert_true(gw_acl_services_changed(old, carol, nw, NULL)); /* had admin */
	g_assert_false(gw_acl_services_changed(old, NULL, nw, NULL));
	gw_config_free(nw);
	gw_config_free(old);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/acl/allows", test_allows);
	g_test_add_func("/acl/services-for", test_services_for);
	g_test_add_func("/acl/reload", test_reload);
	return g_test_run();
}
