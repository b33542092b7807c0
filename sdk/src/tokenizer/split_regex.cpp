// PCRE2-backed pre-tokenizer regex and the Oniguruma-to-PCRE2 rewrite (see split_regex.h).
#include "tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

namespace trl::tokenizer {
namespace {

// Oniguruma's Unicode meaning of the shorthand classes (its doc/RE, "Character types"), as the pieces
// that go inside a character class.
constexpr const char* kWordInClass = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";
constexpr const char* kHexInClass = "0-9A-Fa-f";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string oniguruma_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) throw std::invalid_argument("pattern ends with a lone backslash");
      const char e = p[++i];
      switch (e) {
        case 's': out += "\\p{White_Space}"; break;
        case 'S': out += "\\P{White_Space}"; break;
        case 'd': out += "\\p{Nd}"; break;
        case 'D': out += "\\P{Nd}"; break;
        case 'w': out += in_class ? std::string(kWordInClass) : "[" + std::string(kWordInClass) + "]"; break;
        case 'h': out += in_class ? std::string(kHexInClass) : "[" + std::string(kHexInClass) + "]"; break;
        case 'W':
        case 'H':
          if (in_class) throw std::invalid_argument(std::string("\\") + e + " inside a character class is not supported");
          out += "[^" + std::string(e == 'W' ? kWordInClass : kHexInClass) + "]";
          break;
        case 'b':
        case 'B':
        case 'G':
        case 'K':
        case 'R':
        case 'X':
        case 'y':
        case 'Y':
          if (e == 'b' && in_class) {  // backspace inside a class, as in both engines
            out += "\\x08";
            break;
          }
          throw std::invalid_argument(std::string("\\") + e + " is not supported (its meaning differs between engines)");
        case 'u':  // Oniguruma's \uHHHH is PCRE2's \x{HHHH}
          if (i + 4 >= p.size()) throw std::invalid_argument("\\u needs four hex digits");
          out += "\\x{" + std::string(p.substr(i + 1, 4)) + "}";
          i += 4;
          break;
        default:
          // Everything else (\p{..}, \x{..}, \r, \n, \t, escaped punctuation, \A, \z, \Z) means the same.
          out += '\\';
          out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == '[') {
        if (i + 1 < p.size() && p[i + 1] == ':') {  // POSIX bracket [:alpha:], same in both
          const size_t close = p.find(":]", i + 2);
          if (close == std::string_view::npos) throw std::invalid_argument("unterminated POSIX class");
          out.append(p.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
        throw std::invalid_argument("nested character classes are not supported");
      }
      if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') {
        throw std::invalid_argument("character class intersection (&&) is not supported");
      }
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in both engines.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    out += c;
  }
  if (in_class) throw std::invalid_argument("unterminated character class");
  return out;
}

struct SplitRegex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
};

SplitRegex::SplitRegex(const std::string& pattern, bool literal) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // Oniguruma's ^ and $ are line anchors, so MULTILINE; UCP gives \p and case folding Unicode meaning.
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : PCRE2_MULTILINE);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset,
                              nullptr);
  if (impl_->code == nullptr) {
    throw std::invalid_argument("PCRE2 cannot compile the pattern at offset " + std::to_string(offset) + ": " +
                                pcre2_message(error));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

SplitRegex::~SplitRegex() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

std::vector<std::pair<size_t, size_t>> SplitRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  if (!data) throw std::runtime_error("PCRE2: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  // The callers validated the UTF-8 once for the whole text; re-checking every call would be quadratic.
  uint32_t options = PCRE2_NO_UTF_CHECK;
  while (start <= text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), start, options, data.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {  // the interpreter keeps its backtracking state on the heap
      rc = pcre2_match(impl_->code, subject, text.size(), start, options | PCRE2_NO_JIT, data.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw std::runtime_error("PCRE2 match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      start = end;
    } else {
      // An empty match splits nothing; step over one whole character, as Oniguruma's iterator does.
      if (begin >= text.size()) break;
      start = begin + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    }
  }
  return matches;
}

}  // namespace trl::tokenizer
