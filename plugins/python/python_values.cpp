// Values across the C++/Python line (see python_values.h).
#include "python_values.h"

#include "trl/sdk/error.h"

namespace trl::python {

namespace py = pybind11;

py::object completion_value(const std::string& text, bool conversational) {
  if (!conversational) return py::str(text);
  py::dict message;
  message["role"] = "assistant";
  message["content"] = text;
  py::list one(1);
  one[0] = message;
  return one;
}

py::object to_python(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(value.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(value.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(value.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list list(value.size());
      for (size_t i = 0; i < value.size(); ++i) list[i] = to_python(value[i]);
      return std::move(list);
    }
    case nlohmann::json::value_t::object: {
      py::dict dict;
      for (auto it = value.begin(); it != value.end(); ++it) dict[py::str(it.key())] = to_python(it.value());
      return std::move(dict);
    }
    default:  // binary and discarded values never come from a parsed dataset
      return py::none();
  }
}

std::string describe(const py::error_already_set& error, size_t max_lines) {
  std::vector<std::string> lines;
  try {
    const py::object format = py::module_::import("traceback").attr("format_exception");
    // An exception raised by C code (a failed import) may have no traceback: None, not a null handle.
    const py::object trace = error.trace() ? py::reinterpret_borrow<py::object>(error.trace()) : py::none();
    const py::object value = error.value() ? py::reinterpret_borrow<py::object>(error.value()) : py::none();
    const std::string text = py::str("").attr("join")(format(error.type(), value, trace)).cast<std::string>();
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      if (!line.empty() && line != "Traceback (most recent call last):") lines.push_back(line);
      start = end + 1;
    }
  } catch (const std::exception&) {
    return error.what();  // the traceback module itself failed: pybind11's own one-line summary
  }
  if (lines.empty()) return error.what();
  const size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  // The exception line goes first, so a one-line log shows what went wrong; the frames follow.
  std::string out = lines.back();
  if (lines.size() > 1) {
    out += "\n  Traceback (last lines):";
    for (size_t i = first; i + 1 < lines.size(); ++i) out += "\n  " + lines[i];
  }
  return out;
}

std::string type_name(py::handle value) {
  const py::handle type = reinterpret_cast<PyObject*>(Py_TYPE(value.ptr()));
  const std::string name = py::str(type.attr("__qualname__")).cast<std::string>();
  const std::string module = py::str(type.attr("__module__")).cast<std::string>();
  return module == "builtins" ? name : module + "." + name;
}

std::string short_repr(py::handle value) {
  std::string text;
  try {
    text = py::repr(value).cast<std::string>();
  } catch (const py::error_already_set&) {
    return "<" + type_name(value) + " whose repr() fails>";
  }
  return text.size() <= 80 ? text : text.substr(0, 77) + "...";
}

bool is_number(py::handle value) {
  if (py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value)) return false;
  return PyFloat_Check(value.ptr()) || PyLong_Check(value.ptr()) || py::hasattr(value, "__float__") ||
         PyIndex_Check(value.ptr());
}

namespace {

double as_double(py::handle value) {
  const double v = PyFloat_AsDouble(value.ptr());  // __float__, else __index__
  if (v == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

// A sized, indexable sequence (list, tuple, numpy array); the items, or nullopt for anything else.
std::optional<std::vector<py::object>> items_of(py::handle value) {
  if (py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value) || py::isinstance<py::dict>(value) ||
      !PySequence_Check(value.ptr()))
    return std::nullopt;
  std::vector<py::object> items;
  for (const py::handle item : py::iter(value)) items.push_back(py::reinterpret_borrow<py::object>(item));
  return items;
}

}  // namespace

std::vector<std::optional<double>> read_rewards(py::handle result, size_t expected, const std::string& what) {
  const std::string wanted = "expected a list of floats or None, one per completion (" + std::to_string(expected) + ")";
  const std::optional<std::vector<py::object>> items = items_of(result);
  if (!items) throw Error(what + " returned " + type_name(result) + " " + short_repr(result) + "; " + wanted);
  if (items->size() != expected)
    throw Error(what + " returned " + std::to_string(items->size()) + " rewards for " + std::to_string(expected) +
                " completions; " + wanted);
  std::vector<std::optional<double>> out;
  out.reserve(expected);
  for (size_t i = 0; i < items->size(); ++i) {
    const py::object& item = (*items)[i];
    if (item.is_none()) {
      out.emplace_back(std::nullopt);  // TRL's None: not applicable, NaN in the rewards matrix
    } else if (is_number(item)) {
      out.emplace_back(as_double(item));
    } else {
      throw Error(what + " returned " + type_name(item) + " " + short_repr(item) + " as reward " + std::to_string(i) +
                  "; " + wanted);
    }
  }
  return out;
}

std::vector<std::vector<double>> read_group_scores(py::handle result, size_t groups, size_t group_size,
                                                   const std::string& what) {
  const std::string wanted = "expected a list of " + std::to_string(groups) + " lists (one per group) of " +
                             std::to_string(group_size) + " float scores each";
  const std::optional<std::vector<py::object>> rows = items_of(result);
  if (!rows) throw Error(what + " returned " + type_name(result) + " " + short_repr(result) + "; " + wanted);
  if (rows->size() != groups)
    throw Error(what + " returned " + std::to_string(rows->size()) + " score lists for " + std::to_string(groups) +
                " groups; " + wanted);
  std::vector<std::vector<double>> out(groups);
  for (size_t k = 0; k < groups; ++k) {
    const py::object& row = (*rows)[k];
    const std::optional<std::vector<py::object>> scores = items_of(row);
    if (!scores)
      throw Error(what + " returned " + type_name(row) + " " + short_repr(row) + " as the scores of group " +
                  std::to_string(k) + "; " + wanted);
    if (scores->size() != group_size)
      throw Error(what + " returned " + std::to_string(scores->size()) + " scores for group " + std::to_string(k) +
                  " of " + std::to_string(group_size) + " completions; " + wanted);
    for (size_t j = 0; j < group_size; ++j) {
      const py::object& score = (*scores)[j];
      if (!is_number(score))
        throw Error(what + " returned " + type_name(score) + " " + short_repr(score) + " as score " +
                    std::to_string(j) + " of group " + std::to_string(k) + "; " + wanted);
      out[k].push_back(as_double(score));
    }
  }
  return out;
}

}  // namespace trl::python
