// trl/sdk/data/preference.h: DPO tokenization and collation, exactly as TRL's DPOTrainer (spec §1.3).
//
// Letters: B pairs, T padded length. A batch holds 2B rows: all prompt+chosen, then all prompt+rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "trl/sdk/data/dataset.h"

namespace trl {

class Tokenizer;

/// Which end of an over-long sequence to keep.
enum class TruncationMode { keep_start, keep_end };

/// Parses "keep_start" / "keep_end"; throws ConfigError naming `key` otherwise.
TruncationMode parse_truncation_mode(const std::string& text, const std::string& key);
/// "keep_start" or "keep_end".
const char* truncation_mode_name(TruncationMode mode);

/// One tokenized pair: the prompt and each completion, completions without the prompt's tokens.
struct TokenizedPair {
  std::vector<int64_t> prompt_ids;    ///< tokenized prompt (BOS included if the tokenizer adds one)
  std::vector<int64_t> chosen_ids;    ///< prompt+chosen tokenized, first len(prompt_ids) removed
  std::vector<int64_t> rejected_ids;  ///< prompt+rejected likewise
  std::optional<double> ref_chosen_logps;    ///< precomputed reference log-prob, if any
  std::optional<double> ref_rejected_logps;  ///< precomputed reference log-prob, if any
  std::string source;                 ///< the row's "file:line", for messages
};

/// Tokenization settings (DPOConfig names).
struct PreferenceTokenizeOptions {
  std::optional<int64_t> max_length = 1024;   ///< drop pairs whose prompt alone reaches this (keep_start); >= 1
  TruncationMode truncation_mode = TruncationMode::keep_start;  ///< only keep_start drops pairs; see collate
  /// Legacy DPOConfig (spec §1.9, removed from TRL HEAD): keep only the LAST N prompt tokens; >= 1.
  /// nullopt (the HEAD behaviour) keeps the whole prompt.
  std::optional<int64_t> max_prompt_length;
  /// Legacy DPOConfig (spec §1.9): keep only the FIRST N tokens of each completion; >= 1. nullopt = all.
  std::optional<int64_t> max_completion_length;
};

/// Tokenizes rows as TRL HEAD does (spec §1.3): standard rows get the tokenizer's EOS text appended to
/// chosen and rejected (unless already ending with it) and prompt, prompt+chosen, prompt+rejected are
/// encoded as whole strings with special tokens; conversational rows are rendered with the chat template
/// (the prompt with the generation prompt, the full conversations without; each row's
/// chat_template_kwargs and tools, in the file's key order) and encoded without special tokens. As TRL
/// 1.16, the completions start where the tokenized prompt and prompt+completion diverge (the shorter common
/// prefix of chosen and rejected) and prompt_ids keeps only that prefix; when that cuts the prompt, one
/// warning logs the count. Then the legacy max_prompt_length / max_completion_length cuts, if set. Under
/// keep_start, pairs whose prompt_ids reach max_length are dropped; the count is logged and stored in
/// `dropped` (if given). Throws ConfigError for a limit < 1, ModelError when standard data meets a
/// tokenizer without EOS, DataError when every pair is dropped. Empty `rows` give an empty result.
std::vector<TokenizedPair> tokenize_preferences(const std::vector<PreferenceRow>& rows, const Tokenizer& tokenizer,
                                                const PreferenceTokenizeOptions& options, int64_t* dropped = nullptr);

/// A collated preference batch on the CPU (move with to()).
struct PreferenceBatch {
  at::Tensor input_ids;          ///< (2B, T) int64: prompt+chosen rows, then prompt+rejected rows
  at::Tensor attention_mask;     ///< (2B, T) int64: 1 on real tokens, 0 on right padding
  at::Tensor completion_mask;    ///< (2B, T) int64: 1 on completion tokens
  at::Tensor ref_chosen_logps;   ///< (B,) float32, defined only when every pair carries one
  at::Tensor ref_rejected_logps; ///< (B,) float32, likewise
  int64_t num_pairs = 0;         ///< B
  /// The same batch with every defined tensor on `device`.
  PreferenceBatch to(c10::Device device) const;
};

/// Collates pairs as TRL's DataCollatorForPreference (spec §1.3 item 6): each row prompt+completion is
/// truncated on its own to max_length (keep_start keeps the first tokens, keep_end the last), right-padded
/// with `pad_id`, width rounded up to a multiple of pad_to_multiple_of. Prompts are not deduplicated.
/// Reference log-probs become tensors only if every pair has both. Throws ConfigError for max_length or
/// pad_to_multiple_of < 1; an empty `pairs`, a null pointer or a mix of pairs with and without reference
/// log-probs is an InternalError (a caller bug).
PreferenceBatch collate_preferences(const std::vector<const TokenizedPair*>& pairs, int64_t pad_id,
                                    std::optional<int64_t> max_length, TruncationMode truncation_mode,
                                    std::optional<int64_t> pad_to_multiple_of = std::nullopt);

}  // namespace trl
