/* sim_groups: w:g2 groups (PROTOCOL.md §10) - placeholder until the group
 * table lands. */
#include "sim_msg.h"

#include <stdlib.h>

void sim_groups_free(struct sim_groups *g)
{
	free(g);
}

int sim_iq_groups(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	(void)child;
	return sim_conn_iq_error(c, iq, 501, "feature-not-implemented") == 0 ? 0 : -1;
}

int sim_group_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *msg,
		    const char **err)
{
	(void)s, (void)a, (void)dev, (void)msg;
	*err = "404";
	return -1;
}

int sim_group_members(struct sim_server *s, const char *gjid, struct sim_account **out, size_t max)
{
	(void)s, (void)gjid, (void)out, (void)max;
	return -1;
}

int sim_group_admin_create(struct sim_server *s, struct sim_account *a, const char *subject,
			   const char *const *members, size_t n, char *jid_out, size_t cap, const char **why)
{
	(void)s, (void)a, (void)subject, (void)members, (void)n, (void)jid_out, (void)cap;
	*why = "groups not built";
	return 501;
}

int sim_group_admin_change(struct sim_server *s, struct sim_account *a, const char *gjid, const char *op,
			   const char *const *members, size_t n, const char **why)
{
	(void)s, (void)a, (void)gjid, (void)op, (void)members, (void)n;
	*why = "groups not built";
	return 501;
}
