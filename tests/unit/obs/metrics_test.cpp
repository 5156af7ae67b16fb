#include "rushcast/obs/metrics.hpp"

#include <gtest/gtest.h>

using rushcast::obs::metrics;

TEST(Metrics, RenderShowsConnectionsByTransport) {
  metrics m;
  m.sse_connections = 3;
  m.ws_connections = 2;
  auto text = m.render();
  EXPECT_NE(text.find("rushcast_connections{transport=\"sse\"} 3"), std::string::npos);
  EXPECT_NE(text.find("rushcast_connections{transport=\"websocket\"} 2"), std::string::npos);
}

TEST(Metrics, HistogramIsCumulative) {
  metrics m;
  m.publish_to_write.observe_us(10);
  m.publish_to_write.observe_us(700);
  m.publish_to_write.observe_us(99999999);
  auto text = m.render();
  EXPECT_NE(text.find("rushcast_publish_to_write_seconds_bucket{le=\"5e-05\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("rushcast_publish_to_write_seconds_bucket{le=\"0.001\"} 2"),
            std::string::npos) << text;
  EXPECT_NE(text.find("rushcast_publish_to_write_seconds_bucket{le=\"+Inf\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("rushcast_publish_to_write_seconds_count 3"), std::string::npos);
}

TEST(Metrics, AdmissionsByOutcome) {
  metrics m;
  m.count_admission("queued");
  m.count_admission("queued");
  m.count_admission("sold_out");
  auto text = m.render();
  EXPECT_NE(text.find("rushcast_admissions_total{outcome=\"queued\"} 2"), std::string::npos);
  EXPECT_NE(text.find("rushcast_admissions_total{outcome=\"sold_out\"} 1"), std::string::npos);
}
