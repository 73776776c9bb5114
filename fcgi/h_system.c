/* h_system.c: PLACEHOLDER answering 501 until implemented (being written now). */
#include "fcgi/handlers.h"
#include "fcgi/db.h"

int h_settings_get(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_settings_set(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_check_updates(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}
