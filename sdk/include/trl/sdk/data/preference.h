// trl/sdk/data/preference.h: DPO tokenization and collation, exactly as TRL's DPOTrainer (spec §1.3).
//
// Letters: B pairs, T padded length. A batch holds 2B rows: all prompt+chosen, then all prompt+rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trl/sdk/data/dataset.h"

namespace trl {

class Tokenizer;

/// Which end of an over-long sequence to keep.
enum class TruncationMode { keep_start, keep_end };

/// Parses "keep_start" / "keep_end"; throws ConfigError naming `key` otherwise.
TruncationMode parse_truncation_mode(const std::string& text, const std::string& key);

/// One tokenized pair: the prompt and each completion, completions without the prompt's tokens.
struct TokenizedPair {
  std::vector<int64_t> prompt_ids;    ///< tokenized prompt (BOS included if the tokenizer adds one)
  std::vector<int64_t> chosen_ids;    ///< prompt+chosen tokenized, first len(prompt_ids) removed
  std::vector<int64_t> rejected_ids;  ///< prompt+rejected likewise
  std::optional<double> ref_chosen_logps;    ///< precomputed reference log-prob, if any
  std::optional<double> ref_rejected_logps;  ///< precomputed reference log-prob, if any
};

/// Tokenization settings (DPOConfig names).
struct PreferenceTokenizeOptions {
  std::optional<int64_t> max_length = 1024;   ///< drop pairs whose prompt alone reaches this (keep_start)
  TruncationMode truncation_mode = TruncationMode::keep_start;  ///< see collate
};

/// Tokenizes rows as TRL does: EOS text appended to standard completions, chat template for
/// conversations, prompt-prefix split. Pairs whose prompt reaches max_length under keep_start are
/// dropped; `dropped` (if given) receives their count. A prompt that is not a token prefix of
/// prompt+completion only logs a warning (as TRL).
std::vector<TokenizedPair> tokenize_preferences(const std::vector<PreferenceRow>& rows, const Tokenizer& tokenizer,
                                                const PreferenceTokenizeOptions& options, int64_t* dropped = nullptr);

/// A collated preference batch on the CPU (move with to()).
struct PreferenceBatch {
  at::Tensor input_ids;          ///< (2B, T) int64: prompt+chosen rows, then prompt+rejected rows
  at::Tensor attention_mask;     ///< (2B, T) int64: 1 on real tokens
  at::Tensor completion_mask;    ///< (2B, T) int64: 1 on completion tokens
  at::Tensor ref_chosen_logps;   ///< (B,) float32, defined only when every pair carries one
  at::Tensor ref_rejected_logps; ///< (B,) float32, likewise
  int64_t num_pairs = 0;         ///< B
  /// The same batch with every tensor on `device`.
  PreferenceBatch to(c10::Device device) const;
};

/// Collates pairs: each row truncated on its own to max_length (keep_start keeps the first tokens,
/// keep_end the last), right-padded with `pad_id`, width rounded up to pad_to_multiple_of.
PreferenceBatch collate_preferences(const std::vector<const TokenizedPair*>& pairs, int64_t pad_id,
                                    std::optional<int64_t> max_length, TruncationMode truncation_mode,
                                    std::optional<int64_t> pad_to_multiple_of = std::nullopt);

}  // namespace trl
