// The GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable Unicode character
// (bytes_to_unicode in GPT-2's encoder.py, ByteLevel in Hugging Face tokenizers), so that every token of a
// byte-level BPE vocabulary is a string and a space becomes "Ġ".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trl::tokenizer {

/// The character that stands for byte `b`.
char32_t byte_to_char(unsigned char b);

/// `bytes` written in the byte-level alphabet (UTF-8 of the mapped characters).
std::string bytes_to_token(std::string_view bytes);

/// The bytes a byte-level token stands for, or nullopt when some character of `token` (well-formed
/// UTF-8) is not in the alphabet.
std::optional<std::string> token_to_bytes(std::string_view token);

}  // namespace trl::tokenizer
