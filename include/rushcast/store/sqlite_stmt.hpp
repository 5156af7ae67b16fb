// Owns the small statement helpers every SQLite-backed store shares (prepare, step, text).
// Used by the sqlite_*_store implementations only; nothing outside store/ includes SQLite.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>

#include <boost/system/error_code.hpp>

#include "rushcast/store/sqlite_db.hpp"

namespace rushcast::store {

// A statement finalized when the guard goes out of scope (start-up reads).
struct stmt_guard {
  sqlite3_stmt* s = nullptr;
  stmt_guard() = default;
  stmt_guard(const stmt_guard&) = delete;
  stmt_guard& operator=(const stmt_guard&) = delete;
  ~stmt_guard() { sqlite3_finalize(s); }
};

// Start-up only: a bad statement is a programming or file error, reported as an exception
// naming the store (who).
inline void prepare_or_throw(sqlite3* db, const char* sql, stmt_guard& g, const char* who) {
  if (sqlite3_prepare_v2(db, sql, -1, &g.s, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string(who) + ": " + sqlite3_errmsg(db));
}

inline std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string{};
}

// Writer thread: prepares a cached statement on first use.
inline boost::system::error_code ensure_prepared(sqlite3* c, sqlite3_stmt*& s, const char* sql) {
  if (s) return {};
  return sqlite_error(sqlite3_prepare_v2(c, sql, -1, &s, nullptr));
}

// Writer thread: runs a cached write statement once and leaves it ready for the next use.
inline boost::system::error_code step_once(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_DONE ? boost::system::error_code{} : sqlite_error(rc);
}

}  // namespace rushcast::store
