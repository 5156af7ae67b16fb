// Owns spdlog set-up: level, text or JSON lines (UTC), and reopening the log file on SIGHUP.
// Used by app/ at start-up and on SIGHUP; everyone else just calls spdlog::info(...).
#include "rushcast/obs/log.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>

#include <spdlog/details/file_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "rushcast/config/load.hpp"

namespace rushcast::obs {
namespace {

// A file sink that can reopen its file by name: after logrotate renames it, SIGHUP makes the
// daemon write to a fresh file with the configured name.
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit reopenable_file_sink(const std::string& path) { file_.open(path, false); }
  void reopen() {
    std::lock_guard<std::mutex> lock(mutex_);
    file_.reopen(false);
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

private:
  spdlog::details::file_helper file_;
};

// %j: the message as the inside of a JSON string, so a JSON line stays one valid object
// whatever the message contains (quotes, newlines, control bytes).
class json_escaped_message final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            dest.append(u, u + 6);
          } else {
            dest.push_back(ch);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

std::mutex state_mu;
std::shared_ptr<reopenable_file_sink> file_sink;  // null when logging to stderr

}  // namespace

void setup_logging(const config::log_cfg& cfg) {
  auto level = spdlog::level::from_str(cfg.level);
  // from_str answers "off" for any unknown name: only "off" itself may mean off.
  if (level == spdlog::level::off && cfg.level != "off")
    throw config::config_error("log.level: unknown level \"" + cfg.level + "\"");
  if (cfg.format != "text" && cfg.format != "json")
    throw config::config_error("log.format: must be text or json");

  spdlog::sink_ptr sink;
  std::shared_ptr<reopenable_file_sink> new_file_sink;
  if (cfg.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      new_file_sink = std::make_shared<reopenable_file_sink>(cfg.file);
    } catch (const spdlog::spdlog_ex& e) {
      throw config::config_error("log.file: cannot open " + cfg.file + ": " + e.what());
    }
    sink = new_file_sink;
  }

  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (cfg.format == "json") {
    formatter->add_flag<json_escaped_message>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"})");
  } else {
    formatter->set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [%l] %v");
  }
  sink->set_formatter(std::move(formatter));

  auto logger = std::make_shared<spdlog::logger>("rushcast", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  // Lines below warn reach a file within a second, without a flush per line.
  spdlog::flush_every(std::chrono::seconds(1));
  std::lock_guard<std::mutex> lock(state_mu);
  file_sink = std::move(new_file_sink);
}

void reopen_logs() {
  std::shared_ptr<reopenable_file_sink> sink;
  {
    std::lock_guard<std::mutex> lock(state_mu);
    sink = file_sink;
  }
  if (!sink) return;
  try {
    sink->reopen();
  } catch (const spdlog::spdlog_ex& e) {
    // Keep running on the old descriptor state; say so on stderr, where someone may look.
    std::fprintf(stderr, "rushcast: cannot reopen log file: %s\n", e.what());
  }
}

}  // namespace rushcast::obs
