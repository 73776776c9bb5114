/* engine/store/lidmap: LID -> phone number, and Signal session names (see
 * lidmap.h). */
#include "engine/store/lidmap.h"
#include "fcgi/db.h"
#include "wa_err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* digits only, as user parts of both kinds are */
static int digits(const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (*s < '0' || *s > '9' || n >= max)
			return 0;
	return n > 0;
}

int wa_lidmap_put(struct wa_db *db, uint64_t session_row, const char *lid, const char *pn)
{
	if (!digits(lid, 63) || !digits(pn, 31))
		return 0; /* nothing a JID could carry: not stored */
	return wa_db_exec(db, "INSERT INTO lid_map (wa_session_id, lid, pn) VALUES (?, ?, ?) "
			  "ON DUPLICATE KEY UPDATE pn = VALUES(pn)", "uss", (unsigned long long)session_row, lid, pn) < 0 ?
		       WA_ESTORAGE : 0;
}

int wa_lidmap_pn(struct wa_db *db, uint64_t session_row, const char *lid, char *pn, size_t cap)
{
	int err = 0;
	json_t *row;
	const char *v;

	pn[0] = '\0';
	if (!digits(lid, 63))
		return 0;
	/* a peer's mapping, else our own LID (the session's me_lid / me_jid) */
	row = wa_db_row(db, &err,
			"SELECT pn FROM lid_map WHERE wa_session_id = ? AND lid = ? "
			"UNION ALL SELECT SUBSTRING_INDEX(SUBSTRING_INDEX(me_jid, '@', 1), ':', 1) FROM wa_sessions "
			"WHERE id = ? AND me_jid IS NOT NULL "
			"AND SUBSTRING_INDEX(SUBSTRING_INDEX(me_lid, '@', 1), ':', 1) = ? LIMIT 1",
			"usus", (unsigned long long)session_row, lid, (unsigned long long)session_row, lid);
	if (!row)
		return err ? WA_ESTORAGE : 0;
	/* (a UNION's columns are named by its first SELECT) */
	v = json_string_value(json_object_get(row, "pn"));
	if (v && digits(v, 31))
		snprintf(pn, cap, "%s", v);
	json_decref(row);
	return pn[0] ? 1 : 0;
}

int wa_lidmap_name(const struct wa_jid *dev, const char *pn, wa_sig_addr *out)
{
	if (wa_jid_is_lid(dev) && pn[0])
		return wa_sig_addr_set(out, pn, 0, dev->device) == WA_SIG_OK ? 0 : WA_EINVAL;
	return wa_sig_addr_from_wajid(dev, out) == 0 ? 0 : WA_EINVAL;
}

int wa_lidmap_addr(struct wa_db *db, uint64_t session_row, const struct wa_jid *dev, wa_sig_addr *out)
{
	char pn[32] = "";

	if (wa_jid_is_lid(dev) && wa_lidmap_pn(db, session_row, dev->user, pn, sizeof pn) < 0)
		return WA_ESTORAGE;
	return wa_lidmap_name(dev, pn, out);
}
