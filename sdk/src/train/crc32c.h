// CRC-32C (Castagnoli), the checksum of TFRecord framing (TensorBoard event files).
#pragma once

#include <cstddef>
#include <cstdint>

namespace trl {

/// CRC-32C of `size` bytes (reflected polynomial 0x82F63B78, initial and final xor 0xFFFFFFFF):
/// crc32c("123456789") = 0xE3069283.
uint32_t crc32c(const void* data, size_t size);

/// TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8, so a CRC of data that itself holds
/// CRCs stays well distributed (tensorflow/core/lib/hash/crc32c.h, Mask()).
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace trl
