// The synchronous teardown Beast's blocking close would use; the daemon only closes
// asynchronously, but the customization point must be complete.
#include "rushcast/net/ws_gate.hpp"

namespace rushcast::net {

void teardown(boost::beast::role_type, ws_gate& g, boost::system::error_code& ec) {
  auto& s = g.next_layer();
  s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  char buf[256];
  while (!ec) s.read_some(boost::asio::buffer(buf), ec);
  if (ec == boost::asio::error::eof) ec = {};
  boost::system::error_code ignored;
  s.close(ignored);
}

}  // namespace rushcast::net
