/* h_store.c: PLACEHOLDER answering 501 until implemented (being written now). */
#include "fcgi/handlers.h"
#include "fcgi/db.h"

int h_chat_list(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_chat_history(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_msg_search(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}

int h_groups_list(struct wa_req *r)
{
	return wa_reply_error(r, 501, "Not implemented yet", "not_implemented");
}
