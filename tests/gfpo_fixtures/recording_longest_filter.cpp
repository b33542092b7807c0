// The `gfpo_test_filters` test plugin: group filter `recording_longest` keeps the LONGEST completions of each
// group (the opposite of the built-in `length`, so a test can tell which filter ran) and appends every group
// it receives to a JSONL file, so a black-box test can check what the trainer handed to a plugin's filter.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/plugin.h"

namespace {

class RecordingLongest : public trl::GroupFilter {
 public:
  explicit RecordingLongest(std::string record) : record_(std::move(record)) {}

  std::vector<double> score(const trl::CompletionGroup& group) override {
    std::ofstream(record_, std::ios::app) << nlohmann::json{{"prompt", group.prompt},
                                                            {"completions", group.completions},
                                                            {"lengths", group.lengths},
                                                            {"rewards", group.rewards}}
                                                 .dump()
                                          << "\n";
    std::vector<double> scores;
    for (int64_t length : group.lengths) scores.push_back(static_cast<double>(length));
    return scores;
  }

 private:
  std::string record_;
};

trl::ParamTable params() {
  trl::ParamTable t;
  t.add("record", trl::ParamType::string, nullptr, "JSONL file that receives every group").make_required();
  return t;
}

}  // namespace

TRL_PLUGIN("gfpo_test_filters", "Apache-2.0", "Test plugin: a recording group filter for the gfpo trainer",
           TRL_GROUP_FILTER("recording_longest"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_group_filter(
      "recording_longest", params(),
      [](const trl::Args& args) { return std::make_unique<RecordingLongest>(args.string("record")); },
      "keeps the longest completions; records every group it sees");
}
