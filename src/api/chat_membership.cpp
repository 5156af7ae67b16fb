// Chat membership (see chat_membership.hpp): only a known user counts in a room.
#include "rushcast/api/chat_membership.hpp"

#include "rushcast/api/context.hpp"
#include "rushcast/hub/presence.hpp"

namespace rushcast::api {
namespace {

bool is_chat(const std::string& t) { return t.rfind("chat:", 0) == 0; }

}  // namespace

void chat_joined(context& ctx, const ws_client& c, const std::vector<std::string>& topics) {
  if (c.user_id().empty()) return;
  const std::string& name = c.display_name().empty() ? c.user_id() : c.display_name();
  for (const auto& t : topics)
    if (is_chat(t)) ctx.presence.join(t, c.user_id(), name);
}

void chat_left(context& ctx, const ws_client& c, const std::vector<std::string>& topics) {
  if (c.user_id().empty()) return;
  for (const auto& t : topics)
    if (is_chat(t)) ctx.presence.leave(t, c.user_id());
}

}  // namespace rushcast::api
