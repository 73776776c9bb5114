/* contacts: push-name changes as contact.update events (see contacts.h). */
#include "engine/store/contacts.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int wa_contacts_push_name(struct wa_db *db, uint64_t row, const char *slug, const char *jid, const char *name,
			  char **payload, uint64_t *outbox_id)
{
	int err = 0;
	json_t *r, *data;
	const char *prev;
	char *fixed;

	*payload = NULL;
	*outbox_id = 0;
	if (!jid || !name || !*name)
		return 0;
	r = wa_db_row(db, &err, "SELECT notify FROM contacts WHERE wa_session_id = ? AND jid = ?", "us",
		      (unsigned long long)row, jid);
	if (err)
		return WA_ESTORAGE;
	prev = json_string_value(json_object_get(r, "notify"));
	fixed = wa_utf8_repair(name); /* stored repaired (msgs.h): compare the same */
	if (!fixed) {
		json_decref(r);
		return WA_ENOMEM;
	}
	if (!prev || !*prev || strcmp(prev, fixed) == 0) {
		free(fixed);
		json_decref(r);
		return 0;
	}
	data = json_pack("{s:s,s:s,s:s,s:s}", "sessionId", slug, "jid", jid, "notify", fixed, "previous", prev);
	free(fixed);
	json_decref(r);
	*payload = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (!*payload)
		return WA_ENOMEM;
	if (wa_outbox_add(db, row, "contact.update", *payload, outbox_id) != 0) {
		free(*payload);
		*payload = NULL;
		return WA_ESTORAGE;
	}
	return 0;
}
