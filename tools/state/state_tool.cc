#include "state_tool.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

#include "eventflow/cli/exit_code.h"
#include "eventflow/cli/values.h"
#include "eventflow/core/status.h"
#include "eventflow/core/time.h"
#include "eventflow/inspector/codec.h"
#include "eventflow/inspector/output.h"
#include "eventflow/inspector/state_dir.h"
#include "eventflow/inspector/store_reader.h"

namespace eventflow::tools {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using inspector::Codec;
using inspector::JsonLine;
using inspector::OutputFormat;
using inspector::StoreEntry;
using inspector::StoreInfo;
using inspector::StoreKind;
using inspector::StoreReader;
using inspector::TextTable;

constexpr char kTool[] = "eventflow-state";
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

constexpr char kUsage[] =
    "Usage: eventflow-state <command> [arguments] [options]\n"
    "\n"
    "Reads the state stores of an EventFlow application, live, stopped or crashed, without\n"
    "disturbing it: each store is opened as a RocksDB secondary instance (no lock, nothing\n"
    "written in the state directory).\n"
    "\n"
    "Commands:\n"
    "  list STATE_DIR          the stores: kind, size, changelog offset, last commit, serdes\n"
    "  get STORE_PATH KEY      the value of KEY in a key-value store\n"
    "  scan STORE_PATH         the entries in store order [--from K] [--to K] [--limit N]\n"
    "  windows STORE_PATH KEY  KEY's windows (window store) or sessions (session store)\n"
    "                          [--from T] [--to T]\n"
    "  offsets STATE_DIR       each store's changelog topic, partition and stored offset\n"
    "  verify PATH             checksums, segment bounds and metadata of a store, or of every\n"
    "                          store under a state directory\n"
    "  export STORE_PATH       every entry as JSON lines\n"
    "\n"
    "STATE_DIR is the application's state directory (or an application's or task's directory\n"
    "in it); STORE_PATH is <state_dir>/<application_id>/<task_id>/<store>.\n"
    "Keys are typed in the form the store's key serde shows them (a string as is, an int64 in\n"
    "decimal, unknown bytes escaped as scan shows them: \\\\ and \\xNN); after \"--\" a key may\n"
    "start with '-' (eventflow-state get STORE_PATH -- -42).\n";

struct Settings {
  std::string command;
  std::vector<std::string> operands;
  OutputFormat format = OutputFormat::kTable;
  bool output_given = false;
  std::optional<std::string> from;
  std::optional<std::string> to;
  uint64_t limit = 0;
  std::optional<std::string> key_hex;
  inspector::ReaderOptions reader;
};

po::options_description Options() {
  po::options_description desc("Options");
  // clang-format off
  desc.add_options()
      ("help,h", "print this help")
      ("output", po::value<std::string>()->default_value("table"), "table or jsonl")
      ("from", po::value<std::string>(), "scan: smallest key (inclusive); windows: earliest time, epoch ms or RFC 3339")
      ("to", po::value<std::string>(), "scan: largest key (inclusive); windows: latest time, epoch ms or RFC 3339")
      ("limit", po::value<std::string>(), "scan: at most this many entries")
      ("key-hex", po::value<std::string>(), "get, windows: the key's bytes in hexadecimal, instead of KEY")
      ("include-expired", po::bool_switch(), "show window/session entries behind the store's expiry horizon")
      ("scratch-dir", po::value<std::string>(), "where the secondary instance's temporary directory is made (default: $TMPDIR or /tmp; never inside the state directory)")
      ("log-level", po::value<std::string>(), "debug, info, warn, error or off");
  // clang-format on
  return desc;
}

// Parses the command line; nullopt with *exit set after --help or an error.
std::optional<Settings> Parse(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err, int* exit) {
  const po::options_description desc = Options();
  po::options_description all;
  all.add(desc).add_options()("operand", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("operand", -1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    err << kTool << ": " << e.what() << " (see --help)\n";
    *exit = cli::kExitUsage;
    return std::nullopt;
  }
  std::vector<std::string> operands;
  if (values.count("operand")) operands = values["operand"].as<std::vector<std::string>>();
  if (values.count("help")) {
    out << kUsage << "\n" << desc << "\n";
    *exit = cli::kExitOk;
    return std::nullopt;
  }
  if (operands.empty()) {
    err << kTool
        << ": expected a command: list, get, scan, windows, offsets, verify or export (see "
           "--help)\n";
    *exit = cli::kExitUsage;
    return std::nullopt;
  }
  auto fail = [&](const Status& s) {
    err << kTool << ": " << s.message() << "\n";
    *exit = cli::kExitUsage;
    return std::nullopt;
  };
  if (Status s = cli::ApplyLogLevel(values); !s.ok()) return fail(s);
  Settings settings;
  settings.command = operands[0];
  settings.operands.assign(operands.begin() + 1, operands.end());
  auto format = cli::ParseChoice<OutputFormat>(
      "--output", values["output"].as<std::string>(),
      {{"table", OutputFormat::kTable}, {"jsonl", OutputFormat::kJsonLines}});
  if (!format.ok()) return fail(format.status());
  settings.format = *format;
  settings.output_given = !values["output"].defaulted();
  if (const std::string* v = cli::FlagIfGiven(values, "from")) settings.from = *v;
  if (const std::string* v = cli::FlagIfGiven(values, "to")) settings.to = *v;
  if (const std::string* v = cli::FlagIfGiven(values, "key-hex")) settings.key_hex = *v;
  if (const std::string* v = cli::FlagIfGiven(values, "limit")) {
    auto limit = cli::ParseUnsigned("--limit", *v);
    if (!limit.ok()) return fail(limit.status());
    settings.limit = *limit;
  }
  if (const std::string* v = cli::FlagIfGiven(values, "scratch-dir")) {
    settings.reader.scratch_dir = *v;
  }
  settings.reader.include_expired = values["include-expired"].as<bool>();
  return settings;
}

// ---------------------------------------------------------------------------
// Formatting

std::string HumanSize(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  std::ostringstream out;
  out.precision(unit == 0 ? 0 : 1);
  out << std::fixed << value << " " << units[unit];
  return out.str();
}

std::string Time(int64_t epoch_ms) {
  std::string out;
  inspector::AppendTime(epoch_ms, &out);
  return out;
}

std::string OffsetText(const StoreInfo& info) {
  if (info.changelog_offset) return std::to_string(*info.changelog_offset);
  return info.offset_status.IsNotFound() ? "missing" : "corrupt";
}

std::string OffsetStatusName(const StoreInfo& info) {
  if (info.changelog_offset) return "ok";
  return info.offset_status.IsNotFound() ? "missing" : "corrupt";
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// The codecs of a store's keys and values.
struct Codecs {
  explicit Codecs(const StoreInfo& info)
      : key(Codec::ForSerde(info.key_serde, info.window_size_ms)),
        value(Codec::ForSerde(info.value_serde)) {}
  Codec key;
  Codec value;
};

// Adds "<name>": decoded, or null with <name>_raw and <name>_error.
void AddDecoded(JsonLine& line, std::string_view name, const Codec& codec, std::string_view bytes) {
  std::string json, error;
  if (codec.AppendJson(bytes, &json, &error)) {
    line.Raw(name, json);
    return;
  }
  std::string escaped;
  inspector::AppendEscaped(bytes, &escaped);
  line.Null(name);
  line.String(std::string(name) + "_raw", escaped);
  line.String(std::string(name) + "_error", error);
}

std::string Text(const Codec& codec, std::string_view bytes) {
  std::string out;
  codec.AppendText(bytes, &out);
  return out;
}

// Prints entries as a table or JSON lines, by the store's kind.
class EntryPrinter {
 public:
  EntryPrinter(const StoreInfo& info, OutputFormat format, std::ostream& out)
      : info_(info), codecs_(info), format_(format), out_(out), table_(Header(info)) {}

  bool operator()(const StoreEntry& entry) {
    ++count_;
    if (format_ == OutputFormat::kJsonLines) {
      JsonLine line;
      AddDecoded(line, "key", codecs_.key, entry.key);
      if (info_.kind != StoreKind::kKeyValue) {
        line.Int("start", entry.start);
        line.OptionalInt("end", entry.end >= 0 ? std::optional<int64_t>(entry.end) : std::nullopt);
        if (info_.retain_duplicates) line.Int("seq", entry.sequence);
      }
      AddDecoded(line, "value", codecs_.value, entry.value);
      line.Print(out_);
      return true;
    }
    std::vector<std::string> row{Text(codecs_.key, entry.key)};
    if (info_.kind == StoreKind::kWindow) {
      row.push_back("[" + Time(entry.start) + ", " + (entry.end >= 0 ? Time(entry.end) : "?") +
                    ")");
      if (info_.retain_duplicates) row.push_back(std::to_string(entry.sequence));
    } else if (info_.kind == StoreKind::kSession) {
      row.push_back("[" + Time(entry.start) + ", " + Time(entry.end) + "]");
    }
    row.push_back(Text(codecs_.value, entry.value));
    table_.AddRow(std::move(row));
    return true;
  }

  //! Prints the table (JSON lines are printed as they come).
  void Finish() {
    if (format_ == OutputFormat::kTable) table_.Print(out_);
  }
  uint64_t count() const { return count_; }

 private:
  static std::vector<std::string> Header(const StoreInfo& info) {
    switch (info.kind) {
      case StoreKind::kWindow:
        if (info.retain_duplicates) return {"KEY", "WINDOW", "SEQ", "VALUE"};
        return {"KEY", "WINDOW", "VALUE"};
      case StoreKind::kSession:
        return {"KEY", "SESSION", "VALUE"};
      default:
        return {"KEY", "VALUE"};
    }
  }

  const StoreInfo& info_;
  Codecs codecs_;
  OutputFormat format_;
  std::ostream& out_;
  TextTable table_;
  uint64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Commands

class Command {
 public:
  Command(Settings settings, std::ostream& out, std::ostream& err)
      : s_(std::move(settings)), out_(out), err_(err) {}

  int Run() {
    const std::string& c = s_.command;
    if (c == "list") return WithOperands(1, "list STATE_DIR", [&] { return List(); });
    if (c == "offsets") return WithOperands(1, "offsets STATE_DIR", [&] { return Offsets(); });
    if (c == "get") {
      return WithOperands(s_.key_hex ? 1 : 2, "get STORE_PATH KEY", [&] { return Get(); });
    }
    if (c == "scan") return WithOperands(1, "scan STORE_PATH", [&] { return Scan(); });
    if (c == "windows") {
      return WithOperands(s_.key_hex ? 1 : 2, "windows STORE_PATH KEY", [&] { return Windows(); });
    }
    if (c == "verify") return WithOperands(1, "verify PATH", [&] { return Verify(); });
    if (c == "export") return WithOperands(1, "export STORE_PATH", [&] { return Export(); });
    return Usage("unknown command \"" + c +
                 "\"; expected list, get, scan, windows, offsets, verify or export (see --help)");
  }

 private:
  template <typename F>
  int WithOperands(size_t n, std::string_view usage, F run) {
    if (s_.operands.size() != n) {
      return Usage(std::string(usage) + ": expected " + std::to_string(n) + " argument" +
                   (n == 1 ? "" : "s") + ", got " + std::to_string(s_.operands.size()) +
                   " (see --help)");
    }
    return run();
  }

  int Usage(std::string_view message) {
    err_ << kTool << ": " << message << "\n";
    return cli::kExitUsage;
  }

  //! InvalidArgument (a bad path, key or option) is a usage error; the rest a failure.
  int Fail(const Status& status) {
    err_ << kTool << ": " << status.message() << "\n";
    return status.code() == StatusCode::kInvalidArgument ? cli::kExitUsage : cli::kExitFailure;
  }

  Result<std::unique_ptr<StoreReader>> OpenStore(const std::string& path) {
    return StoreReader::Open(path, s_.reader);
  }

  // The key from KEY or --key-hex, in the store's key bytes.
  Result<std::string> Key(const StoreInfo& info, size_t operand) {
    if (s_.key_hex) {
      std::string bytes;
      const std::string& hex = *s_.key_hex;
      auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (hex.size() % 2 != 0) {
        return Status::InvalidArgument("--key-hex: an odd number of hex digits");
      }
      for (size_t i = 0; i < hex.size(); i += 2) {
        if (digit(hex[i]) < 0 || digit(hex[i + 1]) < 0) {
          return Status::InvalidArgument("--key-hex: \"" + hex + "\" is not hexadecimal");
        }
        bytes.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
      }
      return bytes;
    }
    Result<std::string> key =
        Codec::ForSerde(info.key_serde, info.window_size_ms).Encode(s_.operands[operand]);
    if (!key.ok()) {
      return Status::InvalidArgument("store '" + info.location.store +
                                     "': " + key.status().message());
    }
    return key;
  }

  // --from/--to of `windows`: epoch ms or RFC 3339.
  Result<int64_t> TimeBound(const std::optional<std::string>& text, std::string_view flag,
                            int64_t fallback) {
    if (!text) return fallback;
    int64_t ms = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), ms);
    if (ec == std::errc() && ptr == text->data() + text->size() && !text->empty()) return ms;
    Result<int64_t> parsed = ParseTimestampMillis(*text);
    if (!parsed.ok()) {
      return Status::InvalidArgument(std::string(flag) + ": \"" + *text +
                                     "\" is neither epoch milliseconds nor an RFC 3339 time (" +
                                     parsed.status().message() + ")");
    }
    return parsed;
  }

  int List() {
    auto stores = inspector::FindStores(s_.operands[0]);
    if (!stores.ok()) return Fail(stores.status());
    TextTable table({"APPLICATION", "TASK", "STORE", "KIND", "SIZE", "KEYS", "OFFSET",
                     "LAST COMMIT", "SERDES"});
    int exit = cli::kExitOk;
    for (const auto& location : *stores) {
      auto reader = OpenStore(location.path.string());
      if (!reader.ok()) {
        exit = cli::kExitFailure;
        err_ << kTool << ": " << reader.status().message() << "\n";
        if (s_.format == OutputFormat::kJsonLines) {
          JsonLine()
              .String("application", location.application_id)
              .String("task", location.task_id)
              .String("store", location.store)
              .String("path", location.path.string())
              .String("error", reader.status().message())
              .Print(out_);
        } else {
          table.AddRow({location.application_id, location.task_id, location.store, "error", "-",
                        "-", "-", "-", reader.status().message()});
        }
        continue;
      }
      const StoreInfo& info = (*reader)->info();
      if (s_.format == OutputFormat::kJsonLines) {
        JsonLine line;
        line.String("application", location.application_id)
            .String("task", location.task_id)
            .String("store", location.store)
            .String("path", location.path.string())
            .String("kind", inspector::KindName(info.kind))
            .String("format", info.format)
            .Bool("retain_duplicates", info.retain_duplicates)
            .Int("size_bytes", static_cast<int64_t>(info.size_bytes))
            .Int("estimated_keys", static_cast<int64_t>(info.estimated_keys))
            .OptionalInt("changelog_offset", info.changelog_offset)
            .String("offset_status", OffsetStatusName(info));
        if (info.changelog_topic.empty()) {
          line.Null("changelog_topic").Null("changelog_partition");
        } else {
          line.String("changelog_topic", info.changelog_topic)
              .Int("changelog_partition", info.changelog_partition);
        }
        line.OptionalInt("committed_at_ms", info.committed_at_ms);
        if (info.committed_at_ms) {
          line.String("committed_at", Time(*info.committed_at_ms));
        } else {
          line.Null("committed_at");
        }
        line.String("key_serde", info.key_serde.empty() ? "bytes" : info.key_serde)
            .String("value_serde", info.value_serde.empty() ? "bytes" : info.value_serde)
            .Bool("serdes_recorded", !info.key_serde.empty() || !info.value_serde.empty());
        if (info.kind == StoreKind::kWindow || info.kind == StoreKind::kSession) {
          line.OptionalInt("window_size_ms", info.window_size_ms > 0
                                                 ? std::optional<int64_t>(info.window_size_ms)
                                                 : std::nullopt)
              .Int("segment_interval_ms", info.segment_interval_ms)
              .Int("expiry_horizon_ms", info.expiry_horizon_ms)
              .Int("segments", static_cast<int64_t>(info.segments.size()));
        }
        line.Print(out_);
      } else {
        std::string kind(inspector::KindName(info.kind));
        if (info.kind == StoreKind::kWindow && info.window_size_ms > 0) {
          kind += " " + std::to_string(info.window_size_ms) + "ms";
        }
        if (info.retain_duplicates) kind += " dup";
        table.AddRow({location.application_id, location.task_id, location.store, kind,
                      HumanSize(info.size_bytes), "~" + std::to_string(info.estimated_keys),
                      OffsetText(info), info.committed_at_ms ? Time(*info.committed_at_ms) : "-",
                      (info.key_serde.empty() ? "bytes" : info.key_serde) + "/" +
                          (info.value_serde.empty() ? "bytes" : info.value_serde)});
      }
    }
    if (s_.format == OutputFormat::kTable) table.Print(out_);
    return exit;
  }

  int Offsets() {
    auto stores = inspector::FindStores(s_.operands[0]);
    if (!stores.ok()) return Fail(stores.status());
    TextTable table({"APPLICATION", "TASK", "STORE", "CHANGELOG", "PARTITION", "OFFSET"});
    int exit = cli::kExitOk;
    for (const auto& location : *stores) {
      auto reader = OpenStore(location.path.string());
      if (!reader.ok()) {
        exit = cli::kExitFailure;
        err_ << kTool << ": " << reader.status().message() << "\n";
        continue;
      }
      const StoreInfo& info = (*reader)->info();
      if (s_.format == OutputFormat::kJsonLines) {
        JsonLine line;
        line.String("application", location.application_id)
            .String("task", location.task_id)
            .String("store", location.store)
            .String("path", location.path.string());
        if (info.changelog_topic.empty()) {
          line.Null("changelog_topic").Null("changelog_partition");
        } else {
          line.String("changelog_topic", info.changelog_topic)
              .Int("changelog_partition", info.changelog_partition);
        }
        line.OptionalInt("changelog_offset", info.changelog_offset)
            .String("offset_status", OffsetStatusName(info))
            .Print(out_);
      } else {
        table.AddRow(
            {location.application_id, location.task_id, location.store,
             OrDash(info.changelog_topic),
             info.changelog_partition >= 0 ? std::to_string(info.changelog_partition) : "-",
             OffsetText(info)});
      }
    }
    if (s_.format == OutputFormat::kTable) table.Print(out_);
    return exit;
  }

  int Get() {
    auto reader = OpenStore(s_.operands[0]);
    if (!reader.ok()) return Fail(reader.status());
    const StoreInfo& info = (*reader)->info();
    if (info.kind != StoreKind::kKeyValue) {
      return Fail((*reader)->Get("", nullptr));  // names the store and the right command
    }
    Result<std::string> key = Key(info, 1);
    if (!key.ok()) return Fail(key.status());
    std::string value;
    Status got = (*reader)->Get(*key, &value);
    if (got.IsNotFound()) {
      std::string shown;
      Codecs(info).key.AppendText(*key, &shown);
      err_ << kTool << ": store '" << info.location.store << "': key " << shown << " not found\n";
      return cli::kExitFailure;
    }
    if (!got.ok()) return Fail(got);
    EntryPrinter printer(info, s_.format, out_);
    StoreEntry entry;
    entry.key = *key;
    entry.value = value;
    printer(entry);
    printer.Finish();
    return cli::kExitOk;
  }

  int Scan() {
    auto reader = OpenStore(s_.operands[0]);
    if (!reader.ok()) return Fail(reader.status());
    const StoreInfo& info = (*reader)->info();
    const Codec key = Codecs(info).key;
    inspector::ScanRange range;
    range.limit = s_.limit;
    for (auto [bound, text] : {std::pair{&range.from, &s_.from}, std::pair{&range.to, &s_.to}}) {
      if (!*text) continue;
      Result<std::string> bytes = key.Encode(**text);
      if (!bytes.ok()) {
        return Fail(Status::InvalidArgument("store '" + info.location.store +
                                            "': " + bytes.status().message()));
      }
      *bound = std::move(*bytes);
    }
    EntryPrinter printer(info, s_.format, out_);
    Status s = (*reader)->Scan(range, std::ref(printer));
    printer.Finish();
    return s.ok() ? cli::kExitOk : Fail(s);
  }

  int Windows() {
    auto reader = OpenStore(s_.operands[0]);
    if (!reader.ok()) return Fail(reader.status());
    const StoreInfo& info = (*reader)->info();
    if (info.kind == StoreKind::kKeyValue) return Fail((*reader)->Windows("", 0, 0, {}));
    Result<std::string> key = Key(info, 1);
    if (!key.ok()) return Fail(key.status());
    Result<int64_t> from = TimeBound(s_.from, "--from", 0);
    if (!from.ok()) return Fail(from.status());
    Result<int64_t> to = TimeBound(s_.to, "--to", kMaxTime);
    if (!to.ok()) return Fail(to.status());
    EntryPrinter printer(info, s_.format, out_);
    Status s = (*reader)->Windows(*key, *from, *to, std::ref(printer));
    printer.Finish();
    return s.ok() ? cli::kExitOk : Fail(s);
  }

  int Export() {
    if (s_.output_given && s_.format != OutputFormat::kJsonLines) {
      return Usage("export writes JSON lines; --output table is for the other commands");
    }
    auto reader = OpenStore(s_.operands[0]);
    if (!reader.ok()) return Fail(reader.status());
    EntryPrinter printer((*reader)->info(), OutputFormat::kJsonLines, out_);
    Status s = (*reader)->Scan({}, std::ref(printer));
    return s.ok() ? cli::kExitOk : Fail(s);
  }

  int Verify() {
    auto stores = inspector::FindStores(s_.operands[0]);
    if (!stores.ok()) return Fail(stores.status());
    TextTable table({"APPLICATION", "TASK", "STORE", "RESULT", "ENTRIES"});
    std::vector<std::string> details;
    int exit = cli::kExitOk;
    for (const auto& location : *stores) {
      inspector::VerifyResult result;
      auto reader = OpenStore(location.path.string());
      if (reader.ok()) {
        result = (*reader)->Verify();
      } else {
        result.errors.push_back(reader.status().message());
      }
      if (!result.ok()) exit = cli::kExitFailure;
      if (s_.format == OutputFormat::kJsonLines) {
        JsonLine()
            .String("application", location.application_id)
            .String("task", location.task_id)
            .String("store", location.store)
            .String("path", location.path.string())
            .Bool("ok", result.ok())
            .Int("entries_checked", static_cast<int64_t>(result.entries_checked))
            .Strings("errors", result.errors)
            .Strings("warnings", result.warnings)
            .Print(out_);
        continue;
      }
      std::string verdict = result.ok() ? "ok" : "FAILED";
      if (!result.warnings.empty()) {
        verdict += " (" + std::to_string(result.warnings.size()) + " warning" +
                   (result.warnings.size() == 1 ? "" : "s") + ")";
      }
      table.AddRow({location.application_id, location.task_id, location.store, verdict,
                    std::to_string(result.entries_checked)});
      const std::string name =
          location.application_id + "/" + location.task_id + "/" + location.store;
      for (const auto& e : result.errors) details.push_back(name + ": error: " + e);
      for (const auto& w : result.warnings) details.push_back(name + ": warning: " + w);
    }
    if (s_.format == OutputFormat::kTable) {
      table.Print(out_);
      for (const auto& line : details) out_ << line << "\n";
    }
    return exit;
  }

  Settings s_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

int RunStateTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  int exit = cli::kExitOk;
  std::optional<Settings> settings = Parse(args, out, err, &exit);
  if (!settings) return exit;
  return Command(std::move(*settings), out, err).Run();
}

}  // namespace eventflow::tools
