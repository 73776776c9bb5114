/* h_webhooks.c: PLACEHOLDER answering 501 until implemented (being written now). */
#include "fcgi/handlers.h"
#include "fcgi/db.h"

int h_wh_list(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_wh_create(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_wh_update(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_wh_delete(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_wh_delete_global(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

json_t *wa_webhooks_load(struct wa_req *r, uint64_t id)
{
	(void)r; (void)id;
	return json_array();
}
