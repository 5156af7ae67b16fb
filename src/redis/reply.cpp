// The RESP codec: hiredis formats commands and parses replies; this file only converts
// hiredis' redisReply tree into an owning redis::reply.
#include "rushcast/redis/reply.hpp"

#include <charconv>
#include <stdexcept>

#include <hiredis/hiredis.h>

#include "rushcast/redis/error.hpp"

namespace rushcast::redis {
namespace {

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      out.type = reply::kind::nil;
      break;
  }
  return out;
}

}  // namespace

std::string reply::text() const {
  if (type == kind::integer) return std::to_string(integer);
  return str;
}

std::optional<std::int64_t> reply::as_int() const {
  if (type == kind::integer) return integer;
  if (type != kind::string || str.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return v;
}

const reply& reply::at(std::size_t i) const {
  static const reply nil;
  if (type != kind::array || i >= elements.size()) return nil;
  return elements[i];
}

std::string format_command(std::span<const std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  if (n < 0 || !cmd) throw std::bad_alloc();
  std::string out(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

struct reply_reader::impl {
  redisReader* r = redisReaderCreate();
  ~impl() {
    if (r) redisReaderFree(r);
  }
};

reply_reader::reply_reader() : impl_(std::make_unique<impl>()) {
  if (!impl_->r) throw std::bad_alloc();
}

reply_reader::~reply_reader() = default;

void reply_reader::feed(const char* data, std::size_t size) {
  // Only fails on out-of-memory or after an earlier protocol error; next() reports both.
  redisReaderFeed(impl_->r, data, size);
}

std::optional<reply> reply_reader::next(boost::system::error_code& ec) {
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->r, &raw) != REDIS_OK) {
    ec = make_error_code(error::protocol_error);
    return std::nullopt;
  }
  ec = {};
  if (!raw) return std::nullopt;
  auto* r = static_cast<redisReply*>(raw);
  reply out = convert(r);
  freeReplyObject(r);
  return out;
}

std::string reply_reader::error_text() const { return impl_->r->errstr; }

}  // namespace rushcast::redis
