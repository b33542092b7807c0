// The C++ side of the tokenizer parity test (README.md in this folder).
//   parity_driver write-byte-tokenizer DIR   saves Tokenizer::byte_level() for the reference to load
//   parity_driver compare WORKDIR            checks trl::Tokenizer against WORKDIR/reference.json
// compare loads each tokenizer directory the reference used and requires, for every corpus string,
// identical ids (with and without special tokens), identical decode (with and without skipping special
// tokens), the exact round trip where the tokenizer does no clean-up, identical lossy decoding of partial
// id sequences, and identical chat-template renderings. It prints each mismatch (up to a limit) and
// "N passed, M failed"; the exit status is 0 only when nothing failed.
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

struct Tally {
  int64_t passed = 0;
  int64_t failed = 0;
  std::map<std::string, int> printed;  // mismatches printed per tokenizer, to keep the log readable

  void check(bool ok, const std::string& tokenizer, const std::string& what) {
    if (ok) {
      ++passed;
      return;
    }
    ++failed;
    if (printed[tokenizer]++ < 25) std::cout << "MISMATCH [" << tokenizer << "] " << what << "\n";
  }
};

std::string ids_text(const std::vector<int64_t>& ids) { return nlohmann::json(ids).dump(); }

std::string show(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void compare_tokenizer(const nlohmann::json& spec, Tally& tally, std::map<std::string, std::unique_ptr<trl::Tokenizer>>& loaded) {
  const std::string name = spec.at("name");
  const auto start = std::chrono::steady_clock::now();
  auto tokenizer = trl::Tokenizer::load(spec.at("dir").get<std::string>());
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto encode_start = std::chrono::steady_clock::now();
  int64_t bytes = 0;
  for (const auto& c : spec.at("cases")) {
    const std::string text = c.at("text");
    bytes += static_cast<int64_t>(text.size());
    const std::vector<int64_t> ids = tokenizer->encode(text, true);
    const std::vector<int64_t> plain = tokenizer->encode(text, false);
    const auto want_ids = c.at("ids").get<std::vector<int64_t>>();
    const auto want_plain = c.at("ids_plain").get<std::vector<int64_t>>();
    tally.check(ids == want_ids, name, "encode " + show(text) + ": got " + ids_text(ids) + ", want " + ids_text(want_ids));
    tally.check(plain == want_plain, name,
                "encode(add_special_tokens=false) " + show(text) + ": got " + ids_text(plain) + ", want " + ids_text(want_plain));
    const std::string decoded = tokenizer->decode(want_ids, false);
    tally.check(decoded == c.at("decoded").get<std::string>(), name,
                "decode " + ids_text(want_ids) + ": got " + show(decoded) + ", want " + show(c.at("decoded")));
    const std::string skipped = tokenizer->decode(want_ids, true);
    tally.check(skipped == c.at("decoded_skip").get<std::string>(), name,
                "decode(skip_special_tokens) " + ids_text(want_ids) + ": got " + show(skipped) + ", want " +
                    show(c.at("decoded_skip")));
    if (c.contains("round_trip")) {
      const std::string back = tokenizer->decode(plain, false);
      tally.check(back == c.at("round_trip").get<std::string>(), name,
                  "round trip " + show(text) + ": got " + show(back) + ", want " + show(c.at("round_trip")));
    }
  }
  const double encode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - encode_start).count();
  for (const auto& c : spec.at("decode_cases")) {
    const auto ids = c.at("ids").get<std::vector<int64_t>>();
    const std::string got = tokenizer->decode(ids, false);
    tally.check(got == c.at("text").get<std::string>(), name,
                "decode of partial ids " + ids_text(ids) + ": got " + show(got) + ", want " + show(c.at("text")));
  }
  std::cout << name << ": loaded in " << load_s << " s; " << spec.at("cases").size() << " strings (" << bytes
            << " bytes) encoded twice and decoded twice in " << encode_s << " s\n";
  loaded[name] = std::move(tokenizer);
}

void compare_chat(const nlohmann::json& entry, Tally& tally, const std::map<std::string, std::unique_ptr<trl::Tokenizer>>& loaded) {
  const std::string name = "chat/" + entry.at("tokenizer").get<std::string>();
  std::vector<trl::Message> messages;
  for (const auto& m : entry.at("messages")) messages.push_back({m.at("role"), m.at("content")});
  const bool generation_prompt = entry.at("add_generation_prompt");
  std::string got;
  try {
    got = loaded.at(entry.at("tokenizer")).get()->apply_chat_template(messages, generation_prompt, entry.at("kwargs"));
  } catch (const trl::Error& e) {
    got = std::string("<error: ") + e.what() + ">";
  }
  tally.check(got == entry.at("text").get<std::string>(), name,
              "messages " + entry.at("messages").dump() + " add_generation_prompt=" + (generation_prompt ? "true" : "false") +
                  " kwargs " + entry.at("kwargs").dump() + ": got " + show(got) + ", want " + show(entry.at("text")));
}

int compare(const std::string& workdir) {
  std::ifstream in(workdir + "/reference.json");
  if (!in) {
    std::cerr << workdir << "/reference.json: cannot open (did make_reference.mjs run?)\n";
    return 2;
  }
  const nlohmann::json reference = nlohmann::json::parse(in);
  Tally tally;
  std::map<std::string, std::unique_ptr<trl::Tokenizer>> loaded;
  for (const auto& spec : reference.at("tokenizers")) compare_tokenizer(spec, tally, loaded);
  for (const auto& entry : reference.at("chat")) compare_chat(entry, tally, loaded);
  std::cout << "tokenizer parity: " << tally.passed << " passed, " << tally.failed << " failed\n";
  return tally.failed == 0 && tally.passed > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "write-byte-tokenizer" && argc == 3) {
      trl::Tokenizer::byte_level()->save(argv[2]);
      return 0;
    }
    if (command == "compare" && argc == 3) return compare(argv[2]);
    std::cerr << "usage: parity_driver write-byte-tokenizer DIR | compare WORKDIR\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "parity_driver: " << e.what() << "\n";
    return 1;
  }
}
