#include "llmgps/cost/collective.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

struct Best {
  double time_s = std::numeric_limits<double>::infinity();
  std::string protocol;
};

// Fastest protocol for `steps` sequential steps moving `bytes_per_link` over the busiest link.
Best best_protocol(const LinkSpec& link, double steps, double bytes_per_link) {
  Best best;
  for (const auto& p : link.protocols) {
    double t = steps * (link.latency_s + p.latency_s) + bytes_per_link / (link.bw_bytes_per_s * p.bw_fraction);
    if (t < best.time_s) best = {t, p.name};
  }
  return best;
}

// A ring of n over a link: reduce-scatter or all-gather moves (n-1)/n of the data in n-1 steps.
Best ring_phase(const LinkSpec& link, int n, double bytes, double phases) {
  if (n <= 1) return {0, "local"};
  return best_protocol(link, phases * (n - 1), phases * (n - 1) / double(n) * bytes);
}

void check_bytes(double bytes, const char* opt) {
  if (!(bytes > 0) || !std::isfinite(bytes)) throw InputError(opt, "must be a positive number of bytes");
}

}  // namespace

OpCost allreduce_cost(const SystemSpec& sys, double bytes, int gpus) {
  check_bytes(bytes, "--bytes");
  const int total = gpus > 0 ? gpus : sys.total_gpus();
  if (total > sys.total_gpus())
    throw InputError("--gpus", "system '" + sys.name + "' has only " + std::to_string(sys.total_gpus()) + " GPUs");
  OpCost c;
  c.comm_bytes = bytes;
  if (total == 1) {
    c.bound = "local";
    c.detail = "one GPU: nothing to reduce";
    return c;
  }
  const int local = std::min(total, sys.gpus_per_node);
  const int nodes = (total + local - 1) / local;
  if (nodes == 1) {
    Best b = ring_phase(sys.intra, local, bytes, 2.0);
    c.time_s = b.time_s;
    c.detail = fmt::format("ring over {} GPUs, {} protocol", local, b.protocol);
  } else {
    Best rs = ring_phase(sys.intra, local, bytes, 1.0);
    Best ar = ring_phase(sys.inter, nodes, bytes / local, 2.0);
    Best ag = ring_phase(sys.intra, local, bytes, 1.0);
    c.time_s = rs.time_s + ar.time_s + ag.time_s;
    c.detail = fmt::format("hierarchical: {} nodes x {} GPUs, intra {} / inter {}", nodes, local, rs.protocol,
                           ar.protocol);
  }
  c.bound = "link";
  return c;
}

std::vector<std::vector<double>> skewed_alltoall_volume(int gpus, double bytes_per_gpu, double skew) {
  if (gpus <= 0) throw InputError("--gpus", "must be positive");
  check_bytes(bytes_per_gpu, "--bytes-per-gpu");
  if (!(skew >= 1.0) || skew > gpus)
    throw InputError("--skew", fmt::format("must be in [1, {}] (max/mean share over {} GPUs), got {}", gpus, gpus, skew));
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
    throw InputError("alltoall", fmt::format("{} GPUs in the volume matrix but system '{}' has {}", g, sys.name,
                                             sys.total_gpus()));
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
      if (!(v >= 0) || !std::isfinite(v)) throw InputError("alltoall", "volume must be finite and non-negative");
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
  Best intra = worst_intra > 0 ? best_protocol(sys.intra, 1, worst_intra) : Best{0, "-"};
  Best inter = worst_inter > 0 ? best_protocol(sys.inter, 1, worst_inter) : Best{0, "-"};
  c.time_s = std::max(intra.time_s, inter.time_s);
  c.bound = "link";
  c.detail = fmt::format("busiest GPU moves {:.2f} MB intra-node ({}), {:.2f} MB inter-node ({})", worst_intra / 1e6,
                         intra.protocol, worst_inter / 1e6, inter.protocol);
  return c;
}

OpCost p2p_cost(const SystemSpec& sys, double bytes, bool cross_node) {
  check_bytes(bytes, "--bytes");
  const LinkSpec& link = cross_node ? sys.inter : sys.intra;
  Best b = best_protocol(link, 1, bytes);
  OpCost c;
  c.time_s = b.time_s;
  c.comm_bytes = bytes;
  c.bound = "link";
  c.detail = fmt::format("{} over {}, {} protocol", cross_node ? "inter-node" : "intra-node", link.name, b.protocol);
  return c;
}

}  // namespace llmgps
