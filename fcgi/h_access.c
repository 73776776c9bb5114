/* h_access.c: PLACEHOLDER answering 501 until implemented (being written now). */
#include "fcgi/handlers.h"
#include "fcgi/db.h"

int h_access_list(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_access_grant(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_access_revoke(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}
