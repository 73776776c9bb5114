// fuzz-sources: common/wa_err.c fcgi/router.c fcgi/routes.c common/wa_util.c common/wa_log.c
/* Fuzz target: request-path matching (first byte picks the method, the rest
 * is the raw path as a client sent it). Handlers are never called. */
#include "fuzz.h"
#include "fcgi/router.h"
#include "fcgi/handlers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Only the table is linked, not the handlers (they need the database and
 * FastCGI); matching never calls them, so they abort if ever reached. */
#define STUB(name) \
	__attribute__((weak)) int name(struct wa_req *r) { (void)r; abort(); }
STUB(h_auth_csrf)
STUB(h_auth_session)
STUB(h_auth_register)
STUB(h_auth_signin)
STUB(h_auth_signout)
STUB(h_sessions_list)
STUB(h_sessions_create)
STUB(h_session_get)
STUB(h_session_qr)
STUB(h_session_pair)
STUB(h_session_action)
STUB(h_session_settings)
STUB(h_session_delete)
STUB(h_engine)
STUB(h_profile_picture)
STUB(h_docs)
STUB(h_users_list)
STUB(h_users_create)
STUB(h_users_update)
STUB(h_users_delete)
STUB(h_apikey_get)
STUB(h_apikey_new)
STUB(h_apikey_revoke)
STUB(h_access_list)
STUB(h_access_grant)
STUB(h_access_revoke)
STUB(h_bot_get)
STUB(h_bot_set)
STUB(h_ar_list)
STUB(h_ar_create)
STUB(h_ar_update)
STUB(h_ar_delete)
STUB(h_ar_delete_all)
STUB(h_sch_list)
STUB(h_sch_create)
STUB(h_sch_update)
STUB(h_sch_delete)
STUB(h_sch_delete_all)
STUB(h_wh_list)
STUB(h_wh_create)
STUB(h_wh_update)
STUB(h_wh_delete)
STUB(h_wh_delete_global)
STUB(h_wh_deliveries)
STUB(h_wh_test)
STUB(h_labels_list)
STUB(h_labels_create)
STUB(h_labels_bulk)
STUB(h_labels_delete_many)
STUB(h_labels_update)
STUB(h_labels_delete)
STUB(h_chat_labels_get)
STUB(h_chat_labels_set)
STUB(h_chats_by_label)
STUB(h_labels_chats)
STUB(h_chats_by_label_global)
STUB(h_notif_list)
STUB(h_notif_create)
STUB(h_notif_read)
STUB(h_notif_delete)
STUB(h_settings_get)
STUB(h_settings_set)
STUB(h_check_updates)
STUB(h_media_get)
STUB(h_msg_download)
STUB(h_chat_list)
STUB(h_chat_history)
STUB(h_msg_search)
STUB(h_bc_list)
STUB(h_bc_get)
STUB(h_bc_cancel)
STUB(h_media_list)
STUB(h_media_delete)
STUB(h_contacts_list)
STUB(h_groups_list)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
	static int ready;
	char path[4096], *params[WA_MAX_PARAMS], allow[128];
	const struct wa_route *rt;
	int n = 0;

	if (!ready) {
		if (wa_router_init() < 0)
			abort();
		ready = 1;
	}
	if (size < 1 || size > sizeof path)
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	if (wa_router_match(methods[data[0] % 6], path, &rt, params, &n, allow, sizeof allow) == WA_MATCH_OK) {
		if (!rt || n != rt->nparams)
			abort();
		for (int i = 0; i < n; i++)
			free(params[i]);
	}
	return 0;
}
