// How a connection reports an I/O failure (see fail.hpp).
#include "rushcast/net/fail.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

namespace rushcast::net {

bool is_quiet(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == boost::beast::http::error::end_of_stream ||
         ec == boost::beast::websocket::error::closed;
}

void log_failure(std::string_view kind, std::string_view ip, const boost::system::error_code& ec,
                 const char* what) {
  if (is_quiet(ec)) return;
  spdlog::debug("{} {}: {}: {}", kind, ip, what, ec.message());
}

}  // namespace rushcast::net
