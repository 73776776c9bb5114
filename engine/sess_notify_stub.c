/* sess_notify_stub: no-op stand-ins for the device-list and group-metadata
 * cache hooks that sess_send.c provides (declared in session_int.h), so
 * that this branch builds on its own. Dropped when sess_send.c has them. */
#include "engine/session_int.h"

void send_devices_changed(struct wa_session *s, const struct wa_jid *user)
{
	(void)s;
	(void)user;
}

void send_group_changed(struct wa_session *s, const struct wa_jid *group)
{
	(void)s;
	(void)group;
}
