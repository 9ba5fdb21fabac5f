/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe keygen | id | pin: this device's identity and the gateways it
 * trusts (tunnel.md §2). Both live in the configuration directory:
 * DIR/identity (pp_identity_load_or_create) and DIR/pins (pins.h). */
#include "cli.h"
#include "pins.h"

#include "peerpipe/error.h"
#include "peerpipe/rtc/identity.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static char *keys_identity_dir(void)
{
	return g_build_filename(pp_cli_config_dir(), "identity", NULL);
}

static bool keys_identity_exists(const char *dir)
{
	char *key = g_build_filename(dir, PP_IDENTITY_KEY_FILE, NULL);
	char *cert = g_build_filename(dir, PP_IDENTITY_CERT_FILE, NULL);
	bool yes = g_file_test(key, G_FILE_TEST_EXISTS) || g_file_test(cert, G_FILE_TEST_EXISTS);
	g_free(key);
	g_free(cert);
	return yes;
}

/* Loads (or with create, makes) the identity and prints its fingerprint. */
static int keys_print(bool create)
{
	char *dir = keys_identity_dir();
	struct pp_identity *id = NULL;
	int rc = 0;

	bool existed = keys_identity_exists(dir);
	if (!existed && !create) {
		rc = pp_cli_fail("no identity in %s yet; create one with: peerpipe keygen", dir);
		goto out;
	}
	if (!existed && (rc = pp_cli_config_dir_make()) != 0)
		goto out;
	int err = pp_identity_load_or_create(dir, &id);
	if (err < 0) {
		/* The library has logged the details (path, permissions). */
		rc = pp_cli_fail("cannot %s the identity in %s: %s", existed ? "load" : "create",
		                 dir, pp_strerror(err));
		goto out;
	}
	if (create)
		fprintf(stderr, "peerpipe: %s %s\n",
		        existed ? "identity already exists in" : "created a new identity in", dir);
	printf("%s\n", pp_identity_fingerprint_str(id));
out:
	pp_identity_free(id);
	g_free(dir);
	return rc;
}

int pp_cli_keygen(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: peerpipe [--config-dir DIR] keygen\n");
		return 2;
	}
	return keys_print(true);
}

int pp_cli_id(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: peerpipe [--config-dir DIR] id\n");
		return 2;
	}
	return keys_print(false);
}

static void pin_usage(FILE *f)
{
	fprintf(f, "usage: peerpipe [--config-dir DIR] pin add NAME FINGERPRINT [--replace]\n"
	           "       peerpipe [--config-dir DIR] pin list\n"
	           "       peerpipe [--config-dir DIR] pin remove NAME\n"
	           "FINGERPRINT is \"sha-256 AB:CD:...\" as the gateway prints it.\n");
}

/* Loads the pins file; 0 or 1 after reporting the error. */
static int pin_load(const char *path, struct pp_pins *pins)
{
	char err[512];
	if (pp_pins_load(path, pins, err, sizeof(err)) < 0)
		return pp_cli_fail("%s", err);
	return 0;
}

static int pin_save(const char *path, const struct pp_pins *pins)
{
	char err[512];
	if (pp_cli_config_dir_make() != 0)
		return 1;
	if (pp_pins_save(pins, path, err, sizeof(err)) < 0)
		return pp_cli_fail("%s", err);
	return 0;
}

/* "sha-256 AB:.." as one argument or two; bare "AB:.." means sha-256. */
static int pin_fp_arg(char **words, int n, struct pp_fingerprint *fp)
{
	char *text = n == 2 ? g_strjoin(" ", words[0], words[1], NULL)
	           : strpbrk(words[0], " \t") ? g_strdup(words[0])
	           : g_strconcat("sha-256 ", words[0], NULL);
	int rc = pp_pins_parse_fp(text, fp);
	g_free(text);
	return rc;
}

static int pin_add(const char *path, int argc, char **argv)
{
	struct pp_pins pins = { 0 };
	struct pp_fingerprint fp, old;
	char *pos[3], oldtext[PP_FP_TEXT_MAX], newtext[PP_FP_TEXT_MAX];
	bool replace = false;
	int n = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--replace") == 0)
			replace = true;
		else if (n < 3)
			pos[n++] = argv[i];
		else
			n = 4;
	}
	if (n < 2 || n > 3) {
		pin_usage(stderr);
		return 2;
	}
	if (!pp_pins_name_valid(pos[0]))
		return pp_cli_fail("NAME must be 1..64 characters of [A-Za-z0-9._-]");
	if (pin_fp_arg(pos + 1, n - 1, &fp) < 0)
		return pp_cli_fail("not a sha-256 fingerprint: expected \"sha-256 AB:CD:...\" (32 hex pairs)");
	if ((rc = pin_load(path, &pins)) != 0)
		return rc;
	pp_fingerprint_format(&fp, newtext, sizeof(newtext));
	bool had = pp_pins_lookup(&pins, pos[0], &old) == 0;
	rc = pp_pins_add(&pins, pos[0], &fp, replace);
	if (rc == PP_ERR_STATE) {
		pp_fingerprint_format(&old, oldtext, sizeof(oldtext));
		rc = pp_cli_fail("%s is pinned to another key:\n  pinned: %s\n  given:  %s\n"
		                 "A gateway whose key changed may be an impostor. If you know why "
		                 "it changed, run again with --replace.", pos[0], oldtext, newtext);
	} else if (rc < 0)
		rc = pp_cli_fail("cannot pin %s: %s", pos[0], pp_strerror(rc));
	else if (had && pp_fingerprint_equal(&old, &fp))
		fprintf(stderr, "peerpipe: %s is already pinned to this key\n", pos[0]);
	else if ((rc = pin_save(path, &pins)) == 0)
		fprintf(stderr, "peerpipe: %s %s %s\n", had ? "re-pinned" : "pinned", pos[0], newtext);
	pp_pins_free(&pins);
	return rc;
}

static int pin_list(const char *path)
{
	struct pp_pins pins = { 0 };
	int rc = pin_load(path, &pins);
	for (size_t i = 0; rc == 0 && i < pins.n; i++) {
		char text[PP_FP_TEXT_MAX];
		pp_fingerprint_format(&pins.v[i].fp, text, sizeof(text));
		printf("%s %s\n", pins.v[i].name, text);
	}
	pp_pins_free(&pins);
	return rc;
}

static int pin_remove(const char *path, const char *name)
{
	struct pp_pins pins = { 0 };
	int rc = pin_load(path, &pins);
	if (rc == 0 && pp_pins_remove(&pins, name) < 0)
		rc = pp_cli_fail("no pin named \"%s\" in %s", name, path);
	if (rc == 0)
		rc = pin_save(path, &pins);
	pp_pins_free(&pins);
	return rc;
}

int pp_cli_pin(int argc, char **argv)
{
	char *path = g_build_filename(pp_cli_config_dir(), PP_PINS_FILE, NULL);
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		rc = pin_add(path, argc - 2, argv + 2);
	else if (argc == 2 && strcmp(argv[1], "list") == 0)
		rc = pin_list(path);
	else if (argc == 3 && strcmp(argv[1], "remove") == 0)
		rc = pin_remove(path, argv[2]);
	else if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		pin_usage(stdout);
		rc = 0;
	} else
		pin_usage(stderr);
	g_free(path);
	return rc;
}
