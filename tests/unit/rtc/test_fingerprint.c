/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"
#include "peerpipe/rtc/fingerprint.h"

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/* `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256` and its
 * `openssl x509 -noout -fingerprint -sha256`. */
static const char test_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBhzCCAS2gAwIBAgIUSDnAQUHx/yNK9CIgm0enYE9GQYIwCgYIKoZIzj0EAwIw\n"
	"GDEWMBQGA1UEAwwNcGVlcnBpcGUtdGVzdDAgFw0yNjExMjIwMDQ4MzdaGA8yMTI2\n"
	"MTAyOTAwNDgzN1owGDEWMBQGA1UEAwwNcGVlcnBpcGUtdGVzdDBZMBMGByqGSM49\n"
	"AgEGCCqGSM49AwEHA0IABOmyrrd9fQJQUwQlgerJyEG8tf/G4YfRddwhKbMJx+Cm\n"
	"Sy3GijVWG2ZAhMoHGTBGLJGqe0xJyOh32IlV01fgPZqjUzBRMB0GA1UdDgQWBBSX\n"
	"67CJzaOA3HkQ9zPl6SxlV583ezAfBgNVHSMEGDAWgBSX67CJzaOA3HkQ9zPl6Sxl\n"
	"V583ezAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDzBG0Wm7Y3\n"
	"qrN/AQSBGZclahG2ZI1su5+N5GQs3xl8PQIgWWtgvfg2Tjel8WH4PSkoTEb4NXsE\n"
	"kDfS0P65+HaQNaQ=\n"
	"-----END CERTIFICATE-----\n";
static const char test_cert_fp[] =
	"sha-256 C7:EE:B7:CC:40:AB:02:36:AD:D1:99:A2:94:C6:BC:71:E9:74:B8:B7:BE:F4:5F:40:F3:0F:28:AF:0D:25:83:B1";

static X509 *load_cert(void)
{
	BIO *bio = BIO_new_mem_buf(test_cert_pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	g_assert_nonnull(x);
	return x;
}

/* A fresh ECDSA P-256 self-signed certificate, as a peer identity. */
static X509 *new_cert(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	g_assert_nonnull(key);
	g_assert_nonnull(x);
	g_assert_cmpint(X509_set_version(x, 2), ==, 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"peer", -1, -1, 0);
	X509_set_issuer_name(x, name);
	g_assert_cmpint(X509_set_pubkey(x, key), ==, 1);
	g_assert_cmpint(X509_sign(x, key, EVP_sha256()), >, 0);
	EVP_PKEY_free(key);
	return x;
}

static void test_known_cert(void)
{
	X509 *x = load_cert();
	struct pp_fingerprint fp, parsed;
	char text[PP_FP_TEXT_MAX];

	g_assert_cmpint(pp_fingerprint_compute(x, &fp), ==, 0);
	g_assert_cmpint(fp.alg, ==, PP_FP_SHA256);
	g_assert_cmpuint(fp.len, ==, 32);
	int n = pp_fingerprint_format(&fp, text, sizeof(text));
	g_assert_cmpint(n, ==, (int)strlen(test_cert_fp));
	g_assert_cmpstr(text, ==, test_cert_fp);
	g_assert_cmpint(pp_fingerprint_parse(test_cert_fp, strlen(test_cert_fp), &parsed), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, &parsed));
	X509_free(x);
}

static void test_fresh_cert(void)
{
	X509 *a = new_cert(), *b = new_cert();
	struct pp_fingerprint fa, fb, again;
	unsigned char *der = NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;

	g_assert_cmpint(pp_fingerprint_compute(a, &fa), ==, 0);
	g_assert_cmpint(pp_fingerprint_compute(b, &fb), ==, 0);
	/* SHA-256 over the DER encoding */
	int dlen = i2d_X509(a, &der);
	g_assert_cmpint(dlen, >, 0);
	g_assert_cmpint(EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_sha256(), NULL), ==, 1);
	g_assert_cmpmem(fa.digest, fa.len, md, mdlen);
	OPENSSL_free(der);
	g_assert_false(pp_fingerprint_equal(&fa, &fb));
	g_assert_cmpint(pp_fingerprint_compute(a, &again), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fa, &again));
	g_assert_cmpint(pp_fingerprint_compute(NULL, &again), ==, PP_ERR_CRYPTO);
	X509_free(a);
	X509_free(b);
}

static void test_parse(void)
{
	struct pp_fingerprint fp;
	const char *lower = "SHA-256 c7:ee:b7:cc:40:ab:02:36:ad:d1:99:a2:94:c6:bc:71:e9:74:b8:b7:be:f4:5f:40:f3:0f:28:af:0d:25:83:b1";
	char text[PP_FP_TEXT_MAX];

	g_assert_cmpint(pp_fingerprint_parse(lower, strlen(lower), &fp), ==, 0);
	g_assert_cmpstr(fp.alg_name, ==, "sha-256");
	g_assert_cmpint(pp_fingerprint_format(&fp, text, sizeof(text)), >, 0);
	g_assert_cmpstr(text, ==, test_cert_fp); /* uppercase again */

	static const struct {
		const char *text;
		enum pp_fp_alg alg;
		size_t len;
	} good[] = {
		{ "sha-1 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13", PP_FP_SHA1, 20 },
		{ "sha-224 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B",
		  PP_FP_SHA224, 28 },
		{ "md5 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F", PP_FP_UNKNOWN, 16 },
		{ "x 00", PP_FP_UNKNOWN, 1 },
		{ "sha3-256-long-nm 00:FF", PP_FP_UNKNOWN, 2 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		g_assert_cmpint(pp_fingerprint_parse(good[i].text, strlen(good[i].text), &fp), ==, 0);
		g_assert_cmpint(fp.alg, ==, good[i].alg);
		g_assert_cmpuint(fp.len, ==, good[i].len);
		g_assert_false(pp_fingerprint_pinnable(&fp));
		g_assert_false(pp_fingerprint_equal(&fp, &fp));
		int n = pp_fingerprint_format(&fp, text, sizeof(text));
		g_assert_cmpint(n, ==, (int)strlen(good[i].text));
		g_assert_cmpstr(text, ==, good[i].text);
	}

	/* SHA-384 and SHA-512, and the longest unknown form */
	GString *g = g_string_new("sha-384 00");
	for (int i = 1; i < 48; i++)
		g_string_append(g, ":AB");
	g_assert_cmpint(pp_fingerprint_parse(g->str, g->len, &fp), ==, 0);
	g_assert_cmpint(fp.alg, ==, PP_FP_SHA384);
	g_string_assign(g, "sha-512 00");
	for (int i = 1; i < 64; i++)
		g_string_append(g, ":CD");
	g_assert_cmpint(pp_fingerprint_parse(g->str, g->len, &fp), ==, 0);
	g_assert_cmpint(fp.alg, ==, PP_FP_SHA512);
	g_string_append(g, ":EF"); /* 65 bytes */
	g_assert_cmpint(pp_fingerprint_parse(g->str, g->len, &fp), ==, PP_ERR_INVALID);
	g_string_assign(g, "abcdefghijklmnop 00");
	for (int i = 1; i < 64; i++)
		g_string_append(g, ":01");
	g_assert_cmpint(pp_fingerprint_parse(g->str, g->len, &fp), ==, 0);
	g_assert_cmpint(pp_fingerprint_format(&fp, text, sizeof(text)), ==, (int)g->len);
	g_assert_cmpuint(g->len + 1, ==, PP_FP_TEXT_MAX);
	g_string_free(g, TRUE);
}

static void test_parse_errors(void)
{
	static const char *const bad[] = {
		"",
		"sha-256",
		"sha-256 ",
		" sha-256 00",
		"sha-256  C7:EE",
		"sha-256 C7:EE ",
		"sha-256 C7:EE:B7:CC:40:AB:02:36:AD:D1:99:A2:94:C6:BC:71:E9:74:B8:B7:BE:F4:5F:40:F3:0F:28:AF:0D:25:83", /* 31 */
		"sha-256 C7:EE:B7:CC:40:AB:02:36:AD:D1:99:A2:94:C6:BC:71:E9:74:B8:B7:BE:F4:5F:40:F3:0F:28:AF:0D:25:83:B1:00",
		"sha-256 C7EE:B7:CC:40:AB:02:36:AD:D1:99:A2:94:C6:BC:71:E9:74:B8:B7:BE:F4:5F:40:F3:0F:28:AF:0D:25:83:B1",
		"sha-1 0:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13",
		"x 0",
		"x 000",
		"x 0G",
		"x 00:",
		"x :00",
		"x 00;00",
		"x 00 00",
		"abcdefghijklmnopq 00",
		"a\"b 00",
		"sha-1\t00",
	};
	struct pp_fingerprint fp;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		memset(&fp, 0xa5, sizeof(fp));
		g_test_message("%s", bad[i]);
		g_assert_cmpint(pp_fingerprint_parse(bad[i], strlen(bad[i]), &fp), ==, PP_ERR_INVALID);
		g_assert_cmpint(fp.alg, ==, PP_FP_UNKNOWN);
		g_assert_cmpuint(fp.len, ==, 0);
	}
	g_assert_cmpint(pp_fingerprint_parse("x 00\0", 5, &fp), ==, PP_ERR_INVALID);
}

static void test_format_errors(void)
{
	struct pp_fingerprint fp;
	char text[PP_FP_TEXT_MAX];

	g_assert_cmpint(pp_fingerprint_parse(test_cert_fp, strlen(test_cert_fp), &fp), ==, 0);
	size_t n = strlen(test_cert_fp);
	for (size_t cap = 0; cap <= n; cap++)
		g_assert_cmpint(pp_fingerprint_format(&fp, text, cap), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_fingerprint_format(&fp, text, n + 1), ==, (int)n);

	struct pp_fingerprint bad = fp;
	bad.len = 0;
	g_assert_cmpint(pp_fingerprint_format(&bad, text, sizeof(text)), ==, PP_ERR_INVALID);
	bad.len = PP_FP_DIGEST_MAX + 1;
	g_assert_cmpint(pp_fingerprint_format(&bad, text, sizeof(text)), ==, PP_ERR_INVALID);
	bad = fp;
	bad.alg_name[0] = '\0';
	g_assert_cmpint(pp_fingerprint_format(&bad, text, sizeof(text)), ==, PP_ERR_INVALID);
	strcpy(bad.alg_name, "a b");
	g_assert_cmpint(pp_fingerprint_format(&bad, text, sizeof(text)), ==, PP_ERR_INVALID);
	memset(bad.alg_name, 'a', sizeof(bad.alg_name));
	g_assert_cmpint(pp_fingerprint_format(&bad, text, sizeof(text)), ==, PP_ERR_INVALID);
}

static void test_equal(void)
{
	struct pp_fingerprint a, b;

	g_assert_cmpint(pp_fingerprint_parse(test_cert_fp, strlen(test_cert_fp), &a), ==, 0);
	b = a;
	g_assert_true(pp_fingerprint_pinnable(&a));
	g_assert_true(pp_fingerprint_equal(&a, &b));
	for (size_t i = 0; i < a.len; i++) {
		b = a;
		b.digest[i] ^= 1;
		g_assert_false(pp_fingerprint_equal(&a, &b));
	}
	b = a;
	b.alg = PP_FP_UNKNOWN; /* same bytes, unknown name */
	g_assert_false(pp_fingerprint_equal(&a, &b));
	g_assert_false(pp_fingerprint_equal(&b, &a));
	b = a;
	b.len = 31;
	g_assert_false(pp_fingerprint_equal(&a, &b));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc/fingerprint/known-cert", test_known_cert);
	g_test_add_func("/rtc/fingerprint/fresh-cert", test_fresh_cert);
	g_test_add_func("/rtc/fingerprint/parse", test_parse);
	g_test_add_func("/rtc/fingerprint/parse-errors", test_parse_errors);
	g_test_add_func("/rtc/fingerprint/format-errors", test_format_errors);
	g_test_add_func("/rtc/fingerprint/equal", test_equal);
	return g_test_run();
}
