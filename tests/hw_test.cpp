#include "llmgps/specs/hw.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"
#include "test_util.hpp"

using namespace llmgps;

TEST(Hw, PresetPeaksMatchDatasheets) {
  GpuSpec a = specs::load_gpu("a100-sxm4-80g");
  EXPECT_NEAR(a.peak_flops(DType::fp16) / 1e12, 312, 1);
  EXPECT_NEAR(a.peak_flops(DType::fp32) / 1e12, 19.5, 0.1);
  EXPECT_FALSE(a.supports(DType::fp8));
  GpuSpec h = specs::load_gpu("h100-sxm5");
  EXPECT_NEAR(h.peak_flops(DType::bf16) / 1e12, 989.4, 1);
  EXPECT_NEAR(h.peak_flops(DType::fp8) / 1e12, 1978.9, 1);
  EXPECT_EQ(h.hbm_bw_bytes_per_s, 3.35e12);
  GpuSpec h2 = specs::load_gpu("h200-sxm");
  EXPECT_EQ(h2.hbm_bw_bytes_per_s, 4.8e12);
  EXPECT_EQ(h2.sm_count, h.sm_count);
}

TEST(Hw, SystemsResolveTheirParts) {
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  EXPECT_EQ(s.total_gpus(), 4);
  EXPECT_EQ(s.gpu.name, "a100-sxm4-80g");
  EXPECT_EQ(s.intra.bw_bytes_per_s, 300e9);
  SystemSpec m = specs::load_system("32x-h100-nvlink4-ndr400");
  EXPECT_EQ(m.total_gpus(), 32);
  EXPECT_EQ(m.inter.name, "ib-ndr400");
  SystemSpec one = specs::load_system("h100-sxm5");  // a GPU acts as a one-GPU system
  EXPECT_EQ(one.total_gpus(), 1);
}

TEST(Hw, UnknownPresetNamesOptionAndLists) {
  try {
    specs::load_system("b200");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "system");  // the spec reference; the CLI names its option
    EXPECT_NE(e.reason().find("4x-a100-nvlink3"), std::string::npos);
  }
}

TEST(Hw, FileWithMissingFieldNamesIt) {
  test::TempDir d;
  std::string text = specs::find_preset("hw", "a100-sxm4-80g");
  auto j = nlohmann::json::parse(text);
  j.erase("sm_count");
  test::write_file(d.file("gpu.json"), j.dump());
  try {
    specs::load_gpu(d.file("gpu.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("gpu.json"), std::string::npos);
    EXPECT_NE(e.where().find("sm_count"), std::string::npos);
  }
}

TEST(Hw, NegativeBandwidthRejected) {
  test::TempDir d;
  auto j = nlohmann::json::parse(specs::find_preset("hw", "nvlink3"));
  j["bw_gb_per_s"] = -5;
  test::write_file(d.file("link.json"), j.dump());
  try {
    specs::load_link(d.file("link.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("bw_gb_per_s"), std::string::npos);
  }
}

TEST(Hw, UserSystemFileCanReferencePresetsAndInlineObjects) {
  test::TempDir d;
  nlohmann::json sys = {{"kind", "system"},
                        {"name", "mine"},
                        {"gpu", "h100-sxm5"},
                        {"gpus_per_node", 2},
                        {"nodes", 1},
                        {"intra_link", nlohmann::json::parse(specs::find_preset("hw", "pcie4"))}};
  test::write_file(d.file("sys.json"), sys.dump());
  SystemSpec s = specs::load_system(d.file("sys.json"));
  EXPECT_EQ(s.total_gpus(), 2);
  EXPECT_EQ(s.intra.name, "pcie4");
}

TEST(Hw, Fa3NeedsHopper) {
  GpuSpec a = specs::load_gpu("a100-sxm4-80g");
  EXPECT_THROW(a.attention_profile("fa3"), InputError);
  GpuSpec h = specs::load_gpu("h100-sxm5");
  EXPECT_EQ(h.attention_profile("fa3").name, "fa3");
}

// The serial-softmax flag: FA3 profiles set it, FA2's do not; it is optional (absent: false) and
// a value that is not a boolean is refused by name.
TEST(Hw, SoftmaxPhasesSerialIsAnOptionalBoolean) {
  for (const char* name : {"h100-sxm5", "h200-sxm", "h800-sxm5"}) {
    const GpuSpec g = specs::load_gpu(name);
    EXPECT_TRUE(g.attention_profile("fa3").softmax_phases_serial) << name;
    EXPECT_FALSE(g.attention_profile("fa2").softmax_phases_serial) << name;
  }
  test::TempDir d;
  auto j = nlohmann::json::parse(specs::find_preset("hw", "h100-sxm5"));
  j["attention"]["fa3"].erase("softmax_phases_serial");
  test::write_file(d.file("gpu.json"), j.dump());
  EXPECT_FALSE(specs::load_gpu(d.file("gpu.json")).attention_profile("fa3").softmax_phases_serial);
  j["attention"]["fa3"]["softmax_phases_serial"] = {{"value", true}, {"source", "x"}};
  j["attention"]["fa3"]["softmax_fp32_ops_per_element"] = {{"value", 0.5}, {"source", "x"}};
  test::write_file(d.file("few.json"), j.dump());
  try {
    specs::load_gpu(d.file("few.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("softmax_fp32_ops_per_element"), std::string::npos);
  }
  j["attention"]["fa3"]["softmax_fp32_ops_per_element"] = {{"value", 5}, {"source", "x"}};
  j["attention"]["fa3"]["softmax_phases_serial"] = {{"value", 2}, {"source", "x"}};
  test::write_file(d.file("bad.json"), j.dump());
  try {
    specs::load_gpu(d.file("bad.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("softmax_phases_serial"), std::string::npos);
  }
}

// NCCL's LL cap across nodes depends on the node count: the many-node value refines the
// two-node one and is refused without it.
TEST(Hw, ManyNodeLlCapNeedsTheTwoNodeCap) {
  const LinkSpec ib = specs::load_link("ib-hdr200");
  EXPECT_DOUBLE_EQ(ib.protocols.front().max_busbw_bytes_per_s, 22.5e9);
  EXPECT_DOUBLE_EQ(ib.protocols.front().max_busbw_many_nodes_bytes_per_s, 19.0e9);
  test::TempDir d;
  auto j = nlohmann::json::parse(specs::find_preset("hw", "ib-hdr200"));
  j["protocols"][0].erase("max_busbw_gb_per_s");
  test::write_file(d.file("link.json"), j.dump());
  try {
    specs::load_link(d.file("link.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("max_busbw_gb_per_s"), std::string::npos);
  }
}

TEST(Hw, ListCoversEveryKind) {
  int gpus = 0, links = 0, systems = 0;
  for (const auto& e : specs::list_hw()) {
    gpus += e.kind == "gpu";
    links += e.kind == "link";
    systems += e.kind == "system";
  }
  EXPECT_GE(gpus, 3);
  EXPECT_GE(links, 3);
  EXPECT_GE(systems, 1);
}

// Memory capacity: nvidia-smi's total where the file gives it, else the datasheet's GB; a bad
// value names the field.
TEST(Hw, MemoryCapacityIsNvidiaSmisTotal) {
  EXPECT_DOUBLE_EQ(specs::load_gpu("h100-sxm5").memory_bytes, 81559.0 * 1048576);
  EXPECT_DOUBLE_EQ(specs::load_gpu("a100-sxm4-80g").memory_bytes, 81920.0 * 1048576);
  EXPECT_DOUBLE_EQ(specs::load_gpu("h200-sxm").memory_bytes, 143771.0 * 1048576);
  test::TempDir d;
  auto j = nlohmann::json::parse(specs::find_preset("hw", "h100-sxm5"));
  j.erase("memory_total_mib");
  test::write_file(d.file("gpu.json"), j.dump());
  EXPECT_DOUBLE_EQ(specs::load_gpu(d.file("gpu.json")).memory_bytes, 80e9);
  j["memory_total_mib"] = {{"value", -1}, {"source", "x"}};
  test::write_file(d.file("bad.json"), j.dump());
  try {
    specs::load_gpu(d.file("bad.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("memory_total_mib"), std::string::npos);
  }
}

// CUDA graphs: every preset gives the graph replay's per-kernel gap, below the eager launch gap;
// with_cuda_graphs swaps only that gap in; a file without it is refused by name when graphs are
// asked for, and one whose graph gap exceeds the eager gap is refused on load.
TEST(Hw, CudaGraphsTakeTheGraphLaunchGap) {
  for (const char* name : {"a100-sxm4-80g", "h100-sxm5", "h200-sxm", "h800-sxm5"}) {
    const GpuSpec g = specs::load_gpu(name);
    EXPECT_GE(g.graph_launch_overhead_s, 0) << name;
    EXPECT_LT(g.graph_launch_overhead_s, g.launch_overhead_s) << name;
  }
  const SystemSpec sys = specs::load_system("8x-h100-nvlink4");
  const SystemSpec graphed = with_cuda_graphs(sys);
  EXPECT_EQ(graphed.gpu.launch_overhead_s, sys.gpu.graph_launch_overhead_s);
  EXPECT_EQ(with_cuda_graphs(graphed).gpu.launch_overhead_s, graphed.gpu.launch_overhead_s);
  EXPECT_EQ(graphed.intra.protocols.size(), sys.intra.protocols.size());
  EXPECT_EQ(graphed.gpu.hbm_bw_bytes_per_s, sys.gpu.hbm_bw_bytes_per_s);

  test::TempDir d;
  auto j = nlohmann::json::parse(specs::find_preset("hw", "h100-sxm5"));
  j["efficiency"].erase("graph_launch_overhead_us");
  test::write_file(d.file("gpu.json"), j.dump());
  SystemSpec mine = sys;
  mine.gpu = specs::load_gpu(d.file("gpu.json"));  // loads: the field is optional
  try {
    with_cuda_graphs(mine);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("graph_launch_overhead_us"), std::string::npos);
  }
  j["efficiency"]["graph_launch_overhead_us"] = {{"value", 5.0}, {"source", "x"}};
  test::write_file(d.file("bad.json"), j.dump());
  try {
    specs::load_gpu(d.file("bad.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("graph_launch_overhead_us"), std::string::npos);
    EXPECT_NE(e.where().find("bad.json"), std::string::npos);
  }
}

// NCCL's small-buffer channel fields: optional, checked, named in errors.
TEST(Hw, RingChannelFieldsAreCheckedByName) {
  const LinkSpec l = specs::load_link("nvlink3");
  EXPECT_EQ(l.ring_channels, 24);
  EXPECT_EQ(l.protocols[2].name, "Simple");
  EXPECT_EQ(l.protocols[2].thread_threshold_bytes, 64);
  EXPECT_FALSE(l.protocols[2].threshold_per_rank);
  test::TempDir d;
  auto expect_error = [&](nlohmann::json j, const std::string& field) {
    test::write_file(d.file("link.json"), j.dump());
    try {
      specs::load_link(d.file("link.json"));
      ADD_FAILURE() << field;
    } catch (const InputError& e) {
      EXPECT_NE(e.where().find(field), std::string::npos) << e.where();
    }
  };
  auto j = nlohmann::json::parse(specs::find_preset("hw", "nvlink3"));
  auto bad = j;
  bad["ring_channels"] = {{"value", 0}, {"source", "x"}};
  expect_error(bad, "ring_channels");
  bad = j;
  bad["protocols"][0]["thread_threshold_per_rank"] = {{"value", "yes"}, {"source", "x"}};
  expect_error(bad, "protocols[0].thread_threshold_per_rank");
  bad = j;
  bad["protocols"][1]["max_threads"] = {{"value", 4096}, {"source", "x"}};
  expect_error(bad, "protocols[1].max_threads");
  bad = j;
  bad["protocols"][1].erase("tree_step_latency_us");
  expect_error(bad, "protocols[1].tree_step_latency_us");
  bad = j;
  bad["protocols"][1]["tree_bw_factor"] = {{"value", 1.5}, {"source", "x"}};
  expect_error(bad, "protocols[1].tree_bw_factor");
  bad = j;
  bad["protocols"][0]["tree_size_factors"] = {{"value", {1.0, 0.0}}, {"source", "x"}};
  expect_error(bad, "protocols[0].tree_size_factors");
  // Half of the rule is refused: it would silently mean every channel at every size.
  bad = j;
  bad.erase("ring_channels");
  expect_error(bad, "ring_channels");
  bad = j;
  bad["protocols"][2].erase("thread_threshold_bytes");
  expect_error(bad, "protocols[2].thread_threshold_bytes");
  bad = j;
  for (auto& p : bad["protocols"]) p.erase("max_threads"), p.erase("thread_threshold_bytes");
  expect_error(bad, "protocols[0].thread_threshold_per_rank");
  bad["protocols"][0].erase("thread_threshold_per_rank");
  expect_error(bad, "protocols[0].max_threads");
  // None of it: NCCL's small-buffer rule is not applied.
  bad.erase("ring_channels");
  test::write_file(d.file("plain.json"), bad.dump());
  EXPECT_EQ(specs::load_link(d.file("plain.json")).ring_channels, 0);
}

// An inter-node link with tree latencies needs the tree's bandwidth share: otherwise the tree
// would silently never be offered.
TEST(Hw, InterNodeTreeNeedsItsBandwidthShare) {
  test::TempDir d;
  auto ib = nlohmann::json::parse(specs::find_preset("hw", "ib-ndr400"));
  for (auto& p : ib["protocols"]) p.erase("tree_bw_factor");
  nlohmann::json sys = {{"kind", "system"},   {"name", "two"}, {"gpu", "h100-sxm5"},
                        {"gpus_per_node", 8}, {"nodes", 2},    {"intra_link", "nvlink4"},
                        {"inter_link", ib}};
  test::write_file(d.file("sys.json"), sys.dump());
  try {
    specs::load_system(d.file("sys.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("inter_link.protocols[0].tree_bw_factor"), std::string::npos)
        << e.where();
  }
}

// CollNet is a system's choice (NCCL_COLLNET_ENABLE) on a fabric that reduces in its switches:
// the flag without the inter-node link's SHARP latencies is refused by name, as is a SHARP
// block missing a latency; without the flag nothing changes.
TEST(Hw, CollnetNeedsALinkThatReducesInItsNetwork) {
  test::TempDir d;
  auto ib = nlohmann::json::parse(specs::find_preset("hw", "ib-ndr400"));
  ASSERT_TRUE(ib.contains("sharp"));
  nlohmann::json sys = {{"kind", "system"},          {"name", "two"},  {"gpu", "h100-sxm5"},
                        {"gpus_per_node", 8},        {"nodes", 2},     {"intra_link", "nvlink4"},
                        {"inter_link", "ib-ndr400"}, {"collnet", true}};
  test::write_file(d.file("sys.json"), sys.dump());
  const SystemSpec s = specs::load_system(d.file("sys.json"));
  EXPECT_TRUE(s.collnet);
  EXPECT_NEAR(s.inter.sharp_direct_latency_s, 31e-6, 1e-12);
  EXPECT_NEAR(s.intra.collnet_chain_hop_s, 2.8e-6, 1e-12);
  EXPECT_FALSE(specs::load_system("32x-h100-nvlink4-ndr400").collnet);
  EXPECT_TRUE(specs::load_system("256x-h100-nvlink4-ndr400-sharp").collnet);

  ib.erase("sharp");
  sys["inter_link"] = ib;
  test::write_file(d.file("plain.json"), sys.dump());
  try {
    specs::load_system(d.file("plain.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("collnet"), std::string::npos) << e.where();
    EXPECT_NE(e.reason().find("sharp"), std::string::npos) << e.reason();
  }
  auto half = nlohmann::json::parse(specs::find_preset("hw", "ib-ndr400"));
  half["sharp"].erase("chain_latency_us");
  test::write_file(d.file("half.json"), half.dump());
  try {
    specs::load_link(d.file("half.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("sharp.chain_latency_us"), std::string::npos) << e.where();
  }
}

TEST(Hw, NicsPerNodeIsAPositiveCount) {
  test::TempDir d;
  nlohmann::json sys = {{"kind", "system"},          {"name", "two"},     {"gpu", "a100-sxm4-80g"},
                        {"gpus_per_node", 8},        {"nodes", 2},        {"intra_link", "nvlink3"},
                        {"inter_link", "ib-hdr200"}, {"nics_per_node", 4}};
  test::write_file(d.file("sys.json"), sys.dump());
  EXPECT_EQ(specs::load_system(d.file("sys.json")).nics_per_node, 4);
  EXPECT_EQ(specs::load_system("32x-a100-nvlink3-hdr200").nics_per_gpu(), 1.0);
  // None, more than one per GPU (a GPU's NICs are one link of their summed bandwidth), or NICs
  // without the inter-node link they count: refused by name.
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"nics_per_node", 0}, {"nics_per_node", 16}, {"inter_link", nullptr}}) {
    nlohmann::json bad = sys;
    if (value.is_null()) {
      bad.erase(field);
      bad["nodes"] = 1;
    } else {
      bad[field] = value;
    }
    test::write_file(d.file("bad.json"), bad.dump());
    try {
      specs::load_system(d.file("bad.json"));
      FAIL() << bad.dump();
    } catch (const InputError& e) {
      EXPECT_NE(e.where().find("nics_per_node"), std::string::npos) << e.where();
    }
  }
}
