/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: JWT HS256 signing and strict verification; TURN REST. */
#include "peerpipe/b64.h"
#include "peerpipe/error.h"
#include "peerpipe/jwt.h"
#include "peerpipe/turn_rest.h"

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32
#define NOW 1800000000LL

/* header.payload.HMAC(key) from raw JSON texts; sig_alg NULL = no signature */
static char *craft(const char *header, const char *payload, const uint8_t *key, const EVP_MD *md)
{
	char h[1024], p[1024], s[256] = "";
	pp_b64url_encode((const uint8_t *)header, strlen(header), h, sizeof(h));
	pp_b64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof(p));
	char *signed_part = g_strdup_printf("%s.%s", h, p);
	if (md) {
		uint8_t mac[64];
		unsigned int n = 0;
		HMAC(md, key, KEYLEN, (const uint8_t *)signed_part, strlen(signed_part), mac, &n);
		pp_b64url_encode(mac, n, s, sizeof(s));
	}
	char *tok = g_strdup_printf("%s.%s", signed_part, s);
	g_free(signed_part);
	return tok;
}

static int verify(const char *tok, struct pp_jwt_claims *c)
{
	return pp_jwt_verify(KEY, KEYLEN, tok, strlen(tok), NOW, 30, c);
}

static void test_round_trip(void)
{
	struct pp_jwt_claims in = { .sub = "gw-1", .room = "office", .role = PP_ROLE_GATEWAY,
	                            .exp = NOW + 3600, .iat = NOW };
	struct pp_jwt_claims out;
	char *tok = NULL;
	g_assert_cmpint(pp_jwt_sign(KEY, KEYLEN, &in, &tok), ==, 0);
	g_assert_cmpint(verify(tok, &out), ==, 0);
	g_assert_cmpstr(out.sub, ==, "gw-1");
	g_assert_cmpstr(out.room, ==, "office");
	g_assert_cmpint(out.role, ==, PP_ROLE_GATEWAY);
	g_assert_cmpint(out.exp, ==, NOW + 3600);
	/* any flipped character breaks it */
	for (size_t i = 0; tok[i]; i += 7) {
		char *bad = g_strdup(tok);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		g_assert_cmpint(verify(bad, &out), <, 0);
		g_free(bad);
	}
	/* another key */
	g_assert_cmpint(pp_jwt_verify((const uint8_t *)"another key, 32 bytes long......", 32, tok,
	                              strlen(tok), NOW, 30, &out), ==, PP_ERR_AUTH);
	g_free(tok);
}

#define GOOD_CLAIMS "{\"sub\":\"alice\",\"room\":\"office\",\"role\":\"desktop\",\"exp\":1800003600}"
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static void expect(const char *header, const char *payload, const EVP_MD *md, int rc)
{
	struct pp_jwt_claims c;
	char *tok = craft(header, payload, KEY, md);
	int got = verify(tok, &c);
	if (got != rc)
		g_error("%s / %s: got %d, want %d", header, payload, got, rc);
	g_free(tok);
}

static void test_refusals(void)
{
	expect(HS256, GOOD_CLAIMS, EVP_sha256(), 0);
	expect("{\"alg\":\"HS256\"}", GOOD_CLAIMS, EVP_sha256(), 0);
	/* algorithm pinned */
	expect("{\"alg\":\"none\"}", GOOD_CLAIMS, NULL, PP_ERR_AUTH);
	expect("{\"alg\":\"none\"}", GOOD_CLAIMS, EVP_sha256(), PP_ERR_AUTH);
	expect("{\"alg\":\"HS512\"}", GOOD_CLAIMS, EVP_sha512(), PP_ERR_AUTH);
	expect("{\"alg\":\"hs256\"}", GOOD_CLAIMS, EVP_sha256(), PP_ERR_AUTH);
	expect("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", GOOD_CLAIMS, EVP_sha256(), PP_ERR_AUTH);
	expect("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", GOOD_CLAIMS, EVP_sha256(), PP_ERR_AUTH);
	expect("[1]", GOOD_CLAIMS, EVP_sha256(), PP_ERR_AUTH);
	/* time claims, with 30 s leeway */
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1799999970}", EVP_sha256(), PP_ERR_EXPIRED);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1799999971}", EVP_sha256(), 0);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600,\"nbf\":1800000031}", EVP_sha256(), PP_ERR_NOT_YET);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600,\"nbf\":1800000000.5}", EVP_sha256(), 0);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600,\"iat\":1800000100}", EVP_sha256(), PP_ERR_NOT_YET);
	/* required claims and their form */
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\"}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":\"1800003600\"}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"sub\":\"a b\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"\",\"role\":\"desktop\",\"exp\":1800003600}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"sub\":\"a\",\"room\":\"r\",\"role\":\"admin\",\"exp\":1800003600}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600}", EVP_sha256(), PP_ERR_AUTH);
	expect(HS256, "{\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"room\":\"r\",\"role\":\"desktop\",\"exp\":1800003600}", EVP_sha256(), PP_ERR_AUTH);
}

static void test_form(void)
{
	struct pp_jwt_claims c;
	g_assert_cmpint(verify("", &c), ==, PP_ERR_AUTH);
	g_assert_cmpint(verify("a.b", &c), ==, PP_ERR_AUTH);
	g_assert_cmpint(verify("a.b.c.d", &c), ==, PP_ERR_AUTH);
	g_assert_cmpint(verify("..", &c), ==, PP_ERR_AUTH);
	char *big = g_strnfill(PP_JWT_MAX + 1, 'a');
	g_assert_cmpint(verify(big, &c), ==, PP_ERR_TOO_BIG);
	g_free(big);
}

static void test_turn_rest(void)
{
	char user[PP_TURN_USER_MAX], cred[PP_TURN_CRED_MAX];
	/* coturn's documented scheme: base64(HMAC-SHA1(secret, "expiry:name")) */
	g_assert_cmpint(pp_turn_rest_credential((const uint8_t *)"north", 5, "alice", 1700000000, user, cred), ==, 0);
	g_assert_cmpstr(user, ==, "1700000000:alice");
	uint8_t mac[20];
	unsigned int n;
	char want[64];
	HMAC(EVP_sha1(), "north", 5, (const uint8_t *)user, strlen(user), mac, &n);
	pp_b64_encode(mac, n, want, sizeof(want));
	g_assert_cmpstr(cred, ==, want);
	g_assert_cmpuint(strlen(cred), ==, 28);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/jwt/round-trip", test_round_trip);
	g_test_add_func("/jwt/refusals", test_refusals);
	g_test_add_func("/jwt/form", test_form);
	g_test_add_func("/turn/rest", test_turn_rest);
	return g_test_run();
}
