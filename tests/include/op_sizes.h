/* op_sizes.h - the body length of every control request (include/xok/abi.h), for the tests
 * that frame requests themselves */
#ifndef XOK_TEST_OP_SIZES_H
#define XOK_TEST_OP_SIZES_H

#include <stddef.h>
#include <stdint.h>

#include <xok/abi.h>

/* 0 for the ops without a body, and for those that are not requests (XOK_OP_WAKE_NOTE). */
static inline size_t op_body_size(unsigned int op)
{
	static const uint16_t sizes[XOK_OP_NR] = {
	    [XOK_OP_HELLO] = 0,
	    [XOK_OP_REGION_ADD] = sizeof(struct xok_region_add),
	    [XOK_OP_REGION_DEL] = sizeof(struct xok_region_del),
	    [XOK_OP_RING_SET] = sizeof(struct xok_ring_set),
	    [XOK_OP_RING_MOD] = sizeof(struct xok_ring_mod),
	    [XOK_OP_RING_DEL] = sizeof(struct xok_ring_del),
	    [XOK_OP_DPF_INSERT] = sizeof(struct xok_dpf_insert),
	    [XOK_OP_DPF_DELETE] = sizeof(struct xok_dpf_delete),
	    [XOK_OP_DPF_REF] = sizeof(struct xok_dpf_ref),
	    [XOK_OP_NET_XMIT] = sizeof(struct xok_tx_desc),
	    [XOK_OP_TXQ_SET] = sizeof(struct xok_txq_set),
	    [XOK_OP_WKPRED] = sizeof(struct xok_wkpred),
	    [XOK_OP_INFO] = 0,
	    [XOK_OP_STATS] = sizeof(struct xok_stats_req),
	    [XOK_OP_TABLE_PUBLISH] = sizeof(struct xok_table_req),
	    [XOK_OP_TABLE_GET] = sizeof(struct xok_table_req),
	    [XOK_OP_TABLE_NOTIFY] = sizeof(struct xok_table_req),
	};

	return op < XOK_OP_NR ? sizes[op] : 0;
}

#endif /* XOK_TEST_OP_SIZES_H */
