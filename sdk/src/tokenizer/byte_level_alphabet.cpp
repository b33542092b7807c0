// The byte-level alphabet (see byte_level_alphabet.h).
#include "tokenizer/byte_level_alphabet.h"

#include <array>

#include "tokenizer/utf8.h"

namespace trl::tokenizer {
namespace {

struct Alphabet {
  std::array<char32_t, 256> char_of{};
  std::array<int, 324> byte_of{};  // indexed by character, -1 when not in the alphabet; all are < 324

  Alphabet() {
    byte_of.fill(-1);
    // Printable Latin-1 stands for itself; the other 68 bytes are shifted to U+0100.. in byte order.
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted++);
      char_of[static_cast<size_t>(b)] = c;
      byte_of[static_cast<size_t>(c)] = b;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

char32_t byte_to_char(unsigned char b) { return alphabet().char_of[b]; }

std::string bytes_to_token(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) append_utf8(out, byte_to_char(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<std::string> token_to_bytes(std::string_view token) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(token.size());
  for (size_t pos = 0; pos < token.size();) {
    const char32_t c = next_code_point(token, pos);
    if (c >= a.byte_of.size() || a.byte_of[c] < 0) return std::nullopt;
    out += static_cast<char>(a.byte_of[c]);
  }
  return out;
}

}  // namespace trl::tokenizer
