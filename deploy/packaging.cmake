# Owns the install layout beyond the binary and the Debian package (`cpack -G DEB` in the build
# dir, `make package`). Included at the end of the top-level CMakeLists.txt.
#
# Layout: /usr/bin/rushcast, /etc/rushcast/rushcast.json (conffile), /lib/systemd/system/
# rushcast.service, /usr/share/rushcast/web/, /usr/share/doc/rushcast/ (OPERATIONS.md and the
# nginx example site with its TLS snippet). The maintainer scripts in deploy/debian/ create the
# rushcast user.

set(RUSHCAST_DEPLOY_DIR ${CMAKE_SOURCE_DIR}/deploy)
set(RUSHCAST_WEB_INSTALL_DIR /usr/share/rushcast/web)

# The packaged config is the demo config with the paths of the installed layout and safe
# defaults: listen on loopback (nginx in front), publish API off until a key is set. Edited as
# text to keep the file's layout for the operator; generated at configure time, and editing
# config/rushcast.json re-runs the configure step.
set(RUSHCAST_DEMO_CONFIG ${CMAKE_SOURCE_DIR}/config/rushcast.json)
set(RUSHCAST_PACKAGED_CONFIG ${CMAKE_BINARY_DIR}/deploy/rushcast.json)

# Sets the string member `key` (path: JSON member names) to `value` in the JSON text `var`.
function(rushcast_set_json_string var value)
  set(path ${ARGN})
  list(GET path -1 key)
  set(text "${${var}}")
  set(pattern "\"${key}\"[ \t\r\n]*:[ \t\r\n]*\"[^\"]*\"")
  string(REGEX MATCHALL "${pattern}" found "${text}")
  list(LENGTH found n)
  if(n EQUAL 1)
    string(REGEX REPLACE "${pattern}" "\"${key}\": \"${value}\"" text "${text}")
  else()
    string(JSON text SET "${text}" ${path} "\"${value}\"")
  endif()
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

if(EXISTS ${RUSHCAST_DEMO_CONFIG})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RUSHCAST_DEMO_CONFIG})
  file(READ ${RUSHCAST_DEMO_CONFIG} rushcast_cfg)
  rushcast_set_json_string(rushcast_cfg "${RUSHCAST_WEB_INSTALL_DIR}" static_dir)
  # systemd passes --data-dir /var/lib/rushcast; this keeps a manual start in the same place.
  rushcast_set_json_string(rushcast_cfg "/var/lib/rushcast" data_dir)
  rushcast_set_json_string(rushcast_cfg "127.0.0.1" listen address)
  rushcast_set_json_string(rushcast_cfg "" auth publish_key)
  string(JSON rushcast_cfg_check ERROR_VARIABLE rushcast_cfg_error GET "${rushcast_cfg}" listen)
  if(rushcast_cfg_error)
    message(FATAL_ERROR "packaged config is not valid JSON: ${rushcast_cfg_error}")
  endif()
  file(WRITE ${RUSHCAST_PACKAGED_CONFIG} "${rushcast_cfg}")
  install(FILES ${RUSHCAST_PACKAGED_CONFIG} DESTINATION /etc/rushcast
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
else()
  message(WARNING "config/rushcast.json is missing: the package will have no /etc/rushcast")
endif()

install(FILES ${RUSHCAST_DEPLOY_DIR}/rushcast.service DESTINATION /lib/systemd/system)
# Cluster nodes (OPERATIONS.md, "Running a cluster"): a template and its target, enabled by hand.
install(FILES ${RUSHCAST_DEPLOY_DIR}/systemd/rushcast@.service
  ${RUSHCAST_DEPLOY_DIR}/systemd/rushcast-cluster.target DESTINATION /lib/systemd/system)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION ${RUSHCAST_WEB_INSTALL_DIR}
  OPTIONAL)
# The nginx site and its TLS snippet, as examples only: nothing under /etc/nginx is written, so
# installing the package never changes what nginx serves (OPERATIONS.md, section 3, enables it).
install(FILES ${RUSHCAST_DEPLOY_DIR}/nginx/rushcast.conf
  ${RUSHCAST_DEPLOY_DIR}/nginx/rushcast-tls.conf
  ${RUSHCAST_DEPLOY_DIR}/nginx/rushcast-cluster.conf
  DESTINATION share/doc/rushcast/examples/nginx)
# The Redis settings cluster mode requires, as an example to include from redis.conf.
install(FILES ${RUSHCAST_DEPLOY_DIR}/redis/rushcast-redis.conf
  DESTINATION share/doc/rushcast/examples/redis)
if(EXISTS ${CMAKE_SOURCE_DIR}/docs/OPERATIONS.md)
  install(FILES ${CMAKE_SOURCE_DIR}/docs/OPERATIONS.md DESTINATION share/doc/rushcast)
endif()

# ---- CPack ----------------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME rushcast)
set(CPACK_PACKAGE_VENDOR "rushcast")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "rushcast maintainers <ops@rushcast.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "real-time push server (SSE, WebSocket, long-poll) for flash sales and live auctions")
set(CPACK_PACKAGE_DESCRIPTION "One daemon serves Server-Sent Events, WebSocket and long-poll \
on one port, runs seckill sales (FIFO admission, never oversold, durable in SQLite) and English \
auctions, and pushes stock, countdown, queue and price updates to every subscriber.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/rushcast/rushcast")

# The binary links spdlog, fmt, SQLite, hiredis and libcrypto dynamically (Asio/Beast are compiled in).
# dpkg-shlibdeps names the exact runtime packages; without it, the Debian 12 names.
find_program(RUSHCAST_DPKG_SHLIBDEPS dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
if(RUSHCAST_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS
    ", libc6, libstdc++6, libgcc-s1, libspdlog1.10, libfmt9, libsqlite3-0, libhiredis0.14, libssl3")
endif()
# ssl-cert makes the snakeoil pair the example site's TLS snippet names until a real certificate.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx | nginx-light, ssl-cert")
# redis-server only for cluster mode (storage.backend "redis"), usually on another host.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "sqlite3, redis-server")

# Maintainer scripts and the conffile list, copied with the modes dpkg requires.
set(rushcast_control_dir ${CMAKE_BINARY_DIR}/deploy/debian)
file(COPY ${RUSHCAST_DEPLOY_DIR}/debian/postinst ${RUSHCAST_DEPLOY_DIR}/debian/prerm
  ${RUSHCAST_DEPLOY_DIR}/debian/postrm DESTINATION ${rushcast_control_dir}
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)
set(rushcast_control_extra ${rushcast_control_dir}/postinst ${rushcast_control_dir}/prerm
  ${rushcast_control_dir}/postrm)
if(EXISTS ${RUSHCAST_DEMO_CONFIG})
  # An edited /etc/rushcast/rushcast.json survives upgrades (dpkg asks before replacing it).
  file(WRITE ${rushcast_control_dir}/conffiles "/etc/rushcast/rushcast.json\n")
  list(APPEND rushcast_control_extra ${rushcast_control_dir}/conffiles)
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${rushcast_control_extra}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
