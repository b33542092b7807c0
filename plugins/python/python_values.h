// python_values.h: values across the C++/Python line: dataset JSON into Python objects, a Python exception
// into the last lines of its traceback, and a callable's result checked and read back as TRL reads it.
// Every function here needs the GIL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace trl::python {

/// A completion as TRL hands it to rewards and filters: the text, or for conversational data a one-message
/// list [{"role": "assistant", "content": text}].
pybind11::object completion_value(const std::string& text, bool conversational);

/// A JSON value as Python's json.loads would give it: null None, bool, int, float, str, list, dict.
pybind11::object to_python(const nlohmann::json& value);

/// The exception being handled as "Type: message" followed by the last `max_lines` lines of its formatted
/// traceback (the frames closest to the error: the user's code), for an error message.
std::string describe(const pybind11::error_already_set& error, size_t max_lines = 8);

/// The type name of `value` as Python says it ("str", "NoneType", "numpy.ndarray").
std::string type_name(pybind11::handle value);

/// A short repr of `value` for an error message (at most ~80 characters).
std::string short_repr(pybind11::handle value);

/// Whether `value` is a real number TRL would accept as a reward: int, float, bool, or anything with
/// __float__ or __index__ (numpy scalars); not str or bytes.
bool is_number(pybind11::handle value);

/// A reward function's result as TRL reads it: a sequence (list, tuple, numpy array) of exactly `expected`
/// items, each a number or None (None becomes nullopt, TRL's NaN). `what` names the function for the
/// error ("reward function 'accuracy' (rewards.py)"); a wrong type or length throws trl::Error saying what
/// was expected and what came back.
std::vector<std::optional<double>> read_rewards(pybind11::handle result, size_t expected, const std::string& what);

/// A group filter's result: `groups` sequences of exactly `group_size` numbers each (TRL: list[list[float]],
/// one list of scores per group). Throws trl::Error like read_rewards.
std::vector<std::vector<double>> read_group_scores(pybind11::handle result, size_t groups, size_t group_size,
                                                   const std::string& what);

}  // namespace trl::python
