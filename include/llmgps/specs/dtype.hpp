#pragma once
// Numeric formats a kernel can run in. Sizes in bytes; tensor throughput per format lives in
// GpuSpec.
#include <string>
#include <string_view>

namespace llmgps {

enum class DType { fp32, tf32, fp16, bf16, fp8 };

// Parses "fp32", "tf32", "fp16", "bf16", "fp8"; throws InputError naming `where` otherwise.
DType parse_dtype(std::string_view text, const std::string& where);
std::string_view dtype_name(DType d);
// Bytes of one element in memory (tf32 is stored as fp32).
double dtype_bytes(DType d);

}  // namespace llmgps
