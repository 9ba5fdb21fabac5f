/* SPDX-License-Identifier: Apache-2.0 */
/* Temporary directory trees that unit tests make and remove (tmptree.h). */
#include "tmptree.h"

#include <glib.h>
#include <glib/gstdio.h>

void tmptree_remove(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			tmptree_remove(path);
		else
			g_unlink(path);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}
