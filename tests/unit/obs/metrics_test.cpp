#include "rushcast/obs/metrics.hpp"

#include <gtest/gtest.h>

using rushcast::obs::metrics;
using rushcast::obs::hub_figures;

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
  m.count_admission(rushcast::obs::admission_outcome::queued);
  m.count_admission(rushcast::obs::admission_outcome::queued);
  m.count_admission(rushcast::obs::admission_outcome::sold_out);
  auto text = m.render();
  EXPECT_NE(text.find("rushcast_admissions_total{outcome=\"queued\"} 2"), std::string::npos);
  EXPECT_NE(text.find("rushcast_admissions_total{outcome=\"sold_out\"} 1"), std::string::npos);
}

TEST(Metrics, GaugeCellIsRenderedWithItsLabelsAndKeepsItsAddress) {
  metrics m;
  auto& cell = m.gauge("rushcast_sale_stock", "sale=\"s\"");
  cell.store(41, std::memory_order_relaxed);
  EXPECT_EQ(&cell, &m.gauge("rushcast_sale_stock", "sale=\"s\""));
  m.gauge("rushcast_sale_stock", "sale=\"t\"").store(7);
  cell.store(42, std::memory_order_relaxed);
  auto text = m.render();
  EXPECT_NE(text.find("rushcast_sale_stock{sale=\"s\"} 42"), std::string::npos) << text;
  EXPECT_NE(text.find("rushcast_sale_stock{sale=\"t\"} 7"), std::string::npos) << text;
  // One TYPE line for the gauge family, not one per cell.
  const auto first = text.find("# TYPE rushcast_sale_stock gauge");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# TYPE rushcast_sale_stock gauge", first + 1), std::string::npos);
}

TEST(Metrics, HubFiguresBecomeGaugesLabelledByShard) {
  metrics m;
  hub_figures f;
  f.backlog = {3, 0};
  f.backlog_peak = {7, 2};
  f.backlog_limit = 256;
  f.publishes_waiting = 1;
  f.topics_subscribed = 4;
  f.history_topics = 5;
  f.history_events = 6;
  f.topics_removed = 9;
  m.set_hub_figures(f);
  auto text = m.render();
  for (const char* line : {"rushcast_publish_backlog{shard=\"0\"} 3",
                           "rushcast_publish_backlog{shard=\"1\"} 0",
                           "rushcast_publish_backlog_peak{shard=\"0\"} 7",
                           "rushcast_publish_backlog_peak{shard=\"1\"} 2",
                           "rushcast_publish_backlog_limit{} 256",
                           "rushcast_publishes_waiting{} 1", "rushcast_topics_subscribed{} 4",
                           "rushcast_history_topics{} 5", "rushcast_history_events{} 6",
                           "rushcast_topics_removed{} 9"})
    EXPECT_NE(text.find(std::string("\n") + line + "\n"), std::string::npos) << line << "\n" << text;
}
