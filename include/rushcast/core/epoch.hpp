// Owns the making of an event-id epoch: the "<epoch>" of "<epoch>-<seq>". Used by app (a
// single node's run) and cluster (a candidate for the cluster's epoch kept in Redis).
#pragma once

#include <string>

namespace rushcast::core {

// Ten hex digits from the random device and the clock, so that ids of one run (or one life of
// a cluster's Redis) do not look like another's and clients resync across them.
std::string make_epoch();

}  // namespace rushcast::core
