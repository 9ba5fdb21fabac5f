/* SPDX-License-Identifier: Apache-2.0 */
/* A sidecar's command line: <work_dir>/sidecar.args holds the arguments
 * the sidecar's Suricata runs with, so the container that runs it needs
 * no copy of the gateway's settings: `suricata $(cat .../sidecar.args)`.
 * Every word is a path checked by pp_suricata_config_check (absolute, no
 * quotes, backslashes or control characters) or a number; a path with a
 * space would split, so it is refused here. */
#include "suricata_int.h"

#include "peerpipe/error.h"

#include <string.h>

int pp_suricata_sidecar_write_args(const struct pp_suricata_config *cfg, const char *yaml_path,
                                   char *reason, size_t cap)
{
	g_autofree char *path = g_build_filename(cfg->work_dir, "sidecar.args", NULL);
	g_autofree char *args = NULL;
	GError *gerr = NULL;

	if (strchr(yaml_path, ' ') || strchr(cfg->work_dir, ' ')) {
		g_snprintf(reason, cap, "sidecar: the work directory %s has a space (sidecar.args "
		           "is split at spaces)", cfg->work_dir);
		return PP_ERR_INVALID;
	}
	if (cfg->mode == PP_SURICATA_IPS)
		args = g_strdup_printf("-c %s -l %s -q %u --init-errors-fatal\n", yaml_path,
		                       cfg->work_dir, (unsigned)cfg->nfq_queue);
	else
		args = g_strdup_printf("-c %s -l %s --af-packet=%s --init-errors-fatal\n", yaml_path,
		                       cfg->work_dir, cfg->interface);
	if (!g_file_set_contents_full(path, args, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &gerr)) {
		g_snprintf(reason, cap, "cannot write %s: %s", path, gerr->message);
		g_error_free(gerr);
		return PP_ERR_CONFIG;
	}
	return 0;
}
