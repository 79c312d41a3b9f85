#include "llmgps/cost/collective.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "llmgps/common/fixed.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

// NCCL runs CollNet-direct and CollNet-chain only on nodes of at most this many GPUs (enqueue.cc
// @5067397c: NCCL_MAX_DIRECT_ARITY + 1).
constexpr int kMaxCollnetLocalGpus = 8;

// A collective's time and the time NCCL's tuner expects for it (every channel at work), by which
// NCCL chooses the protocol and the algorithm.
struct Best {
  double time_s = std::numeric_limits<double>::infinity();
  std::string protocol;
  double tuner_s = std::numeric_limits<double>::infinity();
};

// The protocol's cap on the bus bandwidth (NCCL's LL maximum; 0: none). Across nodes NCCL takes
// it by node count: two nodes, or more (tuning.cc llMaxBws N2 / N4).
double bw_cap(const LinkProtocol& p, int nodes) {
  return nodes > 2 && p.max_busbw_many_nodes_bytes_per_s > 0 ? p.max_busbw_many_nodes_bytes_per_s
                                                             : p.max_busbw_bytes_per_s;
}

// `share`: the part of the link's channels and threads the collective runs on (ring_share);
// `width`: how many such links carry the collective side by side (a node's NICs, below). The
// protocol's cap bounds the whole, not each channel or link.
double protocol_bw(const LinkSpec& link, const LinkProtocol& p, double share = 1.0,
                   double width = 1.0, int nodes = 1) {
  double bw = link.bw_bytes_per_s * link.bw_efficiency * p.payload_fraction * share * width;
  if (const double cap = bw_cap(p, nodes); cap > 0) bw = std::min(bw, cap);
  return bw;
}

// A small ring collective does not run on all of NCCL's channels (enqueue.cc @5067397c, "Ring/Tree
// channel tuning"): channels are dropped while the buffer is under channels x threads x the
// protocol's per-thread threshold (LL's multiplied by the ranks, tuning.cc), then, on one
// channel, threads are halved while their count is a multiple of 128, and never fewer than three
// warps are launched (LL and Simple reach 96, LL128's 640 stops at 320). So a small buffer runs on
// about bytes / threshold threads. Each channel and thread moves data at its own pace, so the
// bandwidth scales with the share of channel-threads left. NCCL's whole channel and power-of-two
// thread counts make the real curve a sawtooth around this one (taken continuous, so more bytes
// never take less time). NCCL's tuner, which picks the protocol and the algorithm, assumes every
// channel; so do ring()'s and allreduce_cost()'s choices. (The tree keeps every thread of its
// channels: tree_share.)
double ring_share(const LinkSpec& link, const LinkProtocol& p, int n, double bytes) {
  if (link.ring_channels <= 0 || p.max_threads <= 0 || p.thread_threshold_bytes <= 0) return 1.0;
  const double threshold = p.thread_threshold_bytes * (p.threshold_per_rank ? n : 1);
  const double all = double(link.ring_channels) * p.max_threads;
  int fewest = p.max_threads;
  while (fewest % 128 == 0) fewest /= 2;
  fewest = std::max(fewest, 3 * 32);
  return std::clamp(bytes / threshold, std::min(all, double(fewest)), all) / all;
}

// The tree's small-buffer channels (enqueue.cc @5067397c): channels are dropped as for the ring
// (the threshold not multiplied by the ranks), but a tree channel always runs all its threads, so
// a small buffer keeps at least one whole channel.
double tree_share(const LinkSpec& link, const LinkProtocol& p, double bytes) {
  if (link.ring_channels <= 0 || p.max_threads <= 0 || p.thread_threshold_bytes <= 0) return 1.0;
  const double channels = bytes / (double(p.max_threads) * p.thread_threshold_bytes);
  return std::clamp(channels, 1.0, double(link.ring_channels)) / link.ring_channels;
}

// NCCL's tuner scales a tree all-reduce's bandwidth by a static factor per size (tuning.cc
// treeCorrectionFactor, "trees are not perfectly sticking to the model for medium sizes"): index
// log2(bytes / 64).
double tree_size_factor(const LinkProtocol& p, double bytes) {
  if (bytes < 64 || p.tree_size_factors.empty()) return 1.0;
  const auto i = std::size_t(std::floor(std::log2(bytes / 64)));
  return i < p.tree_size_factors.size() ? p.tree_size_factors[i] : 1.0;
}

// The link's Simple protocol, the one NVLS, NVLS-tree and CollNet run on (nullptr: none).
const LinkProtocol* simple_protocol(const LinkSpec& link) {
  const auto it = std::find_if(link.protocols.begin(), link.protocols.end(),
                               [](const LinkProtocol& p) { return p.name == "Simple"; });
  return it == link.protocols.end() ? nullptr : &*it;
}

// The link's bulk-data protocol: Simple, else (a user's file with other names) the one that
// carries the largest payload fraction.
const LinkProtocol& bulk_protocol(const LinkSpec& link) {
  if (const LinkProtocol* simple = simple_protocol(link)) return *simple;
  if (link.protocols.empty()) throw InputError(link.name + ".protocols", "must not be empty");
  return *std::max_element(link.protocols.begin(), link.protocols.end(),
                           [](const LinkProtocol& a, const LinkProtocol& b) {
                             return a.payload_fraction < b.payload_fraction;
                           });
}

// One transfer of `bytes` over a link (all-to-all, copies): hop latency, one protocol step;
// `width` scales the link's bandwidth (a GPU's share of its node's NICs, nics_per_gpu).
Best best_transfer(const LinkSpec& link, double bytes, double width = 1.0) {
  Best best;
  for (const auto& p : link.protocols) {
    const double t = link.latency_s + p.step_latency_s + bytes / protocol_bw(link, p, 1.0, width);
    if (t < best.time_s) best = {t, p.name};
  }
  return best;
}

// Among candidates 0..count-1 (a link's protocols, or pairs of them), the one NCCL's tuner picks:
// `time(i, tuned)` is candidate i's time with every channel when `tuned` (what the tuner assumes),
// else on the channels the buffer really gets. Infinite times never win.
template <class Time>
Best tuner_pick(const std::vector<LinkProtocol>& protocols, std::size_t count, Time time) {
  Best best;
  for (std::size_t i = 0; i < count; ++i)
    if (const double tuner = time(i, true); tuner < best.tuner_s)
      best = {time(i, false), protocols[i].name, tuner};
  return best;
}

// A ring of n over a link: reduce-scatter or all-gather moves (n-1)/n of the data in n-1 steps
// (`phases` 2 for an all-reduce). `with_base` adds the protocol's once-per-collective latency;
// `step_scale` is the GPU's GpuSpec::collective_step_latency_scale.
Best ring(const LinkSpec& link, double step_scale, int n, double bytes, double phases,
          bool with_base) {
  if (n <= 1) return {0, "local", 0};
  const double steps = phases * (n - 1);
  return tuner_pick(link.protocols, link.protocols.size(), [&](std::size_t i, bool tuned) {
    const LinkProtocol& p = link.protocols[i];
    const double share = tuned ? 1.0 : ring_share(link, p, n, bytes);
    return (with_base ? p.base_latency_s : 0.0) + steps * p.step_latency_s * step_scale +
           steps / double(n) * bytes / protocol_bw(link, p, share);
  });
}

// NVLS on one NVSwitch domain of n GPUs, Simple protocol only. An all-reduce (`halves` 2): the
// switch pulls every GPU's buffer and reduces it (multimem.ld_reduce, each GPU fetching its
// 1/n), then multicasts each GPU's reduced 1/n to all (multimem.st): (n+1)/n of the buffer per
// GPU and direction. A reduce-scatter or all-gather alone (`halves` 1) is one of those halves,
// and it binds on one direction with the whole buffer: the switch reads all of a GPU's buffer
// (its own share included) to reduce-scatter, and writes all of it back to every GPU to
// all-gather, where a ring moves (n-1)/n. NCCL's tuner, which gives NVLS (ppn-1)/ppn of its
// bandwidth for them (tuning.cc), also runs them on the ring.
//
// Why mid sizes fall short of the asymptote: NCCL splits the buffer over its NVLS channels and
// walks each channel's share in chunks, and every chunk costs a fixed multimem round and flag
// sync on top of its bytes. NCCL shrinks the chunk for smaller buffers (enqueue.cc, NVLS branch
// of the chunk-size choice: 128 KiB, halved to 64, 32 and 16 KiB below 64, 8 and 2 chunk rounds
// of all channels and heads), so a 16 MiB all-reduce pays four times the chunk count per byte
// of a 2 GiB one.
double nvls_chunk_bytes(const LinkSpec& link, int n, double bytes) {
  const double rounds = double(link.nvls_channels) * n;  // NCCL's concurrentOps: channels x heads
  double chunk = link.nvls_max_chunk_bytes;
  if (bytes < 64 * rounds * chunk && chunk > 65536) chunk = 65536;
  if (bytes < 8 * rounds * chunk && chunk > 32768) chunk = 32768;
  if (bytes < 2 * rounds * chunk && chunk > 16384) chunk = 16384;
  return chunk;
}

double nvls_time(const LinkSpec& link, int n, double bytes, int halves) {
  const double bw = link.bw_bytes_per_s * link.bw_efficiency * link.nvls_efficiency;
  const double chunks = std::ceil(bytes / (link.nvls_channels * nvls_chunk_bytes(link, n, bytes)));
  const double traffic = halves == 2 ? (n + 1.0) / n : 1.0;
  return link.nvls_latency_s + traffic * bytes / bw + halves * chunks * link.nvls_chunk_overhead_s;
}

// An algorithm through both links of a multi-node system, over their protocols in pairs (LL with
// LL, ...): the pair NCCL's tuner picks, timed on the buffer's share of channels on each link,
// `share(link, protocol)`. `time(intra, inter, share_intra, share_inter)` is infinite where a
// pair cannot run.
template <class Time, class Share>
Best across_nodes(const SystemSpec& sys, Time time, Share share) {
  const std::size_t pairs = std::min(sys.intra.protocols.size(), sys.inter.protocols.size());
  return tuner_pick(sys.intra.protocols, pairs, [&](std::size_t i, bool tuned) {
    const LinkProtocol& pi = sys.intra.protocols[i];
    const LinkProtocol& pe = sys.inter.protocols[i];
    return tuned ? time(pi, pe, 1.0, 1.0)
                 : time(pi, pe, share(sys.intra, pi), share(sys.inter, pe));
  });
}

// What a forced algorithm needs, for the error when a system cannot run it.
const char* algo_needs(CollectiveAlgo a) {
  switch (a) {
    case CollectiveAlgo::nvls:
      return " (needs NVLink SHARP between GPUs of a node, and across nodes a Simple protocol on "
             "the inter-node link)";
    case CollectiveAlgo::nvls_tree:
      return " (needs more than one node, NVLink SHARP between GPUs of a node and a Simple "
             "protocol on the inter-node link)";
    case CollectiveAlgo::tree:
      return " (needs more than one node and the links' tree latencies)";
    case CollectiveAlgo::hierarchical:
      return " (needs more than one node)";
    case CollectiveAlgo::collnet_direct:
      return " (needs more than one node, CollNet on: 'collnet': true with an inter-node link "
             "that reduces in its network, Simple protocols on both links, an NVSwitch inside "
             "the node and at most 8 GPUs of it)";
    case CollectiveAlgo::collnet_chain:
      return " (needs more than one node, CollNet on: 'collnet': true with an inter-node link "
             "that reduces in its network, Simple protocols on both links and at most 8 GPUs of "
             "a node)";
    case CollectiveAlgo::automatic:
    case CollectiveAlgo::ring:
      break;
  }
  return "";
}

void check_bytes(double bytes, const char* what) {
  if (!(bytes > 0) || !std::isfinite(bytes))
    throw InputError(what, "must be a positive number of bytes");
}

// The GPUs a collective spans: `total` over `nodes` nodes of at most `local` GPUs, the last
// node holding `smallest`.
struct Span {
  int total = 1, local = 1, nodes = 1, smallest = 1;
};

Span span_of(const SystemSpec& sys, double bytes, int gpus, const std::string& what) {
  check_bytes(bytes, (what + ".bytes").c_str());
  Span s;
  s.total = gpus > 0 ? gpus : sys.total_gpus();
  if (s.total > sys.total_gpus())
    throw InputError(what + ".gpus", "system '" + sys.name + "' has only " +
                                         std::to_string(sys.total_gpus()) + " GPUs");
  s.local = std::min(s.total, sys.gpus_per_node);
  s.nodes = (s.total + s.local - 1) / s.local;
  s.smallest = s.total - (s.nodes - 1) * s.local;
  return s;
}

CollectiveCost local_cost(double bytes, const char* detail) {
  CollectiveCost c;
  c.comm_bytes = bytes;
  c.bound = "local";
  c.algorithm = "local";
  c.detail = detail;
  return c;
}

// One algorithm a collective could run: its time, protocol and bytes per GPU and direction on
// the busiest link, and the time NCCL's tuner expects (Best::tuner_s), by which it is chosen.
struct Option {
  const char* algorithm;
  double time;
  std::string protocol;
  double bus;
  double tuner;
};

// The option of least tuner time (ties: the first), with every option as a candidate; none is an
// error naming what the forced algorithm needs.
CollectiveCost choose(const std::vector<Option>& options, const SystemSpec& sys, const Span& span,
                      double bytes, CollectiveAlgo algo, const std::string& what,
                      const char* needs) {
  if (options.empty())
    throw InputError(what + ".algo",
                     fmt::format("'{}' cannot run on system '{}' over {} GPUs{}",
                                 collective_algo_name(algo), sys.name, span.total, needs));
  CollectiveCost c;
  c.comm_bytes = bytes;
  const Option* best = &options.front();
  for (const auto& o : options) {
    if (o.tuner < best->tuner) best = &o;
    c.candidates.push_back({o.algorithm, o.protocol, o.time, o.tuner});
  }
  c.time_s = best->time;
  c.algorithm = best->algorithm;
  c.protocol = best->protocol;
  c.bus_bytes = best->bus;
  c.bound = "link";
  c.detail = span.nodes == 1
                 ? fmt::format("{} over {} GPUs, {} protocol", c.algorithm, span.local, c.protocol)
                 : fmt::format("{}: {} nodes x {} GPUs, {} protocol", c.algorithm, span.nodes,
                               span.local, c.protocol);
  return c;
}

// One ring through every GPU of `total` on `nodes` nodes: phases x (nodes - 1) of its
// phases x (total - 1) steps cross a NIC (`nics` side by side), and the ring runs at the slower
// link's pace (`phases` 2 for an all-reduce, 1 for all-gather or reduce-scatter). A step inside a
// node takes at least the host's network overhead (LinkProtocol::net_overhead_s), as NCCL says.
Best ring_across_nodes(const SystemSpec& sys, int total, int nodes, double nics, double bytes,
                       double phases) {
  const double steps = phases * (total - 1), inter_steps = phases * (nodes - 1);
  const double step_scale = sys.gpu.collective_step_latency_scale;
  return across_nodes(
      sys,
      [&](const LinkProtocol& pi, const LinkProtocol& pe, double si, double se) {
        const double bw =
            std::min(protocol_bw(sys.intra, pi, si), protocol_bw(sys.inter, pe, se, nics, nodes));
        const double intra_step = std::max(pi.step_latency_s * step_scale, pe.net_overhead_s);
        return pi.base_latency_s + (steps - inter_steps) * intra_step +
               inter_steps * pe.step_latency_s * step_scale + steps / total * bytes / bw;
      },
      [&](const LinkSpec& l, const LinkProtocol& p) { return ring_share(l, p, total, bytes); });
}

}  // namespace

CollectiveAlgo parse_collective_algo(const std::string& s, const std::string& where) {
  if (s == "auto") return CollectiveAlgo::automatic;
  if (s == "ring") return CollectiveAlgo::ring;
  if (s == "hierarchical") return CollectiveAlgo::hierarchical;
  if (s == "nvls") return CollectiveAlgo::nvls;
  if (s == "tree") return CollectiveAlgo::tree;
  if (s == "nvls-tree") return CollectiveAlgo::nvls_tree;
  if (s == "collnet-direct") return CollectiveAlgo::collnet_direct;
  if (s == "collnet-chain") return CollectiveAlgo::collnet_chain;
  throw InputError(where,
                   "must be auto, ring, tree, nvls, nvls-tree, collnet-direct, collnet-chain or "
                   "hierarchical, got '" +
                       s + "'");
}

const char* collective_algo_name(CollectiveAlgo a) {
  switch (a) {
    case CollectiveAlgo::automatic:
      return "auto";
    case CollectiveAlgo::ring:
      return "ring";
    case CollectiveAlgo::hierarchical:
      return "hierarchical";
    case CollectiveAlgo::nvls:
      return "nvls";
    case CollectiveAlgo::tree:
      return "tree";
    case CollectiveAlgo::nvls_tree:
      return "nvls-tree";
    case CollectiveAlgo::collnet_direct:
      return "collnet-direct";
    case CollectiveAlgo::collnet_chain:
      return "collnet-chain";
  }
  return "?";
}

CollectiveCost allreduce_cost(const SystemSpec& sys, double bytes, int gpus, CollectiveAlgo algo) {
  const Span span = span_of(sys, bytes, gpus, "allreduce");
  const int total = span.total, local = span.local, nodes = span.nodes;
  if (total == 1) return local_cost(bytes, "one GPU: nothing to reduce");
  const bool nvls_ok = sys.intra.nvls && local > 1;
  const double step_scale = sys.gpu.collective_step_latency_scale;
  std::vector<Option> options;
  if (nodes == 1) {
    if (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::ring) {
      Best b = ring(sys.intra, step_scale, local, bytes, 2.0, true);
      options.push_back(
          {"ring", b.time_s, b.protocol, 2.0 * (local - 1) / local * bytes, b.tuner_s});
    }
    if (nvls_ok && (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::nvls)) {
      const double t = nvls_time(sys.intra, local, bytes, 2);
      options.push_back({"nvls", t, "Simple", (local + 1.0) / local * bytes, t});
    }
  } else {
    // NCCL spreads its channels (each a ring or a tree) over the node's NICs (src/graph/search.cc:
    // every channel leaves the node through a NIC of its own), so what crosses between nodes has
    // the NICs of the node's GPUs in the collective side by side (their share of the node's NICs
    // where NICs are fewer or more than GPUs), the node with the fewest GPUs binding: 8 HDR NICs
    // give a 2 x 8 A100 all-reduce 182 GB/s of bus bandwidth at 1 GiB, measured 184
    // (microsoft/mscclpp docs/performance-ndmv4.md). Latencies count GPUs per node as
    // ranks / nodes, as NCCL does.
    const double per_node = double(total / nodes);
    const double nics = sys.nics_for(total - (nodes - 1) * local);
    // Between two nodes a tree (NVLS-tree's too) carries its halves both ways at once: each
    // direction of a node's NICs moves the buffer once, not twice (tuning.cc: "2 node case").
    const double tree_nics = nics * (nodes <= 2 ? 2.0 : 1.0);
    const double levels = std::floor(std::log2(double(nodes)));  // tree hops between nodes
    if (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::ring) {
      const Best best = ring_across_nodes(sys, total, nodes, nics, bytes, 2.0);
      options.push_back(
          {"ring", best.time_s, best.protocol, 2.0 * (total - 1) / total * bytes, best.tuner_s});
    }
    if (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::tree) {
      // NCCL's tree (tuning.cc @5067397c): a chain through each node's GPUs and double binary
      // trees between nodes. Latency: the tree's base + 2 x ((ranks / nodes - 1) intra hops +
      // floor(log2(nodes)) inter hops). An all-reduce sends the buffer up the tree and back down,
      // twice the buffer through the slower link, at the inter-node protocol's tree share of it
      // and NCCL's correction for the size; a small buffer keeps whole channels (tree_share).
      const Best best = across_nodes(
          sys,
          [&](const LinkProtocol& pi, const LinkProtocol& pe, double si, double se) {
            if (pi.tree_step_latency_s < 0 || pe.tree_step_latency_s < 0 || pe.tree_bw_factor <= 0)
              return std::numeric_limits<double>::infinity();  // the links give no tree
            double bw =
                std::min(sys.intra.bw_bytes_per_s * sys.intra.bw_efficiency * si,
                         sys.inter.bw_bytes_per_s * sys.inter.bw_efficiency * se * tree_nics) *
                pe.tree_bw_factor;
            if (const double cap = bw_cap(pe, nodes); cap > 0) bw = std::min(bw, cap);
            bw *= tree_size_factor(pe, bytes);
            return pi.tree_base_latency_s +
                   2.0 *
                       ((per_node - 1) * pi.tree_step_latency_s + levels * pe.tree_step_latency_s) *
                       step_scale +
                   2.0 * bytes / bw;
          },
          [&](const LinkSpec& l, const LinkProtocol& p) { return tree_share(l, p, bytes); });
      if (best.tuner_s < std::numeric_limits<double>::infinity())
        options.push_back({"tree", best.time_s, best.protocol, 2.0 * bytes, best.tuner_s});
    }
    // NCCL's NVLS-tree (tuning.cc @5067397c): NVLS inside each node and a tree of the nodes'
    // partial sums between them, pipelined chunk by chunk, so the slower of the two stages sets
    // the pace (NCCL's busBw is the min of the two, not a sum). Inside, a node's NVLS all-reduce;
    // between, the tree through the node's NICs (both ways at once for two nodes, above). Simple
    // protocol only. Latency: NVLS's, and 2 x log2(nodes) NVLS-tree hops between nodes
    // (the link's NVLS-tree hop, else its tree hop, else its ring step).
    const LinkProtocol* simple = simple_protocol(sys.inter);
    // NCCL_ALGO=NVLS across nodes runs NVLS through the switches where CollNet is on (below);
    // llmgps's nvls names NVLS-tree where it is off, and nvls-tree always.
    const bool collnet_nvls = sys.collnet && sys.inter.sharp();
    if (nvls_ok && simple &&
        (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::nvls_tree ||
         (algo == CollectiveAlgo::nvls && !collnet_nvls))) {
      const LinkProtocol& pe = *simple;
      const double hop = pe.nvls_tree_step_latency_s >= 0 ? pe.nvls_tree_step_latency_s
                         : pe.tree_step_latency_s >= 0    ? pe.tree_step_latency_s
                                                          : pe.step_latency_s;
      const double inter_s =
          2.0 * (total - 1) / total * bytes / protocol_bw(sys.inter, pe, 1.0, tree_nics, nodes);
      const double intra_s = nvls_time(sys.intra, local, bytes, 2) - sys.intra.nvls_latency_s;
      const double t =
          sys.intra.nvls_latency_s + 2.0 * levels * hop * step_scale + std::max(intra_s, inter_s);
      options.push_back({"nvls-tree", t, "Simple", 2.0 * (total - 1) / total * bytes, t});
    }
    // CollNet (NCCL_COLLNET_ENABLE=1 on a fabric that reduces in its switches, InfiniBand SHARP
    // through NCCL's plugin): each NIC of a node, the "head" GPU beside it driving it, sends its
    // share of the node's partial sum up the switch tree and receives the total back, so the
    // NICs carry the buffer once per direction (a tree between nodes carries it twice, both ways
    // at once only between two nodes). Inside the node, with p GPUs and h heads (device/
    // all_reduce.h, graph/connect.cc @5067397c):
    // - direct (NVSwitch only): every GPU scatters its buffer to the heads and gathers the result
    //   from them; a head also receives the other GPUs' parts of its share and broadcasts its
    //   result to them, so a head moves (h + p - 2) / h of the buffer per direction
    //   (2(p-1)/p with a NIC per GPU; the reason NCCL's tuner discounts direct for fewer NICs);
    // - chain: per channel a chain of the node's GPUs ending at a head, reducing up to it and
    //   broadcasting back down; the chains rotate over the heads, so a GPU sends the buffer twice
    //   less what it skips as a chain's top (a head) or bottom (the GPU after it): 2(p-1)/p with
    //   a NIC per GPU, 2 - 1/h while every GPU is one of them, else 2 (nccl#320 traces these
    //   chains on a DGX A100; "NVLink still has to transmit ~2x more data intra-node" than the
    //   NICs);
    // - NVLS: the node's NVLS reduce-scatter and multicast all-gather around the switch tree.
    // The node's part and the fabric's run chunk by chunk, so the slower sets the pace, as in
    // NVLS-tree; the largest node binds inside, the smallest at its NICs. Small buffers run on
    // fewer channels (enqueue.cc "CollNet channel tuning": direct drops channels while the buffer
    // is under channels x threads x heads x the Simple threshold; chain as ring and tree drop
    // channels, then threads), and so on fewer NICs; NCCL's tuner assumes every channel. NCCL
    // runs neither direct nor chain on more than 8 GPUs of a node (NCCL_MAX_DIRECT_ARITY + 1).
    // Latency (tuning.cc): the fabric's once per all-reduce (with one GPU per node NCCL takes the
    // network's tree hop instead), and inside a node for direct 2 x (one hop + a serialisation
    // per peer GPU), for chain 2 x (p - 1) hops, for NVLS its own. Simple protocol only.
    const LinkProtocol* intra_simple = simple_protocol(sys.intra);
    if (sys.collnet && sys.inter.sharp() && simple && intra_simple) {
      const LinkProtocol& pi = *intra_simple;
      const double p = local, heads = sys.nics_for(local), peers = per_node - 1;
      const double direct_bytes = std::max(2.0 * (p - 1) / p, (heads + p - 2) / heads) * bytes;
      const double chain_bytes = p <= 1           ? 0.0
                                 : heads >= p     ? 2.0 * (p - 1) / p * bytes
                                 : 2 * heads >= p ? (2.0 - 1.0 / heads) * bytes
                                                  : 2.0 * bytes;
      const bool one_per_node = per_node <= 1 && simple->tree_step_latency_s >= 0;
      auto fabric = [&](double given) {
        return one_per_node ? simple->tree_step_latency_s : given;
      };
      auto hop = [&](double given) {
        return given >= 0                    ? given
               : pi.tree_step_latency_s >= 0 ? pi.tree_step_latency_s
                                             : pi.step_latency_s;
      };
      // `intra_s`: the node's part with every channel; `share`: the channels (and so NICs) a
      // small buffer keeps, which slows both stages; `bus`: what each GPU moves per direction
      // over the node's link.
      const double inter_s = bytes / protocol_bw(sys.inter, *simple, 1.0, nics, nodes);
      auto add = [&](const char* name, double latency, double intra_s, double share, double bus) {
        const double full = latency + std::max(intra_s, inter_s);
        options.push_back(
            {name, latency + std::max(intra_s, inter_s) / share, "Simple", bus, full});
      };
      const double intra_bw = protocol_bw(sys.intra, pi);
      const bool arity_ok = local <= kMaxCollnetLocalGpus;
      if (arity_ok && sys.intra.topology == "switch" &&
          (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::collnet_direct))
        add("collnet-direct",
            (2.0 * (std::min(1.0, peers) * hop(sys.intra.collnet_direct_hop_s) +
                    peers * sys.intra.collnet_direct_arity_s) +
             fabric(sys.inter.sharp_direct_latency_s)) *
                step_scale,
            direct_bytes / intra_bw,
            tree_share(sys.intra, pi, bytes / heads),  // direct's channel rule counts the heads
            direct_bytes);
      if (arity_ok && (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::collnet_chain))
        add("collnet-chain",
            (2.0 * peers * hop(sys.intra.collnet_chain_hop_s) +
             fabric(sys.inter.sharp_chain_latency_s)) *
                step_scale,
            chain_bytes / intra_bw, ring_share(sys.intra, pi, 1, bytes), chain_bytes);
      if (nvls_ok && (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::nvls))
        add("nvls", sys.intra.nvls_latency_s + fabric(sys.inter.sharp_nvls_latency_s) * step_scale,
            nvls_time(sys.intra, local, bytes, 2) - sys.intra.nvls_latency_s,
            1.0,  // NCCL runs NVLS on its own channels
            (p + 1) / p * bytes);
    }
    // Without NVLS: reduce-scatter inside each node, an all-reduce of the 1/local shards between
    // nodes, all-gather inside, one after another. No NCCL algorithm (a framework's hierarchical
    // all-reduce), so only when asked for by name.
    if (algo == CollectiveAlgo::hierarchical) {
      Best rs = ring(sys.intra, step_scale, local, bytes, 1.0, true);
      Best ar = ring(sys.nic_share(), step_scale, nodes, bytes / local, 2.0, false);
      Best ag = ring(sys.intra, step_scale, local, bytes, 1.0, false);
      options.push_back({"hierarchical", rs.time_s + ar.time_s + ag.time_s,
                         rs.protocol + "/" + ar.protocol, 2.0 * (nodes - 1) / nodes * bytes / local,
                         rs.tuner_s + ar.tuner_s + ag.tuner_s});
    }
  }
  return choose(options, sys, span, bytes, algo, "allreduce", algo_needs(algo));
}

// All-gather and reduce-scatter as NCCL runs them (tuning.cc @5067397c: ring, NVLS on one node;
// no tree): half an all-reduce's ring, n - 1 steps moving (n-1)/n of the buffer, or one NVLS
// half, the whole buffer through one direction (nvls_time). NCCL also has PAT (one GPU per node)
// and CollNet-direct for them (one NIC per GPU with a plugin that gathers and scatters); llmgps
// does not model those.
namespace {
CollectiveCost gather_scatter_cost(const SystemSpec& sys, double bytes, int gpus,
                                   CollectiveAlgo algo, const char* what) {
  const Span span = span_of(sys, bytes, gpus, what);
  if (span.total == 1) return local_cost(bytes, "one GPU: nothing to exchange");
  const double step_scale = sys.gpu.collective_step_latency_scale;
  std::vector<Option> options;
  const double bus = (span.total - 1.0) / span.total * bytes;
  if (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::ring) {
    const Best b = span.nodes == 1 ? ring(sys.intra, step_scale, span.local, bytes, 1.0, true)
                                   : ring_across_nodes(sys, span.total, span.nodes,
                                                       sys.nics_for(span.smallest), bytes, 1.0);
    options.push_back({"ring", b.time_s, b.protocol, bus, b.tuner_s});
  }
  if (span.nodes == 1 && sys.intra.nvls && span.local > 1 &&
      (algo == CollectiveAlgo::automatic || algo == CollectiveAlgo::nvls)) {
    const double t = nvls_time(sys.intra, span.local, bytes, 1);
    options.push_back({"nvls", t, "Simple", bytes, t});
  }
  return choose(options, sys, span, bytes, algo, what,
                algo == CollectiveAlgo::nvls
                    ? " (needs NVLink SHARP between GPUs of one node: NCCL runs NVLS "
                      "all-gather and reduce-scatter across nodes only through CollNet, which "
                      "llmgps does not model for them)"
                    : " (NCCL runs ring and, on one node with NVLink SHARP, NVLS)");
}
}  // namespace

CollectiveKind parse_collective_kind(const std::string& s, const std::string& where) {
  if (s == "allreduce") return CollectiveKind::allreduce;
  if (s == "allgather") return CollectiveKind::allgather;
  if (s == "reducescatter") return CollectiveKind::reducescatter;
  throw InputError(where, "must be allreduce, allgather or reducescatter, got '" + s + "'");
}

CollectiveAlgo parse_collective_algo(CollectiveKind k, const std::string& s,
                                     const std::string& where) {
  if (k == CollectiveKind::allreduce) return parse_collective_algo(s, where);
  if (s == "auto") return CollectiveAlgo::automatic;
  if (s == "ring") return CollectiveAlgo::ring;
  if (s == "nvls") return CollectiveAlgo::nvls;
  throw InputError(where, "must be auto, ring or nvls, got '" + s + "'");
}

const char* collective_kind_name(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::allreduce:
      return "allreduce";
    case CollectiveKind::allgather:
      return "allgather";
    case CollectiveKind::reducescatter:
      return "reducescatter";
  }
  return "?";
}

CollectiveCost collective_cost(CollectiveKind k, const SystemSpec& sys, double bytes, int gpus,
                               CollectiveAlgo algo) {
  if (k == CollectiveKind::allreduce) return allreduce_cost(sys, bytes, gpus, algo);
  return gather_scatter_cost(sys, bytes, gpus, algo, collective_kind_name(k));
}

double busbw_factor(CollectiveKind k, int gpus) {
  if (gpus <= 1) return 0;
  return (k == CollectiveKind::allreduce ? 2.0 : 1.0) * (gpus - 1) / gpus;
}

CollectiveCost allgather_cost(const SystemSpec& sys, double bytes, int gpus, CollectiveAlgo algo) {
  return gather_scatter_cost(sys, bytes, gpus, algo, "allgather");
}

CollectiveCost reducescatter_cost(const SystemSpec& sys, double bytes, int gpus,
                                  CollectiveAlgo algo) {
  return gather_scatter_cost(sys, bytes, gpus, algo, "reducescatter");
}

std::vector<std::vector<double>> skewed_alltoall_volume(int gpus, double bytes_per_gpu,
                                                        double skew) {
  if (gpus <= 0) throw InputError("alltoall.gpus", "must be positive");
  check_bytes(bytes_per_gpu, "alltoall.bytes_per_gpu");
  if (!(skew >= 1.0) || skew > gpus)
    throw InputError(
        "alltoall.skew",
        fmt::format("must be in [1, {}] (max/mean share over {} GPUs), got {}", gpus, gpus, skew));
  // Destination shares: the hottest GPU takes skew/G of every sender's data, the rest split evenly.
  std::vector<double> share(gpus, gpus > 1 ? (1.0 - skew / gpus) / (gpus - 1) : 1.0);
  share[0] = skew / gpus;
  std::vector<std::vector<double>> v(gpus, std::vector<double>(gpus, 0.0));
  for (int i = 0; i < gpus; ++i)
    for (int j = 0; j < gpus; ++j) v[i][j] = bytes_per_gpu * share[j];
  return v;
}

OpCost alltoall_cost(const SystemSpec& sys, const std::vector<std::vector<double>>& volume) {
  const int g = int(volume.size());
  if (g == 0) throw InputError("alltoall", "empty volume matrix");
  if (g > sys.total_gpus())
    throw InputError("alltoall", fmt::format("{} GPUs in the volume matrix but system '{}' has {}",
                                             g, sys.name, sys.total_gpus()));
  const int per_node = sys.gpus_per_node;
  auto node_of = [&](int i) { return i / per_node; };
  auto hops = [&](int i, int j) {
    if (sys.intra.topology != "ring") return 1.0;
    int n = std::min(g, per_node), d = std::abs(i % per_node - j % per_node);
    return double(std::min(d, n - d));
  };
  double worst_intra = 0, worst_inter = 0, total = 0;
  std::vector<double> in_intra(g, 0), in_inter(g, 0);
  for (int i = 0; i < g; ++i) {
    if (int(volume[i].size()) != g) throw InputError("alltoall", "volume matrix is not square");
    double out_intra = 0, out_inter = 0;
    for (int j = 0; j < g; ++j) {
      double v = volume[i][j];
      if (!(v >= 0) || !std::isfinite(v))
        throw InputError("alltoall", "volume must be finite and non-negative");
      if (i == j) continue;
      total += v;
      if (node_of(i) == node_of(j)) {
        out_intra += v * hops(i, j);
        in_intra[j] += v * hops(i, j);
      } else {
        out_inter += v;
        in_inter[j] += v;
      }
    }
    worst_intra = std::max(worst_intra, out_intra);
    worst_inter = std::max(worst_inter, out_inter);
  }
  for (int j = 0; j < g; ++j) {
    worst_intra = std::max(worst_intra, in_intra[j]);
    worst_inter = std::max(worst_inter, in_inter[j]);
  }
  OpCost c;
  c.comm_bytes = total / g;
  if (total == 0) {
    c.bound = "local";
    c.detail = "no traffic leaves its GPU";
    return c;
  }
  // All peers are served concurrently: one step, paced by the busiest GPU's port.
  Best intra = worst_intra > 0 ? best_transfer(sys.intra, worst_intra) : Best{0, "-"};
  Best inter =
      worst_inter > 0 ? best_transfer(sys.inter, worst_inter, sys.nics_per_gpu()) : Best{0, "-"};
  c.time_s = std::max(intra.time_s, inter.time_s);
  c.bound = "link";
  c.detail = fmt::format("busiest GPU moves {} MB intra-node ({}), {} MB inter-node ({})",
                         fixed(worst_intra / 1e6, 2), intra.protocol, fixed(worst_inter / 1e6, 2),
                         inter.protocol);
  return c;
}

OpCost p2p_cost(const SystemSpec& sys, double bytes, bool cross_node, bool node_wide) {
  check_bytes(bytes, "p2p.bytes");
  if (sys.total_gpus() < 2)
    throw InputError("system", fmt::format("'{}' has one GPU: a copy needs a peer", sys.name));
  if (cross_node && sys.nodes < 2)
    throw InputError("p2p.cross_node",
                     fmt::format("system '{}' has one node: no inter-node copy", sys.name));
  if (!cross_node && sys.gpus_per_node < 2)
    throw InputError("p2p.cross_node", fmt::format("system '{}' has one GPU per node: a copy "
                                                   "to a peer crosses nodes (--cross-node)",
                                                   sys.name));
  const LinkSpec& link = cross_node ? sys.inter : sys.intra;
  Best b = best_transfer(link, bytes, cross_node && node_wide ? sys.nics_per_gpu() : 1.0);
  OpCost c;
  c.time_s = b.time_s;
  c.comm_bytes = bytes;
  c.bound = "link";
  c.detail = fmt::format("{} over {}, {} protocol", cross_node ? "inter-node" : "intra-node",
                         link.name, b.protocol);
  return c;
}

EpAllToAllMode parse_ep_alltoall_mode(const std::string& s, const std::string& where) {
  if (s == "deepep-normal") return EpAllToAllMode::deepep_normal;
  if (s == "deepep-ll") return EpAllToAllMode::deepep_low_latency;
  if (s == "deepep-ll-rdma") return EpAllToAllMode::deepep_low_latency_rdma;
  throw InputError(where,
                   "must be deepep-normal, deepep-ll (low-latency) or deepep-ll-rdma (low-latency, "
                   "no NVLink), got '" +
                       s + "'");
}

const char* ep_alltoall_mode_name(EpAllToAllMode m) {
  switch (m) {
    case EpAllToAllMode::deepep_normal:
      return "deepep-normal";
    case EpAllToAllMode::deepep_low_latency:
      return "deepep-ll";
    case EpAllToAllMode::deepep_low_latency_rdma:
      return "deepep-ll-rdma";
  }
  return "?";
}

bool is_low_latency(EpAllToAllMode m) {
  return m == EpAllToAllMode::deepep_low_latency || m == EpAllToAllMode::deepep_low_latency_rdma;
}

double expected_distinct_bins(int items, int bins, int k) {
  if (bins <= 0 || items <= 0 || k <= 0) return 0;
  const double per_bin = double(items) / bins;
  // P(a bin holds none of the k items) = prod_i (items - per_bin - i) / (items - i).
  double none = 1;
  for (int i = 0; i < k; ++i) none *= std::max(0.0, (items - per_bin - i) / double(items - i));
  return bins * (1.0 - none);
}

double token_payload_bytes(std::int64_t hidden, DType payload) {
  return payload == DType::fp8 ? double(hidden) + std::ceil(hidden / 128.0) * 4.0
                               : double(hidden) * dtype_bytes(payload);
}

EpAllToAllCost ep_alltoall_cost(const SystemSpec& sys, const EpAllToAll& a) {
  if (a.tokens_per_gpu <= 0) throw InputError("ep_alltoall.tokens", "must be positive");
  if (a.hidden <= 0) throw InputError("ep_alltoall.hidden", "must be positive");
  if (a.experts <= 0) throw InputError("ep_alltoall.experts", "must be positive");
  if (a.top_k <= 0 || a.top_k > a.experts)
    throw InputError("ep_alltoall.top_k", "must be in [1, experts]");
  const int g = a.gpus > 0 ? a.gpus : sys.total_gpus();
  if (g > sys.total_gpus())
    throw InputError("ep_alltoall.gpus",
                     fmt::format("system '{}' has only {} GPUs", sys.name, sys.total_gpus()));
  if (a.experts % g != 0)
    throw InputError("ep_alltoall.experts",
                     fmt::format("{} experts do not divide over {} GPUs", a.experts, g));
  if (!(a.port_skew >= 1) || !std::isfinite(a.port_skew))
    throw InputError("ep_alltoall.port_skew", fmt::format("must be >= 1 (got {})", a.port_skew));
  if (a.payload != DType::fp8 && a.payload != DType::bf16 && a.payload != DType::fp16)
    throw InputError("ep_alltoall.dtype", "payload must be fp8, bf16 or fp16");
  const int per_node = std::min(g, sys.gpus_per_node);
  const int nodes = (g + per_node - 1) / per_node;
  const double tokens = double(a.tokens_per_gpu);
  const double token_bytes = token_payload_bytes(a.hidden, a.payload);
  EpAllToAllCost c;
  // RDMA goes through the NIC link, a GPU's share of the node's NICs (a one-node system without
  // one has inter = intra).
  const LinkSpec& nic = sys.inter;
  // DeepEP moves bulk data with its own copy kernels, not NCCL's protocols: it is charged the
  // link's bulk protocol (Simple; in a file without one, the protocol with the largest payload
  // fraction), wherever the file lists it.
  auto link_s = [](const LinkSpec& l, double bytes, double width) {
    if (bytes <= 0) return 0.0;
    const LinkProtocol& bulk = bulk_protocol(l);
    return l.latency_s + bulk.step_latency_s +
           bytes / (l.bw_bytes_per_s * width * l.bw_efficiency * bulk.payload_fraction);
  };
  // RDMA and NVLink carry their shares at once: the slower binds.
  auto bind = [&] {
    const double rdma_s = link_s(nic, c.rdma_bytes, sys.nics_per_gpu()),
                 nvl_s = link_s(sys.intra, c.nvlink_bytes, 1.0);
    c.time_s = std::max(rdma_s, nvl_s);
    c.bound = rdma_s == 0 && nvl_s == 0 ? "local" : rdma_s >= nvl_s ? "rdma" : "nvlink";
    c.bytes_per_gpu = rdma_s >= nvl_s ? c.rdma_bytes : c.nvlink_bytes;
  };
  if (is_low_latency(a.mode)) {
    // Every (token, expert) pair is its own message, with no deduplication. DeepEP's default
    // sends those for GPUs of its own node over NVLink and the rest over RDMA; with NVLink
    // disallowed every one goes over RDMA, its own GPU's included. Experts are placed uniformly.
    c.logical_bytes = tokens * a.top_k * token_bytes;  // DeepEP counts every message
    c.distinct_gpus = double(a.top_k);
    if (a.mode == EpAllToAllMode::deepep_low_latency_rdma) {
      if (nodes == 1 && !sys.inter_link_given)
        throw InputError("ep_alltoall.mode",
                         "deepep-ll-rdma sends every message over RDMA, and system '" + sys.name +
                             "' gives no inter-node (NIC) link");
      c.rdma_bytes = c.logical_bytes * a.port_skew;
    } else {
      // A GPU of the node with the fewest GPUs has the fewest NVLink peers and sends the most
      // over RDMA: it binds.
      const int smallest = g - (nodes - 1) * per_node;
      c.rdma_bytes = c.logical_bytes * double(g - smallest) / g * a.port_skew;
      c.nvlink_bytes = c.logical_bytes * double(smallest - 1) / g * a.port_skew;
    }
    bind();
    c.comm_bytes = c.rdma_bytes + c.nvlink_bytes;
    c.detail = fmt::format(
        "low-latency: {} tokens x top-{} messages of {} B, {} MB over {}, {} MB over NVLink",
        a.tokens_per_gpu, a.top_k, fixed(token_bytes, 0), fixed(c.rdma_bytes / 1e6, 2), nic.name,
        fixed(c.nvlink_bytes / 1e6, 2));
    return c;
  }
  if (nodes == 1) {
    // Once per destination GPU over NVLink; the token's own GPU costs nothing.
    c.distinct_gpus = expected_distinct_bins(a.experts, g, a.top_k);
    c.distinct_nodes = 1;
    c.nvlink_bytes = tokens * c.distinct_gpus * (g - 1) / g * token_bytes * a.port_skew;
    c.bytes_per_gpu = c.nvlink_bytes;
    c.logical_bytes = tokens * c.distinct_gpus * token_bytes;
    c.time_s = link_s(sys.intra, c.nvlink_bytes, 1.0);
    c.bound = "nvlink";
  } else {
    // Node-limited routing: the token's experts lie in at most M nodes; it crosses RDMA once per
    // remote node (to the GPU of the same local rank) and is forwarded over NVLink there.
    const int m = std::max(1, std::min(nodes, a.max_nodes_per_token));
    const int experts_in_m = a.experts / nodes * m;
    c.distinct_nodes = expected_distinct_bins(experts_in_m, m, a.top_k);
    c.distinct_gpus = expected_distinct_bins(experts_in_m, m * per_node, a.top_k);
    // Of the selected nodes, the token's own is among them with probability m / nodes.
    const double remote_nodes = c.distinct_nodes * (1.0 - 1.0 / nodes);
    c.rdma_bytes = tokens * remote_nodes * token_bytes * a.port_skew;
    c.nvlink_bytes =
        tokens * c.distinct_gpus * (per_node - 1.0) / per_node * token_bytes * a.port_skew;
    bind();  // RDMA bytes are positive here: never "local"
    c.logical_bytes = tokens * c.distinct_nodes * token_bytes;
  }
  c.comm_bytes = c.nvlink_bytes + c.rdma_bytes;
  c.detail = fmt::format(
      "normal: {} GPUs / {} nodes per token, {} MB NVLink, {} MB RDMA per GPU ({} binds)",
      fixed(c.distinct_gpus, 2), fixed(c.distinct_nodes, 2), fixed(c.nvlink_bytes / 1e6, 1),
      fixed(c.rdma_bytes / 1e6, 1), c.bound);
  return c;
}

}  // namespace llmgps
