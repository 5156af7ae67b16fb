// Owns the product fields of sales and auctions: what the pages show about the thing sold.
// Used by config/load (take_products, before the sale and auction readers) and config/cli
// (check_product_images, after the command-line overrides).
#include "rushcast/config/read_product.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string_view>

#include "rushcast/config/load.hpp"

namespace rushcast::config::detail {
namespace {

using nlohmann::json;

constexpr std::size_t max_description_bytes = 2000;
constexpr std::size_t max_image_bytes = 2048;
constexpr std::int64_t max_price = 1'000'000'000'000'000;  // as auctions' amounts

// Active ISO 4217 codes (funds and precious metals included; XTS and XXX, "testing" and "no
// currency", left out). Sorted for binary search.
constexpr std::string_view iso_4217[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR",
    "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL"};

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw config_error(key + ": " + what);
}

bool is_currency(const std::string& code) {
  return std::binary_search(std::begin(iso_4217), std::end(iso_4217), std::string_view(code));
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return c <= 0x20 || c == 0x7f || c == '\\'; });
}

// A path the static file handler would serve: segments of [A-Za-z0-9._-], none starting with
// a dot (no "..", no dotfiles), relative to static_dir.
bool is_static_path(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view seg = p.substr(start, end - start);
    if (seg.empty() || seg.front() == '.') return false;
    for (char c : seg)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-'))
        return false;
    start = end + 1;
  }
  return true;
}

bool is_http_url(std::string_view u) {
  std::string_view rest;
  if (u.starts_with("https://")) rest = u.substr(8);
  else if (u.starts_with("http://")) rest = u.substr(7);
  else return false;
  return !rest.empty() && rest.front() != '/' && !has_control_or_space(u);
}

product_cfg read_one(json& item, const std::string& path) {
  product_cfg out;
  const auto key = [&](const char* k) { return path + "." + k; };
  if (auto it = item.find("description"); it != item.end()) {
    if (!it->is_string()) fail(key("description"), "must be a string");
    out.description = it->get<std::string>();
    if (out.description.size() > max_description_bytes)
      fail(key("description"), "must be at most 2000 bytes");
    item.erase(it);
  }
  if (auto it = item.find("image"); it != item.end()) {
    if (!it->is_string()) fail(key("image"), "must be a string");
    out.image = it->get<std::string>();
    if (out.image.size() > max_image_bytes) fail(key("image"), "must be at most 2048 bytes");
    if (!is_http_url(out.image) && !is_static_path(out.image))
      fail(key("image"),
           "must be an http:// or https:// URL, or the path of a file under static_dir such as "
           "\"img/product.svg\" (relative, segments of [A-Za-z0-9._-], none starting with a dot)");
    item.erase(it);
  }
  if (auto it = item.find("price"); it != item.end()) {
    const char* rule =
        "must be an integer amount in the currency's smallest unit (4999 for 49.99 EUR), "
        "0..1000000000000000";
    if (!it->is_number_integer()) fail(key("price"), rule);
    if (it->is_number_unsigned() ? it->get<std::uint64_t>() > std::uint64_t(max_price)
                                 : it->get<std::int64_t>() < 0)
      fail(key("price"), rule);
    out.price = it->get<std::int64_t>();
    item.erase(it);
  }
  if (auto it = item.find("currency"); it != item.end()) {
    if (!it->is_string()) fail(key("currency"), "must be an ISO 4217 code such as \"EUR\"");
    out.currency = it->get<std::string>();
    if (!is_currency(out.currency))
      fail(key("currency"), "must be an ISO 4217 code such as \"EUR\" (got \"" + out.currency +
                                "\")");
    item.erase(it);
  }
  if (out.price && out.currency.empty()) fail(key("currency"), "is required with price");
  return out;
}

void take_list(json& j, const char* list, const char* topic_prefix,
               std::map<std::string, product_cfg>& products) {
  auto it = j.find(list);
  if (it == j.end() || !it->is_array()) return;  // the list's own reader reports it
  for (std::size_t i = 0; i < it->size(); ++i) {
    json& item = (*it)[i];
    if (!item.is_object()) continue;
    product_cfg p = read_one(item, std::string(list) + "[" + std::to_string(i) + "]");
    auto id = item.find("id");
    if (id == item.end() || !id->is_string()) continue;  // reported by the list's reader
    if (p.description.empty() && p.image.empty() && !p.price && p.currency.empty()) continue;
    products[topic_prefix + id->get<std::string>()] = std::move(p);
  }
}

}  // namespace

void take_products(json& j, std::map<std::string, product_cfg>& products) {
  static_assert(std::is_sorted(std::begin(iso_4217), std::end(iso_4217)));
  if (!j.is_object()) return;
  take_list(j, "sales", "sale:", products);
  take_list(j, "auctions", "auction:", products);
}

void check_product_images(const config& c) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (c.static_dir.empty() || !fs::is_directory(c.static_dir, ec)) return;
  const auto check = [&](const std::string& topic, const std::string& key) {
    auto it = c.products.find(topic);
    if (it == c.products.end() || it->second.image.empty() || is_http_url(it->second.image))
      return;
    if (!fs::is_regular_file(fs::path(c.static_dir) / it->second.image, ec))
      fail(key,
           "no file \"" + it->second.image + "\" in static_dir \"" + c.static_dir + "\"");
  };
  for (std::size_t i = 0; i < c.sales.size(); ++i)
    check("sale:" + c.sales[i].id, "sales[" + std::to_string(i) + "].image");
  for (std::size_t i = 0; i < c.auctions.size(); ++i)
    check("auction:" + c.auctions[i].id, "auctions[" + std::to_string(i) + "].image");
}

}  // namespace rushcast::config::detail
