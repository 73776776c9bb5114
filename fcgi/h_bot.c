/* h_bot.c: PLACEHOLDER answering 501 until implemented (being written now). */
#include "fcgi/handlers.h"
#include "fcgi/db.h"

int h_bot_get(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_bot_set(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

json_t *wa_bot_config_load(struct wa_req *r, uint64_t id)
{
	(void)r; (void)id;
	return json_null();
}
