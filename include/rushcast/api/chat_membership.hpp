// Owns the chat membership policy: a WebSocket client with a user id is a member of each
// "chat:" room it subscribes to, under its chat name, until it unsubscribes or goes. Used by
// net::ws_session as its subscriptions change; hub::presence keeps the count and publishes.
#pragma once

#include <string>
#include <vector>

#include "rushcast/api/ws_protocol.hpp"

namespace rushcast::api {

struct context;

// c now holds topics (just subscribed): joins the chat rooms among them.
void chat_joined(context& ctx, const ws_client& c, const std::vector<std::string>& topics);
// c no longer holds topics (unsubscribed, or the connection ended): leaves those rooms.
void chat_left(context& ctx, const ws_client& c, const std::vector<std::string>& topics);

}  // namespace rushcast::api
