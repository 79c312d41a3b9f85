#include "llmgps/specs/dtype.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

TEST(DType, ParsesEveryNameAndRoundTrips) {
  for (auto d : {DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp8})
    EXPECT_EQ(parse_dtype(dtype_name(d), "--dtype"), d);
}

TEST(DType, BytesPerElement) {
  EXPECT_EQ(dtype_bytes(DType::fp32), 4);
  EXPECT_EQ(dtype_bytes(DType::tf32), 4);
  EXPECT_EQ(dtype_bytes(DType::bf16), 2);
  EXPECT_EQ(dtype_bytes(DType::fp8), 1);
}

TEST(DType, UnknownNameNamesTheOption) {
  try {
    parse_dtype("int4", "--dtype");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "--dtype");
    EXPECT_NE(std::string(e.what()).find("int4"), std::string::npos);
  }
}
