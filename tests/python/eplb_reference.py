"""Test-only transcription of DeepSeek's expert-parallelism load balancer (EPLB).

Written for llmgps' tests from the published algorithm in github.com/deepseek-ai/EPLB, file
eplb.py at commit d52c72d5b2f2fb4c41afbf8eb21366820239913d (2025-03-24, the newest commit). It is
meant to give the same (phy2log, log2phy, logcnt) as DeepSeek's ``rebalance_experts`` on the same
inputs and the same torch build, ties included, and to fail on the same bad inputs with the same
exception types (ValueError, AssertionError, ZeroDivisionError, RuntimeError).

Semantics kept on purpose:
  * the weight is converted with ``weight.float().cpu()``: all loads are float32, group sums use
    torch's own ``sum``, pack loads are float32 running sums, loads per replica are float32
    quotients;
  * items are packed in the order of ``tensor.sort(-1, descending=True)``, which by default is
    torch's *unstable* CPU sort (see ``stable_sort`` below); each goes to the lightest pack that
    still has room, the first such pack on ties (Python's ``min``);
  * each redundant replica goes to ``(weight / logcnt).max(dim=-1).indices``, the first maximum;
  * hierarchical policy when ``num_groups % num_nodes == 0``, else the same routine with one
    group and one node (global policy, still packed onto ``num_gpus`` GPUs);
  * log2phy is ``[layers, experts, logcnt.max()]`` (the largest count over all layers, not
    num_redundant + 1), padded with -1; all three outputs are int64 CPU tensors.

``stable_sort=True`` (keyword-only, not in DeepSeek's API) orders equal loads by index instead,
which is what DeepSeek gets whenever torch's sort happens to keep ties in place (always for rows of
at most 16 items with torch 1.13's std::sort, not in general for longer rows).
"""

import torch

__all__ = [
    "balanced_packing",
    "replicate_experts",
    "rebalance_experts_hierarchical",
    "rebalance_experts",
]


def _heaviest_first(weight, stable_sort):
    """Per row, the item indices from heaviest to lightest (torch's tie order unless stable)."""
    if stable_sort:
        return torch.sort(weight.float(), stable=True, dim=-1, descending=True).indices
    return weight.float().sort(-1, descending=True).indices


def balanced_packing(weight, num_packs, *, stable_sort=False):
    """Split each row's n items into num_packs packs of n / num_packs items, greedily.

    weight: [rows, n] float tensor. Returns (pack_index, rank_in_pack), both [rows, n] int64:
    the pack of every item and its position within that pack (the order it was put there).
    """
    rows, n = weight.shape
    assert n % num_packs == 0
    per_pack = n // num_packs

    if per_pack == 1:
        # One item per pack: no sorting at all, item i is pack i.
        pack_index = torch.arange(n, dtype=torch.int64, device=weight.device).expand(weight.shape)
        rank_in_pack = torch.zeros_like(weight, dtype=torch.int64)
        return pack_index, rank_in_pack

    order = _heaviest_first(weight, stable_sort).cpu()
    pack_index = torch.full_like(weight, -1, dtype=torch.int64, device="cpu")
    rank_in_pack = torch.full_like(pack_index, -1)
    for r in range(rows):
        # Loads start as the int 0 and become float32 0-d tensors once an item is added, exactly
        # the arithmetic of a running sum of float32 tensor elements.
        load = [0] * num_packs
        used = [0] * num_packs
        for item in order[r].tolist():
            # The lightest pack with room; min() keeps the first of equally light packs (and,
            # like DeepSeek's, raises ValueError when no pack has room, e.g. num_packs < 0).
            chosen = min((p for p in range(num_packs) if used[p] < per_pack),
                         key=load.__getitem__)
            pack_index[r, item] = chosen
            rank_in_pack[r, item] = used[chosen]
            load[chosen] = load[chosen] + weight[r, item]
            used[chosen] += 1
    return pack_index, rank_in_pack


def replicate_experts(weight, num_phy):
    """Grow num_log experts to num_phy physical replicas, one extra replica at a time.

    weight: [rows, num_log]. Returns (phy2log [rows, num_phy], rank [rows, num_phy],
    logcnt [rows, num_log]), all int64. Physical slot i < num_log holds expert i; every later slot
    holds the expert whose load per replica is then largest (the first one on ties).
    """
    rows, num_log = weight.shape
    assert num_phy - num_log >= 0
    device = weight.device
    phy2log = torch.arange(num_phy, dtype=torch.int64, device=device).repeat(rows, 1)
    rank = torch.zeros(rows, num_phy, dtype=torch.int64, device=device)
    logcnt = torch.ones(rows, num_log, dtype=torch.int64, device=device)
    every_row = torch.arange(rows, dtype=torch.int64, device=device)
    for slot in range(num_log, num_phy):
        per_replica = weight / logcnt  # float32 / int64 -> float32
        busiest = per_replica.max(dim=-1).indices
        phy2log[:, slot] = busiest
        rank[:, slot] = logcnt[every_row, busiest]
        logcnt[every_row, busiest] += 1
    return phy2log, rank, logcnt


def _inverse_permutation(perm):
    """inv[r, perm[r, j]] = j for every row r."""
    inv = torch.empty_like(perm)
    positions = torch.arange(perm.size(1), dtype=torch.int64, device=perm.device)
    inv.scatter_(1, perm, positions.expand(perm.shape))
    return inv


def rebalance_experts_hierarchical(weight, num_physical_experts, num_groups, num_nodes,
                                   num_gpus, *, stable_sort=False):
    """EPLB's three steps. Returns (phy2log, phyrank, logcnt), all int64.

    1. expert groups are packed onto nodes by their summed load;
    2. within each node, its experts are replicated to the node's share of physical slots;
    3. within each node, the replicas (each carrying load / replica count) are packed onto the
       node's GPUs.
    Experts are renumbered node-major in between ("mlog" = node-major logical id, "phy" = replica
    index within a node before GPU packing, "pphy" = final physical slot).
    """
    num_layers, num_logical = weight.shape
    assert num_logical % num_groups == 0
    group_size = num_logical // num_groups
    assert num_groups % num_nodes == 0
    groups_per_node = num_groups // num_nodes
    assert num_gpus % num_nodes == 0
    assert num_physical_experts % num_gpus == 0
    slots_per_gpu = num_physical_experts // num_gpus
    experts_per_node = num_logical // num_nodes
    replicas_per_node = num_physical_experts // num_nodes

    # Step 1: groups onto nodes. A group's position in node-major order is
    # node * groups_per_node + rank within the node; its experts keep their order inside it.
    group_load = weight.unflatten(-1, (num_groups, group_size)).sum(-1)
    group_node, group_rank = balanced_packing(group_load, num_nodes, stable_sort=stable_sort)
    group_pos = group_node * groups_per_node + group_rank  # [layers, groups]
    within_group = torch.arange(group_size, dtype=torch.int64, device=group_pos.device)
    log2mlog = ((group_pos * group_size).unsqueeze(-1) + within_group).flatten(-2)
    mlog2log = _inverse_permutation(log2mlog)

    # Step 2: replicas within each node; one row per (layer, node).
    node_load = weight.gather(-1, mlog2log).view(-1, experts_per_node)
    phy2mlog, phyrank, mlogcnt = replicate_experts(node_load, replicas_per_node)

    # Step 3: each node's replicas onto the node's GPUs, by load per replica.
    replica_load = (node_load / mlogcnt).gather(-1, phy2mlog)
    gpu, rank_on_gpu = balanced_packing(replica_load, num_gpus // num_nodes,
                                        stable_sort=stable_sort)
    phy2pphy = gpu * slots_per_gpu + rank_on_gpu
    pphy2phy = _inverse_permutation(phy2pphy)

    # Back to global ids: node-local mlog -> global mlog -> logical expert.
    pphy2mlog = phy2mlog.gather(-1, pphy2phy)
    node_base = torch.arange(0, num_logical, experts_per_node, device=group_node.device)
    pphy2mlog = (pphy2mlog.view(num_layers, num_nodes, -1) + node_base.view(1, -1, 1)).flatten(-2)
    pphy2log = mlog2log.gather(-1, pphy2mlog)
    pphyrank = phyrank.gather(-1, pphy2phy).view(num_layers, -1)
    logcnt = mlogcnt.view(num_layers, -1).gather(-1, log2mlog)
    return pphy2log, pphyrank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus, *,
                      stable_sort=False):
    """DeepSeek's entry point: (phy2log, log2phy, logcnt) for weight [layers, experts].

    phy2log: [layers, num_replicas] int64, the logical expert in each physical slot.
    log2phy: [layers, experts, logcnt.max()] int64, each expert's slots by replica rank, -1 padded.
    logcnt:  [layers, experts] int64, replicas of each expert.
    """
    num_layers, num_logical = weight.shape
    weight = weight.float().cpu()
    if num_groups % num_nodes == 0:
        phy2log, phyrank, logcnt = rebalance_experts_hierarchical(
            weight, num_replicas, num_groups, num_nodes, num_gpus, stable_sort=stable_sort)
    else:
        # Global policy: the whole layer is one group on one node, still packed onto the GPUs.
        phy2log, phyrank, logcnt = rebalance_experts_hierarchical(
            weight, num_replicas, 1, 1, num_gpus, stable_sort=stable_sort)

    width = logcnt.max().item()
    log2phy = torch.full((num_layers, num_logical, width), -1, dtype=torch.int64,
                         device=logcnt.device)
    # Flattened per layer, expert e's replica r lives at e * width + r.
    slots = torch.arange(num_replicas, dtype=torch.int64, device=log2phy.device)
    log2phy.view(num_layers, -1).scatter_(-1, phy2log * width + phyrank,
                                          slots.expand(num_layers, -1))
    return phy2log, log2phy, logcnt
