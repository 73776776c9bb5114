/* appkeys: app-state sync keys into wa_app_state_keys (see appkeys.h). */
#include "engine/store/appkeys.h"
#include "fcgi/db.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_KEY[] =
	"INSERT INTO wa_app_state_keys (wa_session_id, key_id, key_data, fingerprint, key_ts) "
	"VALUES (?, UNHEX(?), UNHEX(?), UNHEX(?), ?) ON DUPLICATE KEY UPDATE key_data = VALUES(key_data), "
	"fingerprint = VALUES(fingerprint), key_ts = VALUES(key_ts)";

#define KEY_ID_MAX 64
#define KEY_DATA_MAX 512
#define FP_MAX 1024

int wa_appkeys_store(struct wa_db *db, uint64_t row, const WaE2E__AppStateSyncKeyShare *share, unsigned *n)
{
	char *id = malloc(2 * KEY_ID_MAX + 1), *data = malloc(2 * KEY_DATA_MAX + 1), *fp = malloc(2 * FP_MAX + 1);
	int rc = 0;

	*n = 0;
	if (!id || !data || !fp) {
		rc = WA_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < share->n_keys; i++) {
		const WaE2E__AppStateSyncKey *k = share->keys[i];
		uint8_t fpbuf[FP_MAX];
		size_t fplen = 0;

		if (!k || !k->keyid || !k->keyid->has_keyid || !k->keyid->keyid.len || k->keyid->keyid.len > KEY_ID_MAX ||
		    !k->keydata || !k->keydata->has_keydata || !k->keydata->keydata.len ||
		    k->keydata->keydata.len > KEY_DATA_MAX) {
			rc = WA_EPROTO;
			goto out;
		}
		if (k->keydata->fingerprint) {
			fplen = wa_e2_e__app_state_sync_key_fingerprint__get_packed_size(k->keydata->fingerprint);
			if (fplen > FP_MAX)
				fplen = 0;
			else
				wa_e2_e__app_state_sync_key_fingerprint__pack(k->keydata->fingerprint, fpbuf);
		}
		wa_hex_encode(k->keyid->keyid.data, k->keyid->keyid.len, id);
		wa_hex_encode(k->keydata->keydata.data, k->keydata->keydata.len, data);
		wa_hex_encode(fpbuf, fplen, fp);
		if (wa_db_exec(db, SQL_KEY, "usssi", (unsigned long long)row, id, data, fplen ? fp : NULL,
			       (long long)(k->keydata->has_timestamp ? k->keydata->timestamp : 0)) < 0) {
			rc = WA_ESTORAGE;
			goto out;
		}
		(*n)++;
	}
out:
	if (data)
		explicit_bzero(data, 2 * KEY_DATA_MAX + 1);
	free(id);
	free(data);
	free(fp);
	return rc;
}
