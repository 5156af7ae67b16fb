// Owns the namespace rules: who may subscribe to or publish on a topic.
// Used by sessions (subscribe), ws_protocol (client publish) and the publish API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rushcast/api/errc.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::api {

// Topic syntax: 1..128 bytes of [A-Za-z0-9:_.@-]. "user:U" only for U (when auth is on; when
// off, anyone who names U). "sale:", "auction:", "chat:" and free topics are public to read.
errc check_subscribe(std::string_view topic, std::string_view user_id, bool auth_on);
// Clients may publish only on "chat:" topics.
errc check_client_publish(std::string_view topic);
// The publish key (POST /api/publish) writes free topics, "chat:" and "user:U"; the engines'
// namespaces "sale:", "auction:" and "sys:" -> errc::forbidden_topic; bad syntax -> bad_request.
errc check_backend_publish(std::string_view topic);
using core::valid_topic;  // the syntax rule lives in core/ids.hpp
// Event names a publisher may choose: 1..64 bytes of [A-Za-z0-9_.-].
bool valid_event_name(std::string_view name);
// "a,b" -> {"a","b"}; empty entries dropped.
std::vector<std::string> split_topics(std::string_view csv);

}  // namespace rushcast::api
