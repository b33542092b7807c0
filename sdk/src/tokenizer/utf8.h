// UTF-8 helpers for the tokenizer: validation, code point iteration and lossy decoding.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace trl::tokenizer {

/// Byte offset of the first ill-formed UTF-8 sequence in `text`, or nullopt when it is well formed
/// (surrogates and overlong forms are ill formed, as in RFC 3629).
std::optional<size_t> first_invalid_utf8(std::string_view text);

/// Decodes the code point starting at `text[pos]` of a well-formed string and advances `pos` past it.
char32_t next_code_point(std::string_view text, size_t& pos);

/// Length in bytes of the code point whose lead byte is `lead` (1 for stray bytes), for well-formed text.
size_t utf8_length(unsigned char lead);

/// Appends `cp` to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

/// `bytes` as UTF-8 where each maximal ill-formed subpart becomes U+FFFD: the WHATWG/Unicode
/// "maximal subpart" practice that Rust's String::from_utf8_lossy and JavaScript's TextDecoder follow,
/// so decode() gives the same text as Hugging Face tokenizers for partial multi-byte tokens.
std::string utf8_lossy(std::string_view bytes);

}  // namespace trl::tokenizer
