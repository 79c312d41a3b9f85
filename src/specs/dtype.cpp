#include "llmgps/specs/dtype.hpp"

#include "llmgps/specs/error.hpp"

namespace llmgps {

DType parse_dtype(std::string_view text, const std::string& where) {
  if (text == "fp32") return DType::fp32;
  if (text == "tf32") return DType::tf32;
  if (text == "fp16") return DType::fp16;
  if (text == "bf16") return DType::bf16;
  if (text == "fp8") return DType::fp8;
  throw InputError(
      where, "unknown dtype '" + std::string(text) + "' (expected fp32, tf32, fp16, bf16 or fp8)");
}

std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::fp32:
      return "fp32";
    case DType::tf32:
      return "tf32";
    case DType::fp16:
      return "fp16";
    case DType::bf16:
      return "bf16";
    case DType::fp8:
      return "fp8";
  }
  return "?";
}

double dtype_bytes(DType d) {
  switch (d) {
    case DType::fp32:
    case DType::tf32:
      return 4;
    case DType::fp16:
    case DType::bf16:
      return 2;
    case DType::fp8:
      return 1;
  }
  return 4;
}

}  // namespace llmgps
